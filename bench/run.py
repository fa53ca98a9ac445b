#!/usr/bin/env python3
"""`make bench`: throughput, latency, streaming, memory and size of the gateway.

Writes bench/RESULTS.md, bench/results.png and bench/out/results.json. Every
process it starts listens on 127.0.0.1 on a free port, is bounded in time and
is killed (by its own process group id) when the run ends, also on Ctrl-C.

Run from the repository root with the project venv (the Makefile does):

    .venv/bin/python bench/run.py

Cases, all against the same fast upstream (an Envoy `direct_response`
listener serving canned Converse JSON / event-stream files) and the same load
tool (wrk, one thread, `--latency`), at concurrency 1 and 64; for the Envoys
(bare, floor, filter, native) also the Envoy's CPU time per request:

  upstream  wrk straight at the fast upstream: its ceiling
  bare      Envoy without the filter proxying an already-translated, already
            signed Converse request (captured from the filter)
  floor     the filter's Envoy config with bench/floor's wasm (mode
            `mechanics`) instead of ours: the same host interactions on the
            same OpenAI request (bodies read and written back, headers
            replaced, path rewritten) and none of the work. The ceiling of
            any proxy-wasm filter that rewrites both bodies (`make floor-wasm`)
  filter    Envoy with our filter: OpenAI body in, signed Converse out
  native    the same filter as an Envoy dynamic module (`make native`, the .so)
            in the wasm filter's place: the same config, request and answer
  litellm   LiteLLM's proxy (PyPI litellm[proxy], pinned in bench/tools.py, own
            venv in bench/.venvs)
  bag       aws-samples/bedrock-access-gateway, run with its README's steps
            (uvicorn from src/); its source is NOT in this repository: see
            BAG_DIR below. Missing source → case skipped with the reason.

Then streaming (first upstream event → first client byte, with and without
the filter; Envoy's VmRSS every 100 ms while one client reads a 50 MiB
answer), many long slow streams at once (`streams`: N concurrent 30 s answers
from bench/slow_upstream.py read by bench/many_streams.py, through bare Envoy,
the floor, the filter and the native filter: memory and CPU per stream and chunk, each chunk's
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
  BENCH_CASES        comma-separated subset of upstream,bare,floor,filter,native,litellm,bag
  BENCH_SKIP         comma-separated parts to skip: load,stream,streams,size,wasmhost,micro,plot
                     (skipping all but `streams` updates only its section of RESULTS.md)
  BENCH_STREAMS      the `streams` part's N, comma-separated (default 250,1000,2000)
  BENCH_STREAM_SECONDS  how long each of those streams lasts (default 30)
  BENCH_STREAM_ROUNDS   rounds of bare / floor / filter trials per N (default 1; medians)
  BENCH_STREAM_CASES    subset of bare,floor,filter,native (floor runs at the largest N only)
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

Where it lives: this file parses the environment (bench/config.py's
Settings), runs the parts in order and writes the outputs; bench/cases/ has
one module per part (load, streaming, streams, size, wasmhost, micro; the
Envoys they share in cases/gateways.py); bench/results.py the typed results
and their JSON; bench/report.py and bench/report_streams.py RESULTS.md and
the targets; bench/harness.py the process helpers shared with bench/soak.py.
"""

import atexit
import datetime
import json
import os
import signal
import subprocess
import sys
import time

import tools
from cases.gateways import Gateway, capture_translated, envoy_binary, start_upstream, wasm_config
from cases.load import Target, load_rounds, stream_load
from cases.micro import micro
from cases.peers import start_bag, start_litellm
from cases.size import check_optimized, wasm_sizes
from cases.streaming import streaming
from cases.streams import many_streams
from cases.wasmhost import wasm_host_parts
from config import (
    CHAT_PATH,
    FLOOR_WASM,
    LITELLM_KEY,
    OPENAI_BODY,
    RESULTS_JSON,
    VENVS,
    Settings,
    openai_headers,
    say,
)
from harness import BENCH, NATIVE, OUT, ROOT, WASM, machine, on_signal, stop_all
from report import report, targets
from report_streams import streams_targets, update_streams_section
from results import Machine, Results


