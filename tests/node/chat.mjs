// Calls the gateway with the official OpenAI npm SDK and prints one JSON line per event.
// Usage: node chat.mjs '<json: {baseURL, headers, request}>'
// Output lines: {"chunk": {...}} per streamed chunk, {"completion": {...}} for a
// non-streamed answer, {"error": {"status", "message", "type"}} when the SDK raises.
import OpenAI from "openai";

const { baseURL, headers, request } = JSON.parse(process.argv[2]);
const client = new OpenAI({ baseURL, apiKey: "sk-openai-unused", defaultHeaders: headers, maxRetries: 0, timeout: 30000 });
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

try {
  if (request.stream) {
    const stream = await client.chat.completions.create(request);
    for await (const chunk of stream) out({ chunk });
  } else {
    out({ completion: await client.chat.completions.create(request) });
  }
} catch (e) {
  out({ error: { status: e.status ?? null, message: String(e.message), type: e.error?.type ?? e.type ?? null } });
}
