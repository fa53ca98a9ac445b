// Calls the gateway's Responses API with npm clients and prints one JSON line with what the
// client returned. Usage: node responses.mjs '<json: {scenario, baseURL, headers, model, ...}>'
//
// Scenarios:
//   openai-create    the official SDK's responses.create (args.request)
//   openai-stream    the official SDK's responses.stream: final response and event types
//   aisdk-tools      @ai-sdk/openai's default provider (the Responses API): generateText with a
//                    weather tool and stopWhen: stepCountIs(3); args.store false sets
//                    providerOptions.openai.store (default: the SDK's own default, store true);
//                    args.reasoning (an effort) asks the model to reason
//   aisdk-stream     the same through streamText
//   aisdk-object     generateObject with a zod schema (strict json_schema)
// Output: {"result": ...} or {"error": {"name", "message", "status"}}.
import OpenAI from "openai";
import { createOpenAI } from "@ai-sdk/openai";
import { generateObject, generateText, stepCountIs, streamText, tool } from "ai";
import { z } from "zod";

const args = JSON.parse(process.argv[2]);
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

function client() {
  return new OpenAI({ baseURL: args.baseURL, apiKey: "sk-openai-unused", defaultHeaders: args.headers, maxRetries: 0, timeout: 30000 });
}

function provider() {
  return createOpenAI({ baseURL: args.baseURL, apiKey: "sk-openai-unused", headers: args.headers });
}

const weather = tool({
  description: "Get the weather for a location",
  inputSchema: z.object({ location: z.string() }),
  execute: async ({ location }) => ({ location, forecast: "sunny", celsius: 21 }),
});

// args.store false: providerOptions.openai.store; args.reasoning (an effort): the SDK asks a
// non-OpenAI model id to reason (forceReasoning), with a summary.
function providerOptions() {
  const openai = {};
  if (args.store === false) openai.store = false;
  if (args.reasoning) Object.assign(openai, { forceReasoning: true, reasoningEffort: args.reasoning, reasoningSummary: "auto" });
  return Object.keys(openai).length ? { openai } : undefined;
}

async function run() {
  switch (args.scenario) {
    case "openai-create": {
      const r = await client().responses.create(args.request);
      return { id: r.id, status: r.status, output_text: r.output_text, output: r.output, usage: r.usage };
    }
    case "openai-stream": {
      const stream = client().responses.stream(args.request);
      const types = [];
      for await (const event of stream) types.push(event.type);
      const r = await stream.finalResponse();
      return { types, id: r.id, status: r.status, output_text: r.output_text, usage: r.usage };
    }
    case "aisdk-tools": {
      const r = await generateText({
        model: provider()(args.model), tools: { weather }, stopWhen: stepCountIs(3),
        prompt: "What is the weather in Paris?", providerOptions: providerOptions(),
      });
      return {
        text: r.text, finishReason: r.finishReason, steps: r.steps.length,
        toolCalls: r.steps.flatMap((s) => s.toolCalls.map((c) => ({ name: c.toolName, input: c.input }))),
        toolResults: r.steps.flatMap((s) => s.toolResults.map((t) => t.output)),
        usage: r.totalUsage,
      };
    }
    case "aisdk-stream": {
      const r = streamText({
        model: provider()(args.model), tools: { weather }, stopWhen: stepCountIs(3),
        prompt: "What is the weather in Paris?", providerOptions: providerOptions(),
      });
      let text = "";
      const errors = [];
      for await (const part of r.fullStream) {
        if (part.type === "text-delta") text += part.text;
        if (part.type === "error") errors.push(String(part.error?.message ?? part.error));
      }
      const steps = await r.steps;
      return {
        text, errors, finishReason: await r.finishReason, steps: steps.length,
        toolCalls: steps.flatMap((s) => s.toolCalls.map((c) => ({ name: c.toolName, input: c.input }))),
        usage: await r.totalUsage,
      };
    }
    case "aisdk-object": {
      const City = z.object({ name: z.string(), population: z.number().int(), landmarks: z.array(z.string()) });
      const r = await generateObject({ model: provider()(args.model), schema: City, prompt: "Describe Paris." });
      return { object: r.object, finishReason: r.finishReason, usage: r.usage };
    }
    default:
      throw new Error(`unknown scenario ${args.scenario}`);
  }
}

try {
  out({ result: await run() });
} catch (e) {
  out({ error: { name: e.name, message: String(e.message), status: e.status ?? e.statusCode ?? null } });
}
