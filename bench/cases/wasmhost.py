"""The `wasmhost` part: the module's own time per request under Node's V8 with a simulated proxy-wasm host
(bench/wasm_host.mjs): the plain request, the same with this round's features on, and a streamed answer
per event (with bench/floor's `mechanics` mode as the host's share); the same request and streamed answer
through the Responses API; and embeddings, one input and 64 inputs to Titan V2 (one InvokeModel call each,
made by the module itself), with the module's time per upstream call.
"""

import json
import os
import re
import subprocess

import tools
from config import FLOOR_WASM, WASM_HOST, WASM_STREAM_DELTAS, write
from harness import OUT, ROOT
from results import WasmHost, WasmHostRow, WasmHostRun
from standin import eventstream  # tests/standin: harness put tests/ on sys.path

FEATURES_BODY = {
    "model": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "messages": [{"role": "system", "content": [{"type": "text", "text": "You are a helpful assistant",
                                                 "cache_control": {"type": "ephemeral"}}]},
                 {"role": "user", "content": "Hello!"}],
    "reasoning_effort": "low", "user": "alice@example.com", "metadata": {"team": "search"},
    "service_tier": "default",
    "tools": [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}}],
    "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": {
        "type": "object", "properties": {"text": {"type": "string"}}}}},
}


def wasm_host(modules, plugin_config, request, body_file=None, response=None, env=None):
    """The module's own time per request under Node's V8 (bench/wasm_host.mjs's simulated host).

    modules: [(label, .wasm path)], measured interleaved in one Node process.
    request: the load Target whose headers (and, without body_file, body) are
    the request. response: the answer file (default the canned Converse JSON).
    env: e.g. {"STREAM": "1", "FLOOR": path} for the streamed answer.
    """
    node = tools.command("node")
    config = write("plugin-config.json", plugin_config)
    argv = [node, "--no-liftoff", WASM_HOST, config, request.headers_file, body_file or request.body_file,
            response or os.path.join(OUT, "canned-converse.json")] + [path for _, path in modules]
    r = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=900,
                       env=dict(os.environ, **(env or {})))
    rows = [WasmHostRow.from_json(json.loads(m)) for m in re.findall(r"^WASM_HOST (.*)$", r.stdout, re.M)]
    labels = [label for label, _ in modules] + (["floor (host share)"] if (env or {}).get("FLOOR") else [])
    if r.returncode != 0 or len(rows) != len(labels):
        raise RuntimeError(f"wasm_host.mjs failed ({r.returncode}): {r.stderr.strip()[-500:]}")
    for label, row in zip(labels, rows, strict=True):
        row.module = label
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    return WasmHostRun(node=version, modules=rows)


def wasm_stream_answer():
    """bench/out/wasm-stream.bin: messageStart, WASM_STREAM_DELTAS text deltas, the stop and metadata."""
    words = ["Sure", "! Here", " is", " a", " short", " answer", " about", " the", " weather", " today", "."]
    ev = [eventstream.event("messageStart", {"role": "assistant"})]
    for i in range(WASM_STREAM_DELTAS):
        text = "".join(words[(i + k) % len(words)] for k in range(1 + i % 3))
        ev.append(eventstream.event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": text},
                                                          "p": "abcdefghijklmnopqrstuvwxyzABCDEF"[:8 + i % 24]}))
    ev += [eventstream.event("contentBlockStop", {"contentBlockIndex": 0}),
           eventstream.event("messageStop", {"stopReason": "end_turn"}),
           eventstream.event("metadata", {"usage": {"inputTokens": 25, "outputTokens": WASM_STREAM_DELTAS,
                                                    "totalTokens": 25 + WASM_STREAM_DELTAS},
                                          "metrics": {"latencyMs": 2400}})]
    return write("wasm-stream.bin", b"".join(ev))


RESPONSES_PATH = "/v1/amazon-bedrock/responses"
EMBEDDINGS_PATH = "/v1/amazon-bedrock/embeddings"
TITAN_V2 = "amazon.titan-embed-text-v2:0"
EMBEDDING_BATCH = 64


def titan_answer():
    """bench/out/titan-v2.json: one Titan Text Embeddings V2 InvokeModel answer, 1,024 dimensions
    (its default), normalized values as Titan answers them, and its token count."""
    vector = [round(((i * 7919) % 2000 - 1000) / 31623.0, 9) for i in range(1024)]
    return write("titan-v2.json", json.dumps({"embedding": vector, "embeddingsByType": {"float": vector},
                                              "inputTextTokenCount": 7}))


def embeddings_body(inputs):
    """An embeddings request as the Python SDK sends it (`encoding_format: base64`, its default)."""
    texts = [f"Retrieval passage {i}: the weather in Paris is sunny today." for i in range(inputs)]
    return {"model": TITAN_V2, "input": texts[0] if inputs == 1 else texts, "encoding_format": "base64"}


def responses_body(request):
    """The load request's model and messages as a Responses request (instructions + input)."""
    chat = json.loads(request.body)
    system = [m["content"] for m in chat["messages"] if m["role"] == "system"]
    turns = [{"role": m["role"], "content": m["content"]} for m in chat["messages"] if m["role"] != "system"]
    return {"model": chat["model"], "instructions": "\n".join(system), "input": turns, "store": False}


def wasm_host_parts(modules, plugin_config, request):
    """The wasm_host runs: the plain request, the same with the features on, a streamed answer; then
    the Responses API's plain request and streamed answer (builds that serve it)."""
    ours = [m for m in modules if not m[0].startswith("baseline")]  # an older build knows no new model
    # An older build refuses fields it does not know (`responses`, ...): the runs it takes part in
    # give every module the fields of schema version 1 it had (projects, models, upstream, limits).
    shared = plugin_config
    if len(ours) < len(modules):
        known = ("version", "projects", "models", "upstream", "limits")
        full = json.loads(plugin_config)
        shared = json.dumps({k: v for k, v in full.items() if k in known})
    plain = wasm_host(modules, shared, request)
    features = wasm_host(ours, plugin_config, request,
                         body_file=write("wasm-features.body", json.dumps(FEATURES_BODY)))
    env = {"STREAM": "1"}
    if os.path.isfile(FLOOR_WASM):
        env["FLOOR"] = FLOOR_WASM
    stream = wasm_host(modules, shared, request, response=wasm_stream_answer(), env=env)
    body = write("wasm-responses.body", json.dumps(responses_body(request)))
    responses = wasm_host(ours, plugin_config, request, body_file=body, env={"API_PATH": RESPONSES_PATH})
    responses_stream = wasm_host(ours, plugin_config, request, body_file=body, response=wasm_stream_answer(),
                                 env=dict(env, API_PATH=RESPONSES_PATH))
    embed_env = {"API_PATH": EMBEDDINGS_PATH}
    answer = titan_answer()
    one = write("wasm-embeddings-1.body", json.dumps(embeddings_body(1)))
    batch = write(f"wasm-embeddings-{EMBEDDING_BATCH}.body", json.dumps(embeddings_body(EMBEDDING_BATCH)))
    embeddings = wasm_host(ours, plugin_config, request, body_file=one, response=answer, env=embed_env)
    embeddings_batch = wasm_host(ours, plugin_config, request, body_file=batch, response=answer,
                                 env=dict(embed_env, BATCH="20"))
    return WasmHost(plain=plain, features=features, stream=stream, responses=responses,
                    responses_stream=responses_stream, embeddings=embeddings, embeddings_batch=embeddings_batch)
