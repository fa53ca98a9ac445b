"""The `streams` part: many long, slow streams at once (bench/slow_upstream.py answering, read by
bench/many_streams.py) through bare Envoy, the floor, the filter (.wasm) and the native filter (.so), a fresh
Envoy per trial: memory and CPU per stream and chunk, each chunk's added delay, errors, and the machine's
share.
"""

import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time

from cases import procfs
from cases.gateways import Gateway, mechanics_floor
from config import (
    CHAT_PATH,
    FLOOR_WASM,
    OPENAI_BODY,
    STREAM_GAP_MS,
    STREAM_OPEN_RATE,
    STREAM_WARMUP,
    openai_headers,
    say,
    write,
)
from harness import BENCH, NATIVE, OUT, ROOT, free_port, log_of, request, spawn, stop, vm_rss_kb, wait_ready
from results import (
    Failed,
    Lag,
    ManyStreams,
    Percentiles,
    PerProcess,
    RssPoint,
    StreamsPart,
    StreamsSummary,
    StreamsTrial,
    TrialFailed,
)

CLIENT = os.path.join(BENCH, "many_streams.py")
SLOW_UPSTREAM = os.path.join(BENCH, "slow_upstream.py")
CASES = ("bare", "floor", "filter", "native")
STATS = (r"^(cluster\.bedrock\.(upstream_rq_(pending_overflow|5xx|total|timeout)|upstream_cx_(overflow|total))|"
         r"http\.gateway\.downstream_(rq_5xx|rq_total|cx_total))$")


def lift_circuit_breakers(cfg, streams):
    """Room for every N on the Bedrock cluster (the same change to both configs).

    The launcher's cluster has Envoy's default circuit breakers: 1,024
    connections, pending requests and requests. The upstream is HTTP/1.1, one
    connection per open stream, so past 1,024 open streams new ones would
    queue (and past 2,048 be refused with 503) whatever they cost.
    """
    limit = 2 * max(streams) + 1024
    for cluster in cfg["static_resources"]["clusters"]:
        cluster["circuit_breakers"] = {"thresholds": [{
            "max_connections": limit, "max_pending_requests": limit, "max_requests": limit}]}


def slow_config(port, **settings):
    status, _, body = request(port, "POST", "/_config", json.dumps(settings).encode(),
                              {"content-type": "application/json"})
    if status != 200:
        raise RuntimeError(f"slow upstream /_config answered {status}: {body[:200]!r}")


def run_many(s, name, target, port, n, start_ns, ramp_s, window_ns, deadline_s):
    """Run bench/many_streams.py; returns its process (read it with many_result)."""
    spec = dict(target, port=port, streams=n, start_ns=start_ns, ramp_s=ramp_s,
                window_ns=window_ns, deadline_s=deadline_s,
                samples_path=os.path.join(OUT, f"{name}.delays") if window_ns[1] > window_ns[0] else None)
    path = write(f"{name}.json", json.dumps(spec))
    return spawn(name, [sys.executable, CLIENT, path], idle=s.stream_idle)


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
    return ManyStreams.from_json(json.loads(m.group(1)))


def pinning(s):
    """(Envoy's CPUs, everyone else's) with BENCH_STREAM_PIN=1, else (None, None).

    Envoy gets the first BENCH_ENVOY_CONCURRENCY CPUs, the client, the upstream
    and run.py the others (at least one CPU more than Envoy has workers).
    Off by default: on 2 CPUs the client and upstream then share one and fall
    behind at 2,000 streams, while SCHED_IDLE alone keeps them off Envoy's way.
    """
    cpus = sorted(os.sched_getaffinity(0))
    if not s.stream_pin or len(cpus) <= s.envoy_concurrency:
        return None, None
    return set(cpus[:s.envoy_concurrency]), set(cpus[s.envoy_concurrency:])


