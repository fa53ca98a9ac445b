"""The two builds side by side: one stand-in, a gateway with the .wasm and one with the
dynamic module, the same configuration and the same requests through each. They must give
the same answers (but for ids and times), the same `/stats/prometheus` series and the same
access-log fields (one access-log configuration serves both).

Each build also runs the whole suite on its own (`make test`); this shows they agree.
"""

import json
import os
import time

import pytest
import requests

from e2e.conftest import NATIVE, WASM, http_get, launch_gateway, stop
from e2e.helpers import CLAUDE, LLAMA, chat_body, post
from e2e.keys import aws_headers

pytestmark = pytest.mark.build_independent  # it starts both builds itself

KEYS = {"alpha": "sk-parity-alpha-000000000000000000001", "lim": "sk-parity-lim-00000000000000000000002"}
TITAN = "amazon.titan-embed-text-v2:0"
GPT = "us.openai.gpt-5.6-sol"  # served through bedrock-runtime's OpenAI-compatible /openai/v1
POLICIES = {"alpha": {"allowed_models": [LLAMA, CLAUDE, TITAN, GPT]}, "lim": {"requests_per_minute": 2}}
RESPONSES = "/v1/amazon-bedrock/responses"
EMBEDDINGS = "/v1/amazon-bedrock/embeddings"
BUILDS = ("wasm", "native")
# Access-log fields that say what happened (not when, nor how long it took).
FIELDS = ("method", "upstream_path", "status", "endpoint", "project", "model", "input_tokens", "output_tokens",
          "total_tokens", "cache_read_tokens", "cache_write_tokens", "finish_reason", "rejected")


def headers(project="alpha", **extra):
    return {"Project-Api-Key": KEYS.get(project, project), "Content-Type": "application/json",
            **aws_headers(), **extra}


@pytest.fixture(scope="module")
def gateways(standin, tmp_path_factory):
    for path in (WASM, NATIVE):
        if not os.path.isfile(path):
            pytest.fail(f"{path} missing: run `make wasm native` (make test does)")
    work = tmp_path_factory.mktemp("parity")
    (work / "policies.json").write_text(json.dumps(POLICIES))
    gws = {}
    try:
        for build in BUILDS:
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            env.update(GATEWAY_FILTER=build, PROJECT_API_KEYS=",".join(f"{n}={k}" for n, k in KEYS.items()),
                       PROJECT_POLICIES=str(work / "policies.json"), AWS_ENDPOINT_URL_BEDROCK_RUNTIME=standin.url)
            d = work / build
            d.mkdir()
            access = str(d / "access.log")
            g = launch_gateway(d, env, "--concurrency", "2", "--flush-ms", "100", "--access-log-path", access,
                               what=f"{build} gateway")
            g.access_log = access
            gws[build] = g
        yield gws
    finally:
        for g in gws.values():
            stop(g.proc)


# What differs between two answers to the same request: ids (chat's `id`, the Responses API's
# response and item ids) and times.
VARYING = ("id", "created", "created_at", "completed_at", "item_id", "response_id")


def normalized(r):
    """(status, content type, body) with the per-answer ids and times taken out."""
    kind = r.headers.get("content-type", "")

    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in VARYING}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj

    if kind.startswith("text/event-stream"):
        events = [line[len("data: "):] for line in r.text.splitlines() if line.startswith("data: ")]
        body = [e if e == "[DONE]" else strip(json.loads(e)) for e in events]
    else:
        body = strip(r.json())
    return r.status_code, kind, body


def exchange(g, standin, name):
    """One named exchange through gateway g: what the client got."""
    rid = {"x-request-id": f"parity-{name}"}
    if name == "ok":
        return post(g, chat_body(), headers=headers(**rid))
    if name == "stream":
        return post(g, chat_body(stream=True, stream_options={"include_usage": True}), headers=headers(**rid))
    if name == "throttled":
        standin.script({"error": "ThrottlingException", "message": "slow down"})
        return post(g, chat_body(), headers=headers(**rid))
    if name == "bad-key":
        return post(g, chat_body(), headers=headers("sk-parity-wrong", **rid))
    if name == "not-allowed":
        return post(g, chat_body(model="mistral.mistral-large-2402-v1:0"), headers=headers(**rid))
    if name == "bad-json":
        return post(g, None, raw=b"{not json", headers=headers(**rid))
    if name == "models":
        return requests.get(f"{g.base_url}/models", headers=headers(**rid), timeout=30)
    if name == "responses":
        return post(g, {"model": CLAUDE, "input": "Hello!"}, path=RESPONSES, headers=headers(**rid))
    if name == "responses-stream":
        return post(g, {"model": CLAUDE, "input": "Hello!", "stream": True}, path=RESPONSES, headers=headers(**rid))
    if name == "embeddings":  # three InvokeModel calls the filter makes itself
        return post(g, {"model": TITAN, "input": ["one", "two", "three"], "encoding_format": "base64"},
                    path=EMBEDDINGS, headers=headers(**rid))
    if name == "compat":
        return post(g, chat_body(model=GPT, stream=True, stream_options={"include_usage": True}),
                    headers=headers(**rid))
    if name in ("stored-get", "stored-delete"):
        method = name.split("-")[1].upper()
        return requests.request(method, f"{g.url}{RESPONSES}/resp_123", headers=headers(**rid), timeout=30)
    if name.startswith("limited-"):
        return post(g, chat_body(), headers=headers("lim", **rid))
    raise AssertionError(name)


