#!/usr/bin/env python3
"""`make soak`: the gateway under a fixed request rate for a long time, with injected faults.

Issue 8 §6. Starts the Bedrock stand-in (tests/standin, with `--fault-rate`)
and the gateway (scripts/gateway.py, Envoy `--concurrency 2`) on free
loopback ports, then sends OpenAI chat completions open-loop at a fixed rate
(request i is due at t0 + i/rate, whatever happened to earlier ones): half
streamed, half not, over a few models. Every request carries a tag
(`soak-<i>`) in its user message, so each one can be matched with what the
stand-in recorded, including the fault it injected (`injected_fault`).

Each answer is judged against what the stand-in did to that request:

  success         no fault: 200 with a complete chat.completion, or a stream of
                  chat.completion.chunk events with a finish_reason, ending in [DONE]
  expected error  the gateway's documented answer to the injected fault:
                    throttling         429 rate_limit_error / rate_limit_exceeded
                    internal           500 api_error / internal_error
                    reset              503 api_error / upstream_unavailable
                    stream_throttling  200 stream with an in-stream error event
                                       naming throttlingException, then [DONE]
  unexpected      anything else: a wrong shape or status, a client-side
                  connection error, more than SOAK_TIMEOUT seconds, a request the
                  stand-in saw twice or never

Envoy's VmRSS is read from /proc every second (the launcher execs Envoy, so
its pid is Envoy's). Warm-up is the first min(60 s, 10 % of the run); the
baseline is the median RSS over the following min(60 s, 10 %) and every later
sample must stay within SOAK_RSS_PCT % of it.

Criteria: zero unexpected answers; RSS within SOAK_RSS_PCT %; the load
generator held at least 95 % of the requested rate (otherwise the run did
not test what it claims). Writes the "## Soak" section of bench/RESULTS.md
(between <!-- soak:start --> and <!-- soak:end -->, leaving the rest of the
file alone), the raw figures to bench/out/soak.json, logs to bench/out/soak-*.log.
Exits 1 if a criterion fails, 2 if it could not run.

Environment:
  SOAK_SECONDS     load duration (default 600)
  SOAK_RATE        requests per second (default 50)
  SOAK_FAULT_RATE  fraction of upstream calls the stand-in faults (default 0.01)
  SOAK_SEED        seed of the fault draws (default: random, printed)
  SOAK_WORKERS     client threads, each with its own keep-alive connection (default 64)
  SOAK_TIMEOUT     seconds after which an answer counts as unexpected (default 10)
  SOAK_RSS_PCT     allowed RSS deviation from the baseline, in % (default 5)

Everything listens on 127.0.0.1, is bounded in time, runs in its own process
group and is killed when the run ends, also on Ctrl-C / SIGTERM.
"""

import collections
import datetime
import hashlib
import http.client
import json
import os
import queue
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
import harness  # noqa: E402  bench/harness.py: spawn, stop_all, free_port, wait_ready, vm_rss_kb, ...

ROOT, OUT, TESTS = harness.ROOT, harness.OUT, harness.TESTS
RESULTS = os.path.join(BENCH, "RESULTS.md")
START, END = "<!-- soak:start -->", "<!-- soak:end -->"

SECONDS = float(os.environ.get("SOAK_SECONDS", "600"))
RATE = float(os.environ.get("SOAK_RATE", "50"))
FAULT_RATE = float(os.environ.get("SOAK_FAULT_RATE", "0.01"))
SEED = int(os.environ.get("SOAK_SEED") or random.SystemRandom().randrange(1 << 31))
WORKERS = int(os.environ.get("SOAK_WORKERS", "64"))
TIMEOUT = float(os.environ.get("SOAK_TIMEOUT", "10"))
RSS_PCT = float(os.environ.get("SOAK_RSS_PCT", "5"))
WASM = os.environ.get("SOAK_WASM") or harness.WASM
PINNED_WASM = os.path.join(OUT, "soak-filter.wasm")
# scripts/gateway.py with its WASM pointed at a private copy, so that a rebuild of target/
# during the run (others share this tree) cannot change what was measured. It still execs Envoy.
LAUNCHER = ("import sys; sys.path.insert(0, sys.argv[1]); import gateway; gateway.WASM = sys.argv[2]; "
            "sys.argv = [gateway.__file__] + sys.argv[3:]; sys.exit(gateway.main())")
