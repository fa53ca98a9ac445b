"""Process and HTTP helpers shared by bench/run.py (`make bench`) and bench/soak.py (`make soak`).

Every child is started in its own process group, logs to bench/out/<name>.log
and is remembered, so that stop_all() (also on SIGINT/SIGTERM, via on_signal)
can end it by its group id. Importing this module puts tests/ on sys.path, for
the stand-in's `standin` package.
"""

import http.client
import os
import platform
import signal
import socket
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
OUT = os.path.join(BENCH, "out")
TESTS = os.path.join(ROOT, "tests")
WASM = os.path.join(ROOT, "target", "wasm32-wasip1", "release", "bedrock_openai_filter.wasm")
NATIVE = os.path.join(ROOT, "target", "native", "libbedrock_openai_filter.so")  # `make native`
GATEWAY_PY = os.path.join(ROOT, "scripts", "gateway.py")
STEP_TIMEOUT = 120  # seconds: ceiling for any single wait

sys.path.insert(0, TESTS)
from standin.credentials import PERMANENT  # noqa: E402, F401  the stand-in's credentials, for callers

REGION = "us-east-1"  # of every request the benchmarks send


# ---------------------------------------------------------------- processes

CHILDREN = []


def spawn(name, argv, env=None, cwd=None, cpus=None, idle=False):
    """Start a child in its own process group, output to bench/out/<name>.log.

    cpus: a set of CPU numbers the child (and every thread it starts) may run
    on. idle: run it under SCHED_IDLE, for a load generator that must never
    take the CPU from the process it measures (any normal task that wakes up
    preempts it at once; it still gets every idle cycle).
    """
    log = open(os.path.join(OUT, f"{name}.log"), "w")

    def setup():
        if cpus:
            os.sched_setaffinity(0, cpus)
        if idle:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    proc = subprocess.Popen(argv, env=dict(os.environ, **(env or {})), cwd=cwd or ROOT,
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, preexec_fn=setup if cpus or idle else None)
    proc.bench_name = name
    CHILDREN.append(proc)
    return proc


def stop(proc):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        except ProcessLookupError:
            pass
    if proc in CHILDREN:
        CHILDREN.remove(proc)


def stop_all():
    for proc in list(CHILDREN):
        stop(proc)


def on_signal(signum, _frame):
    stop_all()
    sys.exit(128 + signum)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, body=b"", headers=None, timeout=30):
    """(status, headers dict, body bytes); (None, {}, error) if nothing answered."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    except OSError as e:
        return None, {}, str(e).encode()
    finally:
        conn.close()


def wait_ready(proc, port, path, what, timeout=STEP_TIMEOUT, ok=(200,)):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}; see {log_of(proc)}")
        status, _, _ = request(port, "GET", path, timeout=2)
        if status in ok:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} not ready after {timeout}s; see {log_of(proc)}")


def log_of(proc):
    return os.path.relpath(os.path.join(OUT, f"{proc.bench_name}.log"), ROOT)


def vm_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
            "load_before": os.getloadavg()}
