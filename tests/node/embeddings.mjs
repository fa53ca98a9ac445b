// Calls the gateway's embeddings endpoint with the npm clients, and prints one
// JSON line with what the client returned.
// Usage: node embeddings.mjs '<json: {scenario, baseURL, headers, model, input, ...}>'
//
// Scenarios:
//   openai            the official SDK's embeddings.create (no encoding_format: the SDK
//                     asks for base64 and decodes it through a Float32Array)
//   openai-float      the same with encoding_format "float"
//   ai-embed-many     the Vercel AI SDK's embedMany through @ai-sdk/openai-compatible
//   tiktoken-file     writes js-tiktoken's cl100k_base ranks, in tiktoken's file format,
//                     to args.path (the file Python's tiktoken loads, offline)
// Output: {"result": ...} or {"error": {"name", "message", "status"}}.
import OpenAI from "openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { embedMany } from "ai";
import ranks from "js-tiktoken/ranks/cl100k_base";
import { writeFileSync } from "node:fs";

const args = JSON.parse(process.argv[2]);
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

function openai() {
  return new OpenAI({ baseURL: args.baseURL, apiKey: "sk-openai-unused", maxRetries: 0,
                      defaultHeaders: args.headers });
}

async function run() {
  switch (args.scenario) {
    case "openai":
    case "openai-float": {
      const body = { model: args.model, input: args.input };
      if (args.scenario === "openai-float") body.encoding_format = "float";
      if (args.dimensions) body.dimensions = args.dimensions;
      const r = await openai().embeddings.create(body);
      return { vectors: r.data.map((d) => Array.from(d.embedding)), indexes: r.data.map((d) => d.index),
               model: r.model, usage: r.usage };
    }
    case "ai-embed-many": {
      const provider = createOpenAICompatible({ name: "bedrock-gateway", baseURL: args.baseURL,
                                                apiKey: "sk-openai-unused", headers: args.headers });
      const r = await embedMany({ model: provider.embeddingModel(args.model), values: args.input, maxRetries: 0 });
      return { vectors: r.embeddings, usage: r.usage };
    }
    case "tiktoken-file": {
      const rows = [];
      for (const line of ranks.bpe_ranks.split("\n").filter(Boolean)) {
        const [, offset, ...tokens] = line.split(" ");
        tokens.forEach((t, i) => rows.push([Number(offset) + i, t]));
      }
      rows.sort((a, b) => a[0] - b[0]);
      writeFileSync(args.path, rows.map(([rank, token]) => `${token} ${rank}\n`).join(""));
      return { tokens: rows.length };
    }
    default:
      throw new Error(`unknown scenario ${args.scenario}`);
  }
}

try {
  out({ result: await run() });
} catch (e) {
  out({ error: { name: e?.name, message: String(e?.message ?? e), status: e?.status ?? e?.statusCode ?? null } });
}