MIN_RATE_SHARE = 0.95
ENVOY_CONCURRENCY = 2

MODELS = [
    "meta.llama3-8b-instruct-v1:0",
    "anthropic.claude-3-haiku-20240307-v1:0",
    "mistral.mistral-7b-instruct-v0:2",
    "amazon.titan-text-express-v1",
]
PROJECT_KEY = "sk-soak-00000000000000000000000001"
PATH = "/v1/amazon-bedrock/chat/completions"
TAG = re.compile(r"soak-(\d+):")

# kind → what the gateway must answer (README, tests/e2e/test_upstream_errors.py)
EXPECTED_ERRORS = {
    "throttling": ("error", 429, "rate_limit_error", "rate_limit_exceeded"),
    "internal": ("error", 500, "api_error", "internal_error"),
    "reset": ("error", 503, "api_error", "upstream_unavailable"),
}


def say(msg):
    print(f"soak: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- one request

def request_of(i):
    """(stream, model, body bytes) of request i: alternating stream/non-stream, cycling models."""
    stream = i % 2 == 1
    model = MODELS[(i // 2) % len(MODELS)]
    body = {"model": model, "stream": stream, "max_tokens": 64,
            "messages": [{"role": "user", "content": f"soak-{i}: Hello!"}]}
    if stream and (i // 2) % 2:
        body["stream_options"] = {"include_usage": True}
    return stream, model, json.dumps(body).encode()


def headers():
    return {"content-type": "application/json", "project-api-key": PROJECT_KEY,
            "aws-access-key-id": harness.PERMANENT["access_key_id"],
            "aws-secret-access-key": harness.PERMANENT["secret_access_key"],
            "aws-region-name": harness.REGION}


def judge(status, ctype, data, stream):
    """What the answer is, independent of faults: ("ok",), ("error", status, type, code, msg),
    ("stream_error", msg) or ("bad", detail)."""
    text = data.decode("utf-8", "replace")
    if status != 200:
        try:
            err = json.loads(text)["error"]
            assert ctype.startswith("application/json")
            assert set(err) == {"message", "type", "param", "code"} and err["message"]
            return ("error", status, err["type"], err["code"], err["message"])
        except Exception:
            return ("bad", f"HTTP {status} {ctype}: {text[:200]!r}")
    if not stream:
        try:
            obj = json.loads(text)
            choice = obj["choices"][0]
            assert obj["object"] == "chat.completion", "object"
            assert choice["message"]["content"].startswith("Hello from the Bedrock stand-in"), "content"
            assert choice["finish_reason"] == "stop", "finish_reason"
            assert obj["usage"]["total_tokens"] > 0, "usage"
            return ("ok",)
        except Exception as e:
            return ("bad", f"200 not a complete chat.completion ({e!r}): {text[:200]!r}")
    if not ctype.startswith("text/event-stream"):
        return ("bad", f"200 stream with content-type {ctype!r}: {text[:200]!r}")
    events = text.split("\n\n")
    if events[-1] != "" or events[-2] != "data: [DONE]":
        return ("bad", f"stream does not end with [DONE]: ...{text[-200:]!r}")
    content, finish, error = "", None, None
    for ev in events[:-2]:
        if not ev.startswith("data: "):
            return ("bad", f"stream event not `data: `: {ev[:200]!r}")
        try:
            chunk = json.loads(ev[6:])
        except ValueError:
            return ("bad", f"stream event not JSON: {ev[:200]!r}")
        if "error" in chunk:
            error = chunk["error"]
            continue
        if chunk.get("object") != "chat.completion.chunk" or error is not None:
            return ("bad", f"unexpected stream event: {ev[:200]!r}")
        for c in chunk.get("choices", []):
            content += c.get("delta", {}).get("content") or ""
            finish = c.get("finish_reason") or finish
    if error is not None:
        return ("stream_error", str(error.get("message")))
    if finish is None or not content.startswith("Hello from the Bedrock stand-in"):
        return ("bad", f"stream without finish_reason or content: {text[:300]!r}")
    return ("ok",)


class Client:
    """One worker's keep-alive connection to the gateway."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def call(self, body, stream):
        """(verdict, elapsed seconds)."""
        t = time.monotonic()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
            self.conn.request("POST", PATH, body=body, headers=headers())
            r = self.conn.getresponse()
            data = r.read()
            verdict = judge(r.status, r.getheader("content-type", ""), data, stream)
            if r.will_close:
                self.close()
        except Exception as e:  # timeouts, resets, broken framing: never expected
            self.close()
            verdict = ("bad", f"client: {type(e).__name__}: {e}")
        return verdict, time.monotonic() - t

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# ---------------------------------------------------------------- load and sampling

def load(port, results):
    """Open-loop: a dispatcher queues request i at t0 + i/RATE; WORKERS threads send them."""
    todo = queue.Queue()

    def worker():
        client = Client(port)
        while True:
            item = todo.get()
            if item is None:
                client.close()
                return
            i, due = item
            started = time.monotonic()
            stream, model, body = request_of(i)
            verdict, elapsed = client.call(body, stream)
            results[i] = {"i": i, "stream": stream, "model": model, "late": started - due,
                          "elapsed": elapsed, "end": started + elapsed, "verdict": verdict}

    threads = [threading.Thread(target=worker, daemon=True, name=f"w{n}") for n in range(WORKERS)]
    for t in threads:
        t.start()
    t0 = time.monotonic()
    total = int(SECONDS * RATE)
    for i in range(total):
        due = t0 + i / RATE
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        todo.put((i, due))
    for _ in threads:
        todo.put(None)
    for t in threads:
        t.join(timeout=TIMEOUT + 30)
    return t0, total


def sample_rss(pid, samples, stop_evt):
    while not stop_evt.wait(1.0):
        try:
            kb = harness.vm_rss_kb(pid)
        except OSError:
            return
        samples.append((time.monotonic(), kb))


# ---------------------------------------------------------------- reconciliation

def reconcile(results, sent, records):
    """Match every sent request with the stand-in's record; classify. Returns a summary dict."""
    seen = collections.defaultdict(list)
    stray = 0
    for rec in records:
        m = TAG.search(rec.get("body") or "")
        if m:
            seen[int(m.group(1))].append(rec)
        else:
            stray += 1
    classes = collections.Counter()
    faults = collections.Counter()
    outcome_by_fault = collections.Counter()
    unexpected = []
    for i in range(sent):
        r = results.get(i)
        recs = seen.get(i, [])
        fault = recs[0].get("injected_fault") if len(recs) == 1 else None
        if fault:
            faults[fault] += 1
        problem = None
        if r is None:
            problem = "no answer recorded (worker did not finish)"
            v = ("bad", problem)
        else:
            v = tuple(r["verdict"])
        if problem:
            pass
        elif len(recs) > 1:
            problem = f"the stand-in saw this request {len(recs)} times"
        elif r["elapsed"] > TIMEOUT:
            problem = f"took {r['elapsed']:.1f} s"
        elif v[0] == "bad":
            problem = v[1]
        elif not recs:
            problem = f"never reached the stand-in, yet answered {v}"
        elif fault is None:
            if v != ("ok",):
                problem = f"no fault injected, yet answered {v}"
        elif fault == "stream_throttling":
            if not (v[0] == "stream_error" and "throttlingException" in v[1]):
                problem = f"{fault} injected, answered {v}"
        elif v[:4] != EXPECTED_ERRORS[fault]:
            problem = f"{fault} injected, answered {v}, expected {EXPECTED_ERRORS[fault]}"
        if problem:
            classes["unexpected"] += 1
            unexpected.append({"i": i, "stream": r and r["stream"], "model": r and r["model"],
                               "fault": fault, "problem": problem})
        elif fault:
            classes["expected error"] += 1
            outcome_by_fault[fault] += 1
        else:
            classes["success"] += 1
    injected_total = sum(1 for rec in records if rec.get("injected_fault"))
    return {"classes": dict(classes), "faults": dict(faults), "expected_by_fault": dict(outcome_by_fault),
            "unexpected": unexpected, "records": len(records), "stray_records": stray,
            "injected_total": injected_total}


def rss_summary(samples, t0, t_end):
    run_s = t_end - t0
    warm = min(60.0, 0.1 * run_s)
    base_win = min(60.0, 0.1 * run_s)
    after = [(t - t0, kb) for t, kb in samples if t - t0 >= warm and t <= t_end]
    base = [kb for t, kb in after if t < warm + base_win]
    if not after or not base:
        return None
    baseline = statistics.median(base)
    devs = [(kb - baseline) / baseline * 100 for _, kb in after]
    worst = max(devs, key=abs)
    return {"warmup_s": warm, "baseline_window_s": base_win, "samples": len(samples),
            "baseline_kb": baseline, "max_kb": max(kb for _, kb in after),
            "min_kb": min(kb for _, kb in after), "final_kb": after[-1][1],
            "start_kb": samples[0][1], "max_dev_pct": worst,
            "max_up_pct": max(devs), "max_down_pct": min(devs),
            "final_dev_pct": (after[-1][1] - baseline) / baseline * 100,
            "series": [(round(t, 1), kb) for t, kb in [(t - t0, kb) for t, kb in samples]]}


# ---------------------------------------------------------------- report

def quantile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] if xs else float("nan")


def mib(kb):
    return f"{kb / 1024:.1f} MiB"


def section(S):
    L = []
    w = L.append
    rec, rss, crit = S["reconcile"], S["rss"], S["criteria"]
    w("## Soak\n")
    w(f"Generated by `make soak` (bench/soak.py) on {S['date']}. Re-run `make soak` to refresh "
      "this section; `make bench` owns the rest of the file.\n")
    w(f"Setup: {S['seconds']:.0f} s of open-loop load at {S['rate']:g} req/s requested, "
      f"{S['workers']} client threads with keep-alive connections, 50/50 streaming and "
      f"non-streaming over {', '.join(f'`{m}`' for m in MODELS)}; Envoy `--concurrency "
      f"{ENVOY_CONCURRENCY}` in front of the Bedrock stand-in with `--fault-rate {S['fault_rate']:g} "
      f"--seed {S['seed']}`. Machine: {S['machine']['cpus']} CPUs, load average "
      f"{'/'.join(f'{x:.2f}' for x in S['load_before'])} before, "
      f"{'/'.join(f'{x:.2f}' for x in S['load_after'])} after (the machine is shared). Filter: "
      f"`{S['wasm']}` built {S['wasm_mtime']}, sha256 `{S['wasm_sha256'][:16]}…`, tree at {S['git_head']} "
      "(copied before the start, so a rebuild during the run changes nothing).\n")
    w("| criterion | measured | result |")
    w("|---|---|---|")
    for c in crit:
        w(f"| {c['name']} | {c['measured']} | {'pass' if c['ok'] else '**FAIL**'} |")
    w("")
    w(f"Load: {S['sent']:,} requests sent in {S['load_s']:.1f} s, {S['completed']:,} answered: "
      f"**{S['achieved_rate']:.2f} req/s** achieved. Start lateness vs. schedule p50 "
      f"{S['late_p50'] * 1000:.1f} ms, p99 {S['late_p99'] * 1000:.1f} ms, max {S['late_max'] * 1000:.0f} ms. "
      f"Latency p50 {S['lat_p50'] * 1000:.1f} ms, p99 {S['lat_p99'] * 1000:.1f} ms, "
      f"max {S['lat_max'] * 1000:.0f} ms.\n")
    w("| class | requests |")
    w("|---|---|")
    for k in ("success", "expected error", "unexpected"):
        w(f"| {k} | {rec['classes'].get(k, 0):,} |")
    w("")
    w(f"Injected faults (stand-in records: {rec['injected_total']} of {rec['records']:,} upstream "
      f"calls, {rec['injected_total'] / max(1, rec['records']) * 100:.2f} %):\n")
    w("| kind | injected | answered as expected | gateway's answer |")
    w("|---|---|---|---|")
    shapes = {"throttling": "429 `rate_limit_error`", "internal": "500 `api_error` `internal_error`",
              "reset": "503 `api_error` `upstream_unavailable`",
              "stream_throttling": "200 stream, in-stream error event + `[DONE]`"}
    for k in ("throttling", "internal", "reset", "stream_throttling"):
        w(f"| {k} | {rec['faults'].get(k, 0)} | {rec['expected_by_fault'].get(k, 0)} | {shapes[k]} |")
    w("")
    n_unexp = len(rec["unexpected"])
    w(f"Unexpected answers: {n_unexp} (0 expected).")
    for u in rec["unexpected"][:5]:
        w(f"- request {u['i']} ({'stream' if u['stream'] else 'non-stream'}, {u['model']}, "
          f"fault {u['fault']}): {u['problem'][:300]}")
    w("")
    if rss:
        w(f"Envoy VmRSS (sampled every second, {rss['samples']} samples): {mib(rss['start_kb'])} at start; "
          f"warm-up {rss['warmup_s']:.0f} s; baseline (median of the next {rss['baseline_window_s']:.0f} s) "
          f"**{mib(rss['baseline_kb'])}**; after warm-up min {mib(rss['min_kb'])}, max {mib(rss['max_kb'])}, "
          f"final {mib(rss['final_kb'])}; largest deviation from the baseline "
          f"**{rss['max_dev_pct']:+.2f} %** (final {rss['final_dev_pct']:+.2f} %).\n")
    w("Raw figures (including the RSS series): `bench/out/soak.json`. Knobs: `SOAK_SECONDS`, "
      "`SOAK_RATE`, `SOAK_FAULT_RATE`, `SOAK_SEED`, `SOAK_WORKERS`, `SOAK_TIMEOUT`, `SOAK_RSS_PCT`.")
    return "\n".join(L)


def write_section(text):
    """Replace the soak block of bench/RESULTS.md (or append it), keeping everything else."""
    try:
        with open(RESULTS) as f:
            old = f.read()
    except FileNotFoundError:
        old = ""
    block = f"{START}\n{text}\n{END}"
    a, b = old.find(START), old.find(END)
    if a != -1 and b > a:
        new = old[:a] + block + old[b + len(END):]
    else:
        new = (old.rstrip("\n") + "\n\n" if old.strip() else "") + block + "\n"
    with open(RESULTS, "w") as f:
        f.write(new)


# ---------------------------------------------------------------- main

def git_head():
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "src", "Cargo.toml",
                                "Cargo.lock"], capture_output=True, text=True, timeout=10).stdout.strip()
        return head + (" (src/ has uncommitted changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def start_processes():
    standin_port, port, admin = harness.free_port(), harness.free_port(), harness.free_port()
    standin = harness.spawn("soak-standin", [sys.executable, "-m", "standin", "--host", "127.0.0.1",
                                           "--port", str(standin_port), "--fault-rate", str(FAULT_RATE),
                                           "--seed", str(SEED)],
                          env={"PYTHONPATH": TESTS, "PYTHONUNBUFFERED": "1"}, cwd=TESTS)
    harness.wait_ready(standin, standin_port, "/_standin/health", "stand-in", timeout=30)
    gateway = harness.spawn("soak-gateway", [sys.executable, "-c", LAUNCHER, os.path.dirname(harness.GATEWAY_PY),
                                           PINNED_WASM, "--log-level", "warning",
                                           "--log-path", os.path.join(OUT, "soak-envoy.log"),
                                           "--access-log-path", os.path.join(OUT, "soak-access.log"),
                                           "--concurrency", str(ENVOY_CONCURRENCY)],
                          env={"GATEWAY_PORT": str(port), "ADMIN_PORT": str(admin),
                               "PROJECT_API_KEYS": f"soak={PROJECT_KEY}",
                               "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": f"http://127.0.0.1:{standin_port}"})
    harness.wait_ready(gateway, admin, "/ready", "gateway", timeout=60)
    with open(f"/proc/{gateway.pid}/comm") as f:
        comm = f.read().strip()
    if comm != "envoy":
        raise RuntimeError(f"pid {gateway.pid} is {comm!r}, not envoy")
    return standin, standin_port, gateway, port


def main():
    if not os.path.isfile(WASM):
        say(f"{WASM} missing: run `make wasm`")
        return 2
    if SECONDS <= 0 or RATE <= 0 or not 0 <= FAULT_RATE <= 1:
        say("SOAK_SECONDS and SOAK_RATE must be > 0, SOAK_FAULT_RATE within [0, 1]")
        return 2
    os.makedirs(OUT, exist_ok=True)
    shutil.copyfile(WASM, PINNED_WASM)
    with open(PINNED_WASM, "rb") as f:
        wasm_sha = hashlib.sha256(f.read()).hexdigest()
    wasm_mtime = datetime.datetime.fromtimestamp(os.path.getmtime(WASM), datetime.timezone.utc)
    head = git_head()
    signal.signal(signal.SIGTERM, harness.on_signal)
    signal.signal(signal.SIGINT, harness.on_signal)
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load_before = os.getloadavg()
    try:
        standin, standin_port, gateway, port = start_processes()
    except (RuntimeError, OSError) as e:
        say(f"could not start: {e}")
        return 2
    say(f"{SECONDS:.0f} s at {RATE:g} req/s, fault rate {FAULT_RATE:g} (seed {SEED}); "
        f"envoy pid {gateway.pid}, gateway :{port}, stand-in :{standin_port}")

    results, samples, stop_evt = {}, [], threading.Event()
    samples.append((time.monotonic(), harness.vm_rss_kb(gateway.pid)))
    sampler = threading.Thread(target=sample_rss, args=(gateway.pid, samples, stop_evt), daemon=True)
    sampler.start()

    def progress():
        while not stop_evt.wait(30):
            done = list(results.values())
            bad = sum(1 for r in done if r["verdict"][0] == "bad")
            say(f"{len(done):,} answered, {bad} client-side bad; envoy RSS {mib(samples[-1][1])}; "
                f"load {os.getloadavg()[0]:.2f}")
    threading.Thread(target=progress, daemon=True).start()

    t0, sent = load(port, results)
    t_end = time.monotonic()
    samples.append((t_end, harness.vm_rss_kb(gateway.pid)))
    stop_evt.set()
    if gateway.poll() is not None:
        say(f"Envoy exited with {gateway.returncode} during the run")
    status, _, body = harness.request(standin_port, "GET", "/_standin/requests", timeout=300)
    records = json.loads(body) if status == 200 else []
    load_after = os.getloadavg()
    harness.stop_all()

    rec = reconcile(results, sent, records)
    rss = rss_summary(samples, t0, t_end)
    done = list(results.values())
    completed = len(done)
    load_s = max((r["end"] for r in done), default=t_end) - t0
    achieved = completed / load_s if load_s > 0 else 0.0
    n_unexp = len(rec["unexpected"])
    S = {"date": date, "wasm": os.path.relpath(WASM, ROOT), "wasm_sha256": wasm_sha,
         "wasm_mtime": wasm_mtime.strftime("%Y-%m-%d %H:%M:%S UTC"), "git_head": head,
         "seconds": SECONDS, "rate": RATE, "fault_rate": FAULT_RATE, "seed": SEED,
         "workers": WORKERS, "machine": harness.machine(), "load_before": load_before,
         "load_after": load_after, "sent": sent, "completed": completed, "load_s": load_s,
         "achieved_rate": achieved,
         "late_p50": quantile([r["late"] for r in done], 0.5), "late_p99": quantile([r["late"] for r in done], 0.99),
         "late_max": max((r["late"] for r in done), default=0.0),
         "lat_p50": quantile([r["elapsed"] for r in done], 0.5),
         "lat_p99": quantile([r["elapsed"] for r in done], 0.99),
         "lat_max": max((r["elapsed"] for r in done), default=0.0),
         "reconcile": rec, "rss": rss, "envoy_exit": gateway.returncode}
    S["criteria"] = [
        {"name": "unexpected answers = 0", "measured": f"{n_unexp}", "ok": n_unexp == 0 and sent > 0},
        {"name": f"Envoy RSS within {RSS_PCT:g} % of the post-warm-up baseline",
         "measured": (f"{rss['max_dev_pct']:+.2f} % (baseline {mib(rss['baseline_kb'])}, max {mib(rss['max_kb'])})"
                      if rss else "no samples"),
         "ok": bool(rss) and abs(rss["max_dev_pct"]) <= RSS_PCT},
        {"name": f"rate held (≥ {MIN_RATE_SHARE:.0%} of {RATE:g} req/s)",
         "measured": f"{achieved:.2f} req/s",
         "ok": achieved >= MIN_RATE_SHARE * RATE * min(1.0, sent / max(1, int(SECONDS * RATE)))},
    ]
    with open(os.path.join(OUT, "soak.json"), "w") as f:
        json.dump(S, f, indent=1, default=str)
    text = section(S)
    write_section(text)
    print(text)
    ok = all(c["ok"] for c in S["criteria"])
    say(f"{'PASS' if ok else 'FAIL'}; wrote the Soak section of bench/RESULTS.md")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        harness.stop_all()
