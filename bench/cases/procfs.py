"""What the `streams` part reads of the machine and of Envoy while streams run: /proc (CPU ticks, wasm
memories, steal, scheduler waits, ksoftirqd), Envoy's admin (heap, counters), and the steal-free delays.
"""

import array
import bisect
import json
import os
import re

from harness import request
from many_streams import quantile  # nearest rank, as the client reports its own delays
from results import Percentiles, Quiet, WasmMemory

TICK = os.sysconf("SC_CLK_TCK")
QUIET_MARGIN_NS = 300_000_000  # after a 100 ms interval with steal, how long its backlog may still delay chunks


def cpu_ticks(pid):
    """utime + stime of process `pid` (all its threads), in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wasm_memories_kb(pid):
    """[WasmMemory(size kB, resident kB)] of each wasm linear memory in Envoy's process.

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
    return [WasmMemory((m["end"] - m["start"]) // 1024, m["rss"])
            for m, nxt in zip(maps, maps[1:], strict=False)
            if m["perms"].startswith("rw") and nxt["perms"] == "---p" and m["end"] == nxt["start"]
            and nxt["end"] - nxt["start"] >= 4 << 30]


def steal_ticks():
    """CPU time the hypervisor took from this machine (all CPUs, /proc/stat), in clock ticks."""
    with open("/proc/stat") as f:
        return int(f.readline().split()[8])


def cpu_ns(pid):
    """CPU time of every thread of process `pid` (/proc/<pid>/task/*/schedstat), in ns: finer than
    cpu_ticks' clock ticks, for the few seconds of one load round."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total


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


def quiet_delays(path, steal):
    """Delay quantiles of the window's chunks read outside the moments the hypervisor stole CPU.

    path: the client's delays file (int64 pairs [monotonic ns, delay ns]),
    removed once read. steal: [(monotonic ns, steal ticks)] every 100 ms over
    the window. A chunk read during an interval whose steal counter moved, or
    within QUIET_MARGIN_NS after it, is left out.
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
    return Quiet(quiet_delay_us=Percentiles(*(quantile(kept, q) for q in (50.0, 90.0, 99.0, 99.9))),
                 quiet_chunks=len(kept), quiet_share=1 - lost / span if span else 1.0)


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