def main():
    t_start = time.monotonic()
    s = Settings.from_env(os.environ)
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

    R = Results(date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                machine=Machine(**machine()))
    envoy_version = subprocess.run([envoy_binary(), "--version"], capture_output=True,
                                   text=True).stdout.strip().split("version:")[-1].strip().split("/")[1:2]
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split(" [")[0]
    versions = [f"Envoy {envoy_version[0] if envoy_version else '?'}", wrk_version]

    # 1. the fast upstream
    say("starting the fast upstream (Envoy direct_response)")
    up_port = start_upstream(s.envoy_concurrency)

    # 2. what the filter sends, to replay through bare Envoy
    say("capturing the filter's translated request against the strict stand-in")
    captured = capture_translated(s.envoy_concurrency)

    # 3. gateways and peers
    say("starting Envoy with and without the filter")
    gw_filter = Gateway("gw-filter", up_port, s.envoy_concurrency, with_filter=True)
    gw_bare = Gateway("gw-bare", up_port, s.envoy_concurrency, with_filter=False)
    gw_floor = start_floor(s, R, up_port) if "floor" in s.cases and s.runs("load") else None
    gw_native = start_native(s, R, up_port) if "native" in s.cases and s.runs("load") else None
    body = json.dumps(OPENAI_BODY).encode()
    plain = captured["plain"]
    tg = {
        "upstream": Target("upstream", up_port, plain.path, plain.body, plain.headers, b'"output"'),
        "bare": Target("bare", gw_bare.port, plain.path, plain.body, plain.headers, b'"output"',
                       pid=gw_bare.proc.pid),
        "filter": Target("filter", gw_filter.port, CHAT_PATH, body, openai_headers(), b'"choices"',
                         pid=gw_filter.proc.pid),
    }
    if gw_floor:  # our filter's request; the canned Converse answer passes through
        tg["floor"] = Target("floor", gw_floor.port, CHAT_PATH, body, openai_headers(), b'"output"',
                             pid=gw_floor.proc.pid)
    if gw_native:  # the filter's request and answer, through the .so
        tg["native"] = Target("native", gw_native.port, CHAT_PATH, body, openai_headers(), b'"choices"',
                              pid=gw_native.proc.pid)
    if "litellm" in s.cases and s.runs("load"):  # the peers are only in the load part
        try:
            say("starting LiteLLM proxy")
            _, port, version = start_litellm(up_port)
            versions.append(f"LiteLLM {version}")
            tg["litellm"] = Target("litellm", port, "/v1/chat/completions", body,
                                   {"content-type": "application/json",
                                    "authorization": f"Bearer {LITELLM_KEY}"}, b'"choices"')
        except Exception as e:  # reported, not fatal
            R.skipped["litellm"] = str(e)
    if "bag" in s.cases and s.runs("load"):
        try:
            say("starting bedrock-access-gateway")
            _, port, commit = start_bag(up_port)
            versions.append(f"bedrock-access-gateway {commit[:12]}")
            tg["bag"] = Target("bag", port, "/api/v1/chat/completions", body,
                               {"content-type": "application/json",
                                "authorization": "Bearer bench-bag-key"}, b'"choices"')
        except Exception as e:
            R.skipped["bag"] = str(e)
    R.versions = ", ".join(versions)

    # 4. load: every case at every concurrency, in interleaved rounds
    for c in (s.concurrencies if s.runs("load") else []):
        R.load.update(load_rounds(s, tg, c))
    # streaming requests through both Envoys (canned event stream)
    stream = captured["stream"]
    st = {
        "bare": Target("bare-stream", gw_bare.port, stream.path, stream.body, stream.headers, b":event-type"),
        "filter": Target("filter-stream", gw_filter.port, CHAT_PATH,
                         json.dumps(dict(OPENAI_BODY, stream=True)).encode(), openai_headers(),
                         b"data: [DONE]"),
    }
    if gw_native:
        st["native"] = Target("native-stream", gw_native.port, CHAT_PATH,
                              json.dumps(dict(OPENAI_BODY, stream=True)).encode(), openai_headers(),
                              b"data: [DONE]")
    for c in (s.concurrencies if s.runs("load") else []):
        R.stream_load.update(stream_load(s, st, c))
    stop_all()

    # 5. streaming latency and memory
    if s.runs("stream"):
        try:
            R.ttfb, R.rss = streaming(captured, s.envoy_concurrency)
        except Exception as e:
            R.skipped["streaming"] = str(e)
        stop_all()

    # 5b. many long, slow streams at once
    if s.runs("streams"):
        try:
            R.streams = many_streams(s, captured)
        except Exception as e:
            R.skipped["streams"] = str(e)
        stop_all()

    # 6. size, the module under V8, micro
    if s.runs("size"):
        try:
            R.size = wasm_sizes()
            R.size.opt_check = check_optimized(R.size.opt_path, s.envoy_concurrency)
        except Exception as e:
            R.skipped["size"] = str(e)
        stop_all()
    if s.runs("wasmhost"):
        modules = [("`cargo build --release`", WASM)]
        if R.size is not None:
            modules.append(("after `wasm-opt -Oz`", R.size.opt_path))
        if s.baseline_wasm:
            modules.append((f"baseline: {os.path.basename(s.baseline_wasm)}", s.baseline_wasm))
        try:
            say("wasm module cost per request under Node's V8 (bench/wasm_host.mjs)")
            R.wasm_host = wasm_host_parts(modules, wasm_config(gw_filter.config)["configuration"]["value"],
                                          tg["filter"])
            for part, wh in R.wasm_host.parts():
                for row in wh.modules:
                    say(f"  {part}, {row.module}: median {row.median_us} µs, fastest batch "
                        f"{row.min_us} µs, {row.host_calls:g} host calls"
                        + (f"; per event {row.per_event_median_us} µs" if row.per_event_median_us is not None
                           else ""))
        except Exception as e:
            R.skipped["wasmhost"] = str(e)
    if s.runs("micro"):
        try:
            say("cargo bench --bench micro")
            R.micro = micro()
        except Exception as e:
            R.skipped["micro"] = str(e)

    R.targets = targets(R, s)
    R.runtime_s = time.monotonic() - t_start
    if s.streams_only:
        return streams_only(s, R)
    write_json(R)
    if s.runs("plot"):
        try:
            plot()
        except Exception as e:
            R.skipped["plot"] = str(e)
    R.runtime_s = time.monotonic() - t_start
    report(R, s)
    say(f"wrote bench/RESULTS.md and bench/results.png in {R.runtime_s:.0f} s")
    for row in R.targets:
        say(f"  {row.target}: {row.measured} → {row.result}")
    return 0


