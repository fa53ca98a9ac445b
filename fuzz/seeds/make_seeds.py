"""Writes the seed inputs under fuzz/seeds/<target>/ (run from the repo root:
`python3 fuzz/seeds/make_seeds.py`). Each file follows the input layout
documented at the top of its target."""

import json
import os
import struct
import sys
import zlib

ROOT = os.path.dirname(os.path.abspath(__file__))


def frame(headers, payload):
    head = b""
    for k, v in headers:
        kb, vb = k.encode(), v.encode()
        head += struct.pack(">B", len(kb)) + kb + b"\x07" + struct.pack(">H", len(vb)) + vb
    total = 12 + len(head) + len(payload) + 4
    prelude = struct.pack(">II", total, len(head))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + head + payload
    return body + struct.pack(">I", zlib.crc32(body))


def event(name, body):
    payload = json.dumps(dict(body, p="abcdefgh"), separators=(",", ":")).encode()
    return frame([(":event-type", name), (":content-type", "application/json"),
                  (":message-type", "event")], payload)


def exception(name, message):
    return frame([(":exception-type", name), (":content-type", "application/json"),
                  (":message-type", "exception")], json.dumps({"message": message}).encode())


TEXT_STREAM = b"".join([
    event("messageStart", {"role": "assistant"}),
    event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Héllo, "}}),
    event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "wörld 😀"}}),
    event("contentBlockStop", {"contentBlockIndex": 0}),
    event("messageStop", {"stopReason": "end_turn"}),
    event("metadata", {"usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8},
                       "metrics": {"latencyMs": 10}}),
])
TOOL_STREAM = b"".join([
    event("messageStart", {"role": "assistant"}),
    event("contentBlockStart", {"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "t1", "name": "get_weather"}}}),
    event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": "{\"city\":"}}}),
    event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": "\"Paris\"}"}}}),
    event("contentBlockStop", {"contentBlockIndex": 1}),
    event("messageStop", {"stopReason": "tool_use"}),
])
EXC_STREAM = event("messageStart", {"role": "assistant"}) + exception("throttlingException", "Too many requests")
BAD_CRC = TEXT_STREAM[:-1] + bytes([TEXT_STREAM[-1] ^ 0xFF])
TRUNCATED = TEXT_STREAM[:-7]