def streams_trial(s, case, n, rnd, up, target, cpus=None):
    """One fresh Envoy (bare, with the floor wasm or with the filter), warmed up, then N streams.

    Returns the trial's figures: RSS (idle, steady), Envoy's CPU over the
    steady window per delivered chunk, the client's per-chunk delays and errors.
    """
    name = f"streams-{case}-{n}-{rnd}"

    def patch(cfg):
        lift_circuit_breakers(cfg, s.streams)
        if case == "floor":
            mechanics_floor(cfg)
    gw = Gateway(name, up["port"], s.envoy_concurrency, with_filter=case != "bare", patch=patch, cpus=cpus,
                 native=case == "native")
    pid = gw.proc.pid
    try:
        # Warm-up: a few short streams (the VM's first contexts, the metrics, the pools).
        slow_config(up["port"], seconds=1.0)
        warm = many_result(run_many(s, f"{name}-warmup", target, gw.port, STREAM_WARMUP,
                                    time.monotonic_ns() + 300_000_000, 0.2, [0, 0], 20), 60)
        if warm.ok != STREAM_WARMUP:
            raise RuntimeError(f"warm-up: {warm.ok} of {STREAM_WARMUP} streams ok: {warm.error_examples}")
        slow_config(up["port"], seconds=s.stream_seconds)
        time.sleep(1.0)
        idle = []
        for _ in range(3):
            idle.append(vm_rss_kb(pid))
            time.sleep(0.2)
        idle_heap, idle_wasm = procfs.tcmalloc_kb(gw.admin), procfs.wasm_memories_kb(pid)
        ramp = max(1.0, n / STREAM_OPEN_RATE)
        start = time.monotonic_ns() + 500_000_000
        w0, w1 = start + int((ramp + 2) * 1e9), start + int((s.stream_seconds - 1) * 1e9)
        client = run_many(s, name, target, gw.port, n, start, ramp, [w0, w1], s.stream_seconds + ramp + 20)
        pids = {"envoy": pid, "client": client.pid, "upstream": up["pid"]}
        # Every 100 ms the steal counter; every second (and at both ends) the rest.
        steps = max(20, int((w1 - w0) / 1e8))
        samples, steal, heap, wasm = [], [], None, []
        for k in range(steps + 1):
            t = w0 + (w1 - w0) * k // steps
            time.sleep(max(0.0, (t - time.monotonic_ns()) / 1e9))
            steal.append((time.monotonic_ns(), procfs.steal_ticks()))
            if k % 10 == 0 or k == steps:
                samples.append({"t_ns": time.monotonic_ns(), "rss_kb": vm_rss_kb(pid),
                                "ticks": {p: procfs.cpu_ticks(i) for p, i in pids.items()},
                                "steal": steal[-1][1], "worker": procfs.worker_sched_ns(pid),
                                "softirqd": sum(procfs.cpu_ticks(i) for i in procfs.softirq_threads())})
            if k == steps // 2:
                heap, wasm = procfs.tcmalloc_kb(gw.admin), procfs.wasm_memories_kb(pid)
        res = many_result(client, s.stream_seconds + ramp + 60)
        quiet = procfs.quiet_delays(os.path.join(OUT, f"{name}.delays"), steal)
        _, _, body = request(up["port"], "GET", "/_stats")
        up_stats = json.loads(body)
        stats = procfs.envoy_counters(gw.admin, STATS)
    finally:
        stop(gw.proc)
    tick = procfs.TICK
    window_s = (samples[-1]["t_ns"] - samples[0]["t_ns"]) / 1e9
    cpu = PerProcess(**{p: (samples[-1]["ticks"][p] - samples[0]["ticks"][p]) / tick for p in pids})
    steady = statistics.median(x["rss_kb"] for x in samples)
    idle_rss = statistics.median(idle)
    chunks = res.window_chunks
    wasm_delta = sum(r for _, r in wasm) - sum(r for _, r in idle_wasm)
    (_, wait0, slices0), (_, wait1, slices1) = samples[0]["worker"], samples[-1]["worker"]
    return StreamsTrial(
        case=case, n=n, round=rnd, window_s=window_s,
        idle_rss_kb=idle_rss, steady_rss_kb=steady, max_rss_kb=max(x["rss_kb"] for x in samples),
        rss_per_stream_kb=(steady - idle_rss) / n,
        heap_idle_kb=idle_heap, heap_steady_kb=heap,
        heap_per_stream_kb=(heap - idle_heap) / n if heap is not None and idle_heap is not None else None,
        wasm_idle_kb=idle_wasm, wasm_steady_kb=wasm,
        wasm_per_stream_kb=wasm_delta / n if case in ("floor", "filter") else None,
        cpu_s=cpu, cpu_pct=PerProcess(100 * cpu.envoy / window_s, 100 * cpu.client / window_s,
                                      100 * cpu.upstream / window_s),
        cpu_per_chunk_us=1e6 * cpu.envoy / chunks if chunks else None,
        chunks_per_s=chunks / window_s, errors_total=sum(res.errors.values()),
        envoy_stats=stats, rss_samples=[RssPoint(x["t_ns"] - w0, x["rss_kb"]) for x in samples],
        # The machine's share of the delay: how long Envoy's worker, ready to run, waited for a CPU;
        # what the hypervisor took; the upstream's own stamp → write time.
        worker_wait_ms_per_s=(wait1 - wait0) / 1e6 / window_s,
        worker_wait_us_per_slice=(wait1 - wait0) / 1e3 / max(1, slices1 - slices0),
        steal_pct=100 * (samples[-1]["steal"] - samples[0]["steal"]) / tick / window_s / os.cpu_count(),
        upstream_slow_writes=up_stats["slow_writes"], upstream_max_write_us=up_stats["max_write_us"],
        softirqd_pct=100 * (samples[-1]["softirqd"] - samples[0]["softirqd"]) / tick / window_s,
        ok=res.ok, errors=res.errors, error_examples=res.error_examples, chunks=res.chunks,
        window_chunks=res.window_chunks, read_lag_us=res.read_lag_us, coalesced=res.coalesced,
        quiet_delay_us=quiet.quiet_delay_us, quiet_chunks=quiet.quiet_chunks, quiet_share=quiet.quiet_share,
        window_open_min=res.window_open_min, delay_us=res.delay_us, hist=res.hist, first_byte_s=res.first_byte_s,
    )