def write_json(R):
    """bench/out/results.json."""
    with open(RESULTS_JSON, "w") as f:
        json.dump(R.to_json(), f, indent=1, default=str)


def streams_only(s, R):
    """Every part but `streams` skipped: update that part alone.

    Its section of RESULTS.md is replaced and the rest of the file is left as
    it was; its figures replace `streams` in the last full run's
    bench/out/results.json (kept otherwise), from which results.png is redrawn
    if that file has the other parts too.
    """
    if R.streams is None:
        say(f"streams: {R.skipped.get('streams', 'not run')}")
        return 1
    full = None
    if os.path.exists(RESULTS_JSON):
        with open(RESULTS_JSON) as f:
            full = Results.from_json(json.load(f))
    if full is None or not full.load:
        full = R
    full.streams = R.streams
    write_json(full)
    if s.runs("plot") and full is not R:
        try:
            plot()
        except Exception as e:
            say(f"results.png not redrawn: {e}")
    update_streams_section(R.streams, s)
    say("updated the many-streams section of bench/RESULTS.md (the rest of the file is as it was)")
    for row in streams_targets(R.streams):
        say(f"  {row[0]} (N={row[1]}): {row[4]} → {row[5]}")
    return 0


def start_floor(s, R, up_port):
    """Envoy with the floor wasm (bench/floor, `make floor-wasm`), or None and the reason in R.skipped."""
    if not os.path.isfile(FLOOR_WASM):
        R.skipped["floor"] = f"{os.path.relpath(FLOOR_WASM, ROOT)} missing: run `make floor-wasm`"
        return None
    try:
        say("starting Envoy with the floor wasm (mode mechanics)")
        return Gateway("gw-floor", up_port, s.envoy_concurrency, with_filter=True, floor=True)
    except Exception as e:  # reported, not fatal
        R.skipped["floor"] = str(e)
        return None


def start_native(s, R, up_port):
    """Envoy with the dynamic module (`make native`), or None and the reason in R.skipped."""
    if not os.path.isfile(NATIVE):
        R.skipped["native"] = f"{os.path.relpath(NATIVE, ROOT)} missing: run `make native`"
        return None
    try:
        say("starting Envoy with the dynamic module (GATEWAY_FILTER=native)")
        return Gateway("gw-native", up_port, s.envoy_concurrency, with_filter=True, native=True)
    except Exception as e:  # reported, not fatal
        R.skipped["native"] = str(e)
        return None


def plot():
    venv = tools.venv("plot")
    r = subprocess.run([os.path.join(venv, "bin", "python"), os.path.join(BENCH, "plot.py"),
                        RESULTS_JSON, os.path.join(BENCH, "results.png")],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"plot.py failed: {r.stderr[-500:]}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        stop_all()