NAMES = ["ok", "stream", "throttled", "bad-key", "not-allowed", "bad-json", "models",
         "responses", "responses-stream", "stored-get", "stored-delete", "embeddings", "compat",
         "limited-1", "limited-2", "limited-3"]


def series(g):
    """The filter's lines of /stats/prometheus that do not depend on timing: counters, and each
    histogram's count (its buckets and sum hold latencies)."""
    status, text = http_get(f"{g.admin_url}/stats/prometheus", timeout=10)
    assert status == 200
    return sorted(line for line in text.splitlines()
                  if "bedrock_openai_" in line and "_bucket" not in line and "_sum{" not in line
                  and "vm_reload" not in line)


def access_entries(g, count):
    deadline = time.time() + 10
    while time.time() < deadline:
        with open(g.access_log) as f:
            entries = {e["request_id"]: e for e in map(json.loads, f)
                       if e.get("request_id", "").startswith("parity-")}
        if len(entries) >= count:
            return entries
        time.sleep(0.2)
    return entries


def test_both_builds_answer_count_and_log_alike(gateways, standin):
    # The requests-per-minute window must not turn between the `limited` requests.
    if time.time() % 60 > 50:
        time.sleep(61 - time.time() % 60)
    answers = {b: {n: normalized(exchange(g, standin, n)) for n in NAMES} for b, g in gateways.items()}
    assert [answers["wasm"][n][0] for n in NAMES] == [200, 200, 429, 401, 403, 400, 200, 200, 200, 404, 404,
                                                      200, 200, 200, 200, 429]
    for n in NAMES:
        assert answers["native"][n] == answers["wasm"][n], n

    # One known difference (docs/native.md): proxy-wasm runs the filter's response callbacks for
    # the filter's own local replies, so the wasm build counts the time from reading the body to
    # refusing it (here: a model the project may not use) as an upstream latency; Envoy does not
    # run a dynamic module's response hooks for its own local replies, so none is counted.
    refused = ('bedrock_openai_upstream_latency_ms_count{endpoint="chat_completions",project="alpha",'
               'model="mistral_mistral-large-2402-v1_0"} 1')
    # Histograms show after Envoy's periodic stats flush (5 s).
    deadline = time.time() + 15
    while True:
        got = {b: series(g) for b, g in gateways.items()}
        wasm_only = set(got["wasm"]) - set(got["native"])
        if (wasm_only == {refused} and set(got["native"]) <= set(got["wasm"])) or time.time() > deadline:
            break
        time.sleep(0.5)
    assert set(got["native"]) - set(got["wasm"]) == set()
    assert set(got["wasm"]) - set(got["native"]) == {refused}
    assert any(line.startswith('bedrock_openai_requests{endpoint="chat_completions",project="alpha",'
                               'model="meta_llama3-8b-instruct-v1_0",status="200"} 2') for line in got["native"]), \
        got["native"]
    assert any(line.startswith('bedrock_openai_requests{endpoint="responses",project="alpha",'
                               'model="anthropic_claude-3-haiku-20240307-v1_0",status="200"} 2')
               for line in got["native"]), got["native"]
    assert any(line.startswith('bedrock_openai_rejected{project="unknown",reason="invalid_api_key"} 1')
               for line in got["native"]), got["native"]
    assert any(line.startswith("bedrock_openai_upstream_latency_ms_count{") for line in got["native"])

    logs = {b: access_entries(g, len(NAMES)) for b, g in gateways.items()}
    assert sorted(logs["native"]) == sorted(logs["wasm"]) == sorted(f"parity-{n}" for n in NAMES)
    for rid, entry in logs["wasm"].items():
        assert {k: logs["native"][rid].get(k) for k in FIELDS} == {k: entry.get(k) for k in FIELDS}, rid
    assert logs["native"]["parity-ok"]["project"] == "alpha"
    assert logs["native"]["parity-responses"]["endpoint"] == "responses"
    assert logs["native"]["parity-embeddings"]["endpoint"] == "embeddings"
    assert logs["native"]["parity-embeddings"]["total_tokens"] not in (None, "", "-")
    assert logs["native"]["parity-compat"]["total_tokens"] not in (None, "", "-")
    assert logs["native"]["parity-stream"]["total_tokens"] not in (None, "", "-")
