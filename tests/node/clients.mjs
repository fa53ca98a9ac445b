// Calls the gateway with the npm libraries people put in front of OpenAI-compatible
// endpoints, and prints one JSON line with what the library returned.
// Usage: node clients.mjs '<json: {scenario, baseURL, headers, model, ...}>'
//
// Scenarios:
//   vercel-object        Vercel AI SDK generateObject (structured outputs on or off)
//   vercel-stream        Vercel AI SDK streamText
//   langchain-structured @langchain/openai ChatOpenAI.withStructuredOutput (method)
//   langchain-stream     @langchain/openai ChatOpenAI.stream
// Output: {"result": ...} or {"error": {"name", "message", "status"}}.
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { generateObject, streamText } from "ai";
import { ChatOpenAI } from "@langchain/openai";
import { z } from "zod";

const args = JSON.parse(process.argv[2]);
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

// The schema every structured scenario asks for.
const City = z.object({
  name: z.string().describe("The city's name"),
  population: z.number().int().describe("Inhabitants"),
  landmarks: z.array(z.string()).describe("A few landmarks"),
});

function vercel(supportsStructuredOutputs) {
  const provider = createOpenAICompatible({
    name: "bedrock-gateway",
    baseURL: args.baseURL,
    apiKey: "sk-openai-unused",
    headers: args.headers,
    supportsStructuredOutputs,
    includeUsage: true,
  });
  return provider(args.model);
}

function langchain() {
  return new ChatOpenAI({
    model: args.model,
    apiKey: "sk-openai-unused",
    maxRetries: 0,
    configuration: { baseURL: args.baseURL, defaultHeaders: args.headers },
    streamUsage: true,
  });
}

async function run() {
  switch (args.scenario) {
    case "vercel-object": {
      const r = await generateObject({ model: vercel(args.structured), schema: City, prompt: "Describe Paris." });
      return { object: r.object, usage: r.usage, finishReason: r.finishReason };
    }
    case "vercel-stream": {
      const r = streamText({ model: vercel(false), prompt: args.prompt ?? "Hello!" });
      let text = "";
      for await (const part of r.textStream) text += part;
      return { text, usage: await r.usage, finishReason: await r.finishReason };
    }
    case "langchain-structured": {
      const m = langchain().withStructuredOutput(City, { method: args.method, name: "City" });
      return { object: await m.invoke("Describe Paris.") };
    }
    case "langchain-stream": {
      let text = "";
      let usage = null;
      for await (const chunk of await langchain().stream("Hello!")) {
        text += chunk.content;
        usage = chunk.usage_metadata ?? usage;
      }
      return { text, usage };
    }
    default:
      throw new Error(`unknown scenario ${args.scenario}`);
  }
}

try {
  out({ result: await run() });
} catch (e) {
  out({ error: { name: e.name ?? null, message: String(e.message), status: e.statusCode ?? e.status ?? null } });
}