def many_streams(s, captured):
    """The `streams` part: for each N, bare Envoy, the floor (at the largest N) and Envoy with the filter
    take turns, a fresh Envoy each trial, the same slow upstream and the same client."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 4 * max(s.streams) + 1024  # Envoy: 2 sockets a stream; the client and upstream: 1 each
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))  # inherited by the children
    if min(need, hard) < need:
        raise RuntimeError(f"{max(s.streams)} streams need {need} file descriptors, the hard limit is {hard}")
    for n in s.streams:
        if s.stream_seconds - 1 - (max(1.0, n / STREAM_OPEN_RATE) + 2) < 5:
            raise RuntimeError(f"BENCH_STREAM_SECONDS={s.stream_seconds:g} leaves no 5 s steady window for "
                               f"{n} streams (they open over {max(1.0, n / STREAM_OPEN_RATE):g} s)")
    envoy_cpus, other_cpus = pinning(s)
    mine = os.sched_getaffinity(0)
    if other_cpus:  # the client and upstream inherit it
        os.sched_setaffinity(0, other_cpus)
    port = free_port()
    proc = spawn("slow-upstream", [sys.executable, SLOW_UPSTREAM, "--port", str(port),
                                   "--seconds", str(s.stream_seconds),
                                   "--gap-ms", f"{STREAM_GAP_MS[0]},{STREAM_GAP_MS[1]}"], idle=s.stream_idle)
    wait_ready(proc, port, "/_health", "slow upstream")
    up = {"port": port, "pid": proc.pid}
    stream = captured["stream"]
    signed = {"path": stream.path, "headers": stream.headers, "body": stream.body.decode()}
    openai = {"path": CHAT_PATH, "headers": openai_headers(), "body": json.dumps(dict(OPENAI_BODY, stream=True))}
    targets = {
        "bare": signed,
        "floor": signed,  # the floor carries the signed Converse request, as bare Envoy does
        "filter": openai,
        "native": openai,
    }
    notes = []
    if "floor" in s.stream_cases and not os.path.isfile(FLOOR_WASM):
        notes.append(f"floor: {os.path.relpath(FLOOR_WASM, ROOT)} missing (`make floor-wasm`)")
    if "native" in s.stream_cases and not os.path.isfile(NATIVE):
        notes.append(f"native: {os.path.relpath(NATIVE, ROOT)} missing (`make native`)")
    trials = []
    try:
        for rnd in range(s.stream_rounds):
            for i, n in enumerate(s.streams):
                cases = [c for c in CASES if c in s.stream_cases
                         and (c != "floor" or (n == max(s.streams) and os.path.isfile(FLOOR_WASM)))
                         and (c != "native" or os.path.isfile(NATIVE))]
                order = cases if (rnd + i) % 2 == 0 else cases[::-1]
                for case in order:
                    say(f"streams: {n} × {s.stream_seconds:g} s through {case} Envoy (round {rnd + 1})")
                    try:
                        t = streams_trial(s, case, n, rnd, up, targets[case], envoy_cpus)
                    except Exception as e:  # reported, the other trials go on
                        say(f"  {case}/{n}: {e}")
                        trials.append(TrialFailed(case=case, n=n, round=rnd, error=str(e)))
                        continue
                    trials.append(t)
                    d = t.delay_us
                    say(f"  RSS {t.rss_per_stream_kb:.1f} KiB/stream, CPU {t.cpu_per_chunk_us:.1f} "
                        f"µs/chunk ({t.cpu_pct.envoy:.0f} % of a core; client "
                        f"{t.cpu_pct.client:.0f} %, upstream {t.cpu_pct.upstream:.0f} %), "
                        f"delay p50 {d.p50:.0f} µs p99 {d.p99:.0f} µs, {t.window_chunks} chunks, "
                        f"errors {t.errors_total}; worker waited {t.worker_wait_ms_per_s:.1f} ms/s for a "
                        f"CPU, steal {t.steal_pct:.1f} %, upstream writes > 1 ms: {t.upstream_slow_writes}")
    finally:
        stop(proc)
        os.sched_setaffinity(0, mine)
    return StreamsPart(seconds=s.stream_seconds, gap_ms=list(STREAM_GAP_MS), rounds=s.stream_rounds,
                       open_rate=STREAM_OPEN_RATE, warmup=STREAM_WARMUP, ns=s.streams,
                       envoy_cpus=sorted(envoy_cpus) if envoy_cpus else None,
                       harness_cpus=sorted(other_cpus) if other_cpus else None, sched_idle=s.stream_idle,
                       skipped=notes, trials=trials, summary=streams_summary(s.streams, trials))


def streams_summary(ns, trials):
    """{str(n): {case: medians across rounds (errors summed)}} of the trials that ran."""
    out = {}
    for n in ns:
        for case in CASES:
            ts = [t for t in trials if t.n == n and t.case == case and isinstance(t, StreamsTrial)]
            failed = [t.error for t in trials if t.n == n and t.case == case and isinstance(t, TrialFailed)]
            if not ts:
                if failed:
                    out.setdefault(str(n), {})[case] = Failed(failed[0])
                continue

            def med(get, ts=ts):
                xs = [get(t) for t in ts]
                xs = [x for x in xs if x is not None]
                return statistics.median(xs) if xs else None
            out.setdefault(str(n), {})[case] = StreamsSummary(
                rounds=len(ts), failed_rounds=len(failed),
                rss_per_stream_kb=med(lambda t: t.rss_per_stream_kb),
                heap_per_stream_kb=med(lambda t: t.heap_per_stream_kb),
                wasm_per_stream_kb=med(lambda t: t.wasm_per_stream_kb),
                idle_rss_kb=med(lambda t: t.idle_rss_kb),
                steady_rss_kb=med(lambda t: t.steady_rss_kb),
                cpu_per_chunk_us=med(lambda t: t.cpu_per_chunk_us),
                envoy_cpu_pct=med(lambda t: t.cpu_pct.envoy),
                client_cpu_pct=med(lambda t: t.cpu_pct.client),
                upstream_cpu_pct=med(lambda t: t.cpu_pct.upstream),
                chunks_per_s=med(lambda t: t.chunks_per_s),
                window_chunks=sum(t.window_chunks for t in ts),
                window_open_min=min(t.window_open_min for t in ts),
                delay_us=Percentiles(*(med(lambda t, q=q: getattr(t.delay_us, q))
                                       for q in ("p50", "p90", "p99", "p999"))),
                delay_max_us=max(t.delay_us.max or 0 for t in ts),
                errors=sum(t.errors_total for t in ts) + len(failed),
                error_examples=[e for t in ts for e in t.error_examples][:3] + failed[:2],
                worker_wait_ms_per_s=med(lambda t: t.worker_wait_ms_per_s),
                worker_wait_us_per_slice=med(lambda t: t.worker_wait_us_per_slice),
                steal_pct=med(lambda t: t.steal_pct),
                upstream_slow_writes=sum(t.upstream_slow_writes for t in ts),
                coalesced=sum(t.coalesced for t in ts),
                read_lag_us=Lag(med(lambda t: t.read_lag_us.p50), med(lambda t: t.read_lag_us.p99)),
                quiet_delay_us=Percentiles(*(med(lambda t, q=q: getattr(t.quiet_delay_us, q))
                                             for q in ("p50", "p90", "p99", "p999"))),
                quiet_share=med(lambda t: t.quiet_share),
                softirqd_pct=med(lambda t: t.softirqd_pct),
            )
    return out