ANSWER = {"output": {"message": {"role": "assistant", "content": [{"text": "Hello there"}]}},
          "stopReason": "end_turn",
          "usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8}, "metrics": {"latencyMs": 9}}
TOOL_ANSWER = {"output": {"message": {"role": "assistant", "content": [
    {"text": "Let me look."},
    {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Paris"}}}]}},
    "stopReason": "tool_use", "usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8}}


def lp(s):
    b = s.encode() if isinstance(s, str) else s
    return bytes([len(b)]) + b


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main(repo):
    fixtures = os.path.join(repo, "tests", "fixtures")
    for name in sorted(os.listdir(fixtures)):
        if name.endswith(".openai.json"):
            with open(os.path.join(fixtures, name), "rb") as f:
                write("request", name.replace(".openai.json", ""), b"\0\0" + f.read())
    tools_req = {"model": "anthropic.claude-3-haiku-20240307-v1:0", "stream": True,
                 "stream_options": {"include_usage": True},
                 "messages": [{"role": "user", "content": "weather?"},
                              {"role": "assistant", "content": None, "tool_calls": [
                                  {"id": "t1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
                              {"role": "tool", "tool_call_id": "t1", "content": "sunny"}],
                 "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
                 "tool_choice": "auto", "temperature": 0.5, "stop": ["x"]}
    write("request", "tools_stream", b"\0\0" + json.dumps(tools_req).encode())
    # Header edits: drop the key (op 0 at index 5), break the region (op 1 at index 9).
    write("request", "header_edits", b"\x02\x06" + b"\x00\x05\x00" + b"\x01\x09" + lp("moon-1")
          + json.dumps(tools_req).encode())

    def resp(mode, status, flags, errtype, rid, plan, body):
        return bytes([mode, status, flags]) + lp(errtype) + lp(rid) + bytes([len(plan)]) + bytes(plan) + body
    write("response", "json_200", resp(0, 0, 2, "", "rid-1", [], json.dumps(ANSWER).encode()))
    write("response", "json_tool_200", resp(0, 0, 0, "", "", [], json.dumps(TOOL_ANSWER).encode()))
    write("response", "replay_200", resp(6, 0, 2, "", "rid-2", [], json.dumps(TOOL_ANSWER).encode()))
    write("response", "stream_200", resp(5, 0, 2, "", "rid-3", [7, 1, 40], TEXT_STREAM))
    write("response", "stream_exception", resp(1, 0, 0, "", "", [13], EXC_STREAM))
    write("response", "error_403", resp(0, 2, 3,
          "UnrecognizedClientException:http://internal.amazon.com/coral/com.amazon.coral.service/",
          "rid-4", [], b'{"message":"The security token AKIDEXAMPLE included in the request is invalid."}'))
    write("response", "error_429", resp(1, 6, 1, "ThrottlingException", "", [],
          b'{"message":"Too many requests, please wait before trying again."}'))
    write("response", "envoy_504", resp(0, 9, 0, "", "", [], b"upstream request timeout"))
    write("response", "no_body_500", resp(0, 7, 5, "InternalServerException", "", [], b""))

    for name, data in [("text", TEXT_STREAM), ("tool", TOOL_STREAM), ("exception", EXC_STREAM),
                       ("bad_crc", BAD_CRC), ("truncated", TRUNCATED)]:
        write("eventstream", name, b"\x00\x00" + data)
    write("eventstream", "text_split_usage", b"\x01\x03\x05\x11\x00" + TEXT_STREAM)
    write("eventstream", "text_small_cap", b"\x02\x00" + TEXT_STREAM)

    def spec(kind, block, a="", b=""):
        return bytes([kind, block]) + lp(a) + lp(b)
    text = spec(0, 0) + spec(3, 0, "Héllo ") + spec(3, 0, "wörld 😀") + spec(5, 0) + spec(6, 0) + spec(7, 9, "abc")
    tools = (spec(0, 0) + spec(1, 1, "t1", "get_weather") + spec(4, 1, '{"city":') + spec(4, 1, '"Paris"}')
             + spec(1, 2, "t2", "get_time") + spec(4, 2, "{}") + spec(5, 1) + spec(6, 1) + spec(7, 3, "x"))
    write("eventstream_frames", "text", b"\x01\x00" + text)
    write("eventstream_frames", "tools_split", b"\x00\x02\x09\x03" + tools)
    write("eventstream_frames", "exception", b"\x00\x00" + spec(0, 0) + spec(3, 0, "hi") + spec(8, 0, "throttlingException", "slow down"))
    write("eventstream_frames", "error_msg", b"\x00\x00" + spec(0, 0) + spec(9, 0, "InternalFailure", "oops"))
    write("eventstream_frames", "odd_headers", b"\x00\x00" + spec(0, 0) + spec(10, 0, "reasoningContent", "{}") + spec(11, 3, "x-h", "v") + spec(6, 0))
    write("eventstream_frames", "corrupt", b"\x00\x00" + spec(0, 0) + spec(0x83, 20, "hi") + spec(6, 0))

    # sse: [prefix][value tree]; tags: 0 null, 1 bool, 2 number, 3/4 string, 5 array, 6 object.
    write("sse", "object", b"\x02\x06\x03" + lp("role") + b"\x03" + lp("assistant") + lp("content") + b"\x03" + lp("line\nbreak\r\u2028 é")
          + lp("n") + b"\x12" + struct.pack("<d", 1.5) + b"\x01")
    write("sse", "array", b"\x00\x05\x04\x00\x09\x02" + struct.pack("<q", -7) + b"\x0a" + struct.pack("<q", -7) + b"\x05\x00\x00")
    write("sse", "string", b"\x01\x03" + lp('data: [DONE]\n\n"\\\x00\x1f'))

    # embeddings_request: the body as a client sends it.
    for name, req in [
        ("titan_batch", {"model": "amazon.titan-embed-text-v2:0", "input": ["a", "b", "c"], "dimensions": 256}),
        ("cohere_query", {"model": "cohere.embed-english-v3", "input": "q", "input_type": "search_query",
                          "encoding_format": "base64"}),
        ("nova_purpose", {"model": "amazon.nova-2-multimodal-embeddings-v1:0", "input": ["x"],
                          "input_type": "clustering", "dimensions": 384, "user": "u", "timeout": 5}),
        ("token_ids", {"model": "cohere.embed-v4:0", "input": [[464, 3290]]}),
    ]:
        write("embeddings_request", name, json.dumps(req).encode())
    # embeddings_answer: [family][status][flags][token header][body].
    titan = {"embedding": [0.5] * 256, "embeddingsByType": {"float": [0.5] * 256}, "inputTextTokenCount": 2}
    cohere = {"embeddings": [[0.25] * 1024, [0.5] * 1024], "id": "x", "response_type": "embeddings_floats",
              "texts": ["one", "two"]}
    by_type = {"embeddings": {"float": [[0.25] * 256, [0.5] * 256]}, "response_type": "embeddings_by_type"}
    nova = {"embeddings": [{"embeddingType": "TEXT", "embedding": [0.125] * 256}]}
    write("embeddings_answer", "titan_v2", b"\x00\x00\x01" + lp("") + json.dumps(titan).encode())
    write("embeddings_answer", "cohere_v3", b"\x02\x00\x02" + lp("7") + json.dumps(cohere).encode())
    write("embeddings_answer", "cohere_v4", b"\x03\x00\x03" + lp("9") + json.dumps(by_type).encode())
    write("embeddings_answer", "nova", b"\x04\x00\x02" + lp("3") + json.dumps(nova).encode())
    write("embeddings_answer", "throttled", b"\x00\x03\x04" + lp("") + b'{"message":"slow down"}')

    key = "d749661188e7505ba96c87f623991d468dbbb04222ad81bcc7f5f5c110fb598e"
    write("config", "minimal", json.dumps({"version": 1, "projects": [{"name": "team-a", "key_sha256": key}]}).encode())
    write("config", "full", json.dumps({"version": 1, "projects": [{"name": "team-a", "key_sha256": key},
                                                                   {"name": "b.2_x", "key_sha256": "0" * 64}],
                                        "upstream": {"endpoint": "http://127.0.0.1:9099"},
                                        "limits": {"max_request_bytes": 2048, "max_timeout_seconds": 30}}).encode())
    write("config", "https_endpoint", json.dumps({"version": 1, "projects": [{"name": "a", "key_sha256": key}],
                                                  "upstream": {"endpoint": "https://bedrock-runtime.us-west-2.amazonaws.com:443"}}).encode())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.getcwd())
