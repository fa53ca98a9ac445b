"""The load cases: wrk (one thread, bench/post.lua) against each target at each concurrency, in
interleaved rounds; and the streaming requests (canned event stream) through bare Envoy and the filter.
"""

import json
import re
import statistics
import subprocess

from cases import procfs
from config import LUA, WARMUP, say, write
from harness import request
from results import Failed, Latency, LoadResult, LoadRound, WrkRun, load_key


class Target:
    """One thing wrk hits: port, path, body, headers, and how a good answer looks; `pid`: the Envoy
    serving it, whose CPU per request the load rounds measure (None: not measured)."""

    def __init__(self, name, port, path, body, headers, expect, pid=None):
        self.name, self.port, self.path = name, port, path
        self.body, self.headers, self.expect = body, headers, expect
        self.pid = pid
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
    res["error_count"] = sum(res["errors"].values())
    return WrkRun.from_json(res)


def measured_round(target, conns, seconds):
    """One wrk run of `target` and its Envoy's CPU time per request served, µs (None without target.pid)."""
    before = procfs.cpu_ns(target.pid) if target.pid else None
    run = run_wrk(target, conns, seconds)
    cpu = None
    if before is not None and run.requests:
        cpu = (procfs.cpu_ns(target.pid) - before) / 1e3 / run.requests
    return run, cpu


def combine(measured):
    """One result from interleaved rounds ([(WrkRun, Envoy CPU µs per request or None)]): the median
    round's req/s and the median of each latency percentile and of the CPU per request across rounds;
    requests and errors summed."""
    rounds = [run for run, _ in measured]
    cpu = [x for _, x in measured if x is not None]
    return LoadResult(
        rps=statistics.median(sorted(r.rps for r in rounds)),
        latency_us=Latency(p50=statistics.median(r.latency_us.p50 for r in rounds),
                           p90=statistics.median(r.latency_us.p90 for r in rounds),
                           p99=statistics.median(r.latency_us.p99 for r in rounds)),
        requests=sum(r.requests for r in rounds),
        error_count=sum(r.error_count for r in rounds),
        rounds=[LoadRound(rps=r.rps, latency_us=r.latency_us, cpu_us_per_request=x) for r, x in measured],
        cpu_us_per_request=statistics.median(cpu) if cpu else None)


def load_rounds(s, targets, c):
    """Every case at concurrency `c`: a warm-up each, then s.rounds rounds of s.slice_s seconds in
    which the cases take turns, so that a machine whose speed drifts (a shared host) slows every
    case alike instead of whichever ran during a slow minute. Returns {load_key(case, c): result}."""
    out, live = {}, []
    for case in s.cases:
        t = targets.get(case)
        if not t:
            continue
        bad = t.check()
        if bad:
            out[load_key(case, c)] = Failed(bad)
            say(f"{case}: {bad}")
            continue
        try:
            run_wrk(t, c, WARMUP)
            live.append(case)
        except Exception as e:
            out[load_key(case, c)] = Failed(str(e))
    say(f"c={c}: {', '.join(live)}: {s.rounds} interleaved rounds of {s.slice_s} s each")
    rounds = {case: [] for case in live}
    for _ in range(s.rounds):
        for case in list(rounds):
            try:
                rounds[case].append(measured_round(targets[case], c, s.slice_s))
            except Exception as e:
                out[load_key(case, c)] = Failed(str(e))
                del rounds[case]
    for case, rs in rounds.items():
        r = out[load_key(case, c)] = combine(rs)
        cpu = f", Envoy CPU {r.cpu_us_per_request:.0f} µs/request" if r.cpu_us_per_request is not None else ""
        say(f"  {case}: {r.rps:.0f} req/s, p50 {r.latency_us.p50:.0f} µs, "
            f"p99 {r.latency_us.p99:.0f} µs{cpu}, errors {r.error_count}")
    return out


def stream_load(s, targets, c):
    """Each streaming target at concurrency `c`: a warm-up, then one wrk run of s.duration seconds.
    Returns {load_key(case, c): WrkRun or Failed}."""
    out = {}
    for case, t in targets.items():
        bad = t.check()
        if bad:
            out[load_key(case, c)] = Failed(bad)
            continue
        try:
            run_wrk(t, c, WARMUP)
            out[load_key(case, c)] = run_wrk(t, c, s.duration)
        except Exception as e:
            out[load_key(case, c)] = Failed(str(e))
    return out
