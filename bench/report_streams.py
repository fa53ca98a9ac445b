"""The "Many long streams" section of bench/RESULTS.md (between its markers) and its targets, from the
`streams` part's typed results; and the update of that section alone when only that part ran.
"""

import os

from config import RESULTS_MD
from results import Failed, StreamsSummary

STREAMS_START, STREAMS_END = "<!-- streams:start -->", "<!-- streams:end -->"
CASES = ("bare", "floor", "filter", "native")
# The native filter's CPU per streamed chunk, at most this many times bare Envoy's (issue #25); the .wasm's
# target stays 2×.
NATIVE_CPU_PER_CHUNK = 1.3


def fmt_kib(kb, signed=False):
    return "—" if kb is None else (f"{kb:+.1f} KiB" if signed else f"{kb:.1f} KiB")


def measured(x):
    """Whether a summary entry has figures (neither absent nor Failed)."""
    return isinstance(x, StreamsSummary)


def streams_targets(S):
    """[(target, N, case, bare, ratio or difference, PASS/MISS)] of the `streams` part: the .wasm's, then the
    native filter's."""
    rows = []
    for n in S.ns:
        f, b = S.case(n, "filter"), S.case(n, "bare")
        if not measured(f) or not measured(b):
            why = next((x.error for x in (f, b) if isinstance(x, Failed)), "not run")
            rows.append(("all four", n, "—", "—", "—", f"not measured: {why[:120]}"))
            continue
        fm, bm = f.memory_kb(), b.memory_kb()
        if fm is not None and bm is not None:
            rows.append(("memory per open stream ≤ bare Envoy's + 8 KiB (Envoy heap + wasm memory)", n,
                         fmt_kib(fm), fmt_kib(bm),
                         f"{fm - bm:+.1f} KiB (RSS: {f.rss_per_stream_kb:.1f} vs "
                         f"{b.rss_per_stream_kb:.1f} KiB, {f.rss_per_stream_kb - b.rss_per_stream_kb:+.1f})",
                         "PASS" if fm <= bm + 8 else "MISS"))
        fc, bc = f.cpu_per_chunk_us, b.cpu_per_chunk_us
        rows.append(("Envoy CPU per chunk ≤ 2× bare Envoy's", n, f"{fc:.1f} µs", f"{bc:.1f} µs",
                     f"{fc / bc:.2f}×", "PASS" if fc <= 2 * bc else "MISS"))
        quiet = min(f.quiet_share, b.quiet_share) >= 0.5 and f.quiet_delay_us.p99 is not None
        which = "steal-free" if quiet else "all chunks"
        fd, bd = (f.quiet_delay_us, b.quiet_delay_us) if quiet else (f.delay_us, b.delay_us)
        added = fd.p99 - bd.p99
        every = f.delay_us.p99 - b.delay_us.p99
        rows.append((f"p99 added delay per chunk ≤ 1 ms ({which})", n, f"p99 {fd.p99:.0f} µs",
                     f"p99 {bd.p99:.0f} µs",
                     f"{added:+.0f} µs (p50 {fd.p50 - bd.p50:+.0f} µs"
                     + (f"; all chunks: p99 {every:+.0f} µs)" if quiet else ")"),
                     "PASS" if added <= 1000 else "MISS"))
        rows.append(("0 errors", n, f"{f.errors}", f"{b.errors}", "",
                     "PASS" if f.errors == 0 and b.errors == 0 else "MISS"))
    return rows + native_streams_targets(S)


def native_streams_targets(S):
    """The native filter's rows: memory per stream (information), CPU per chunk ≤ 1.3× bare, p99 added delay,
    errors."""
    rows = []
    for n in S.ns:
        x, b = S.case(n, "native"), S.case(n, "bare")
        if x is None:
            continue
        if not measured(x) or not measured(b):
            why = next((y.error for y in (x, b) if isinstance(y, Failed)), "not run")
            rows.append(("native: all", n, "—", "—", "—", f"not measured: {why[:120]}"))
            continue
        xm, bm = x.memory_kb(), b.memory_kb()
        if xm is not None and bm is not None:
            rows.append(("native: memory per open stream (Envoy heap; the module allocates from it)", n,
                         fmt_kib(xm), fmt_kib(bm),
                         f"{xm - bm:+.1f} KiB (RSS: {x.rss_per_stream_kb:.1f} vs {b.rss_per_stream_kb:.1f} KiB)",
                         "info"))
        xc, bc = x.cpu_per_chunk_us, b.cpu_per_chunk_us
        rows.append((f"native: Envoy CPU per chunk ≤ {NATIVE_CPU_PER_CHUNK:g}× bare Envoy's", n, f"{xc:.1f} µs",
                     f"{bc:.1f} µs", f"{xc / bc:.2f}×", "PASS" if xc <= NATIVE_CPU_PER_CHUNK * bc else "MISS"))
        quiet = min(x.quiet_share, b.quiet_share) >= 0.5 and x.quiet_delay_us.p99 is not None
        xd, bd = (x.quiet_delay_us, b.quiet_delay_us) if quiet else (x.delay_us, b.delay_us)
        rows.append((f"native: p99 added delay per chunk ≤ 1 ms ({'steal-free' if quiet else 'all chunks'})", n,
                     f"p99 {xd.p99:.0f} µs", f"p99 {bd.p99:.0f} µs",
                     f"{xd.p99 - bd.p99:+.0f} µs (p50 {xd.p50 - bd.p50:+.0f} µs)",
                     "PASS" if xd.p99 - bd.p99 <= 1000 else "MISS"))
        rows.append(("native: 0 errors", n, f"{x.errors}", f"{b.errors}", "",
                     "PASS" if x.errors == 0 and b.errors == 0 else "MISS"))
    return rows


def report_streams(S, s):
    """The "Many long streams" section (between its markers), as lines, from the StreamsPart S."""
    L = [STREAMS_START]
    w = L.append
    lo, hi = S.gap_ms
    w("## Many long streams\n")
    w(f"What each open stream costs the proxy when it holds many long, slow ones (as a gateway in front of "
      f"Bedrock does): N streamed requests at once, each answered by bench/slow_upstream.py with a "
      f"ConverseStream `contentBlockDelta` every {lo:g}–{hi:g} ms (uniform, ~{2000 / (lo + hi):.0f} a second) "
      f"for {S.seconds:g} s, then `messageStop` and `metadata`. Bare Envoy proxies the already signed "
      f"Converse request and passes the event-stream bytes through; Envoy with the filter takes the OpenAI "
      f"request and turns each event into an SSE chunk (the `.wasm` as `filter`, the dynamic module as "
      f"`native`). Same upstream process, same client "
      f"(bench/many_streams.py: one epoll loop, one socket per stream, HTTP/1.1), a fresh Envoy for each "
      f"trial (`--concurrency {s.envoy_concurrency}`), bare, filter and native taking turns for each N"
      + (f", {S.rounds} rounds (medians)" if S.rounds > 1 else "") + ". The N connections open at "
      f"{S.open_rate} a second; each fresh Envoy first carries {S.warmup} short streams, then its idle "
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
    for n in S.ns:
        for case in CASES:
            x = S.case(n, case)
            if not x:
                continue
            if isinstance(x, Failed):
                w(f"| {n} | {case} | — | — | — | — | — | — | — | — | — | — | — | — | — | {x.error[:100]} | — |")
                continue
            d, qd = x.delay_us, x.quiet_delay_us
            quiet = (f"{qd.p50:.0f}, {qd.p99:.0f} µs ({x.quiet_share * 100:.0f} %)"
                     if qd.p99 is not None else "—")
            w(f"| {n:,} | {case} | {x.window_open_min:,} | {x.chunks_per_s:,.0f} | "
              f"{x.idle_rss_kb / 1024:.1f} → {x.steady_rss_kb / 1024:.1f} MiB | "
              f"{fmt_kib(x.rss_per_stream_kb)} | {fmt_kib(x.heap_per_stream_kb)} | "
              f"{fmt_kib(x.wasm_per_stream_kb) if case in ('floor', 'filter') else '—'} | "
              f"{x.envoy_cpu_pct:.0f} % | {x.cpu_per_chunk_us:.1f} µs | {d.p50:.0f} µs | "
              f"{d.p90:.0f} µs | {d.p99:.0f} µs | {d.p999:.0f} µs | {quiet} | {x.errors} | "
              f"{x.client_cpu_pct:.0f} %, {x.upstream_cpu_pct:.0f} % |")
    w("")
    examples = [f"{n} {case}: {e}" for n in S.ns for case in CASES
                for e in (S.case(n, case).error_examples if measured(S.case(n, case)) else [])]
    if examples:
        w("Errors seen: " + "; ".join(examples[:6]) + "\n")
    w("### Targets (each against bare Envoy in the same run)\n")
    w("| target | N | filter (or native) | bare Envoy | case − bare (or ÷) | result |")
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
    for n in S.ns:
        for case in CASES:
            x = S.case(n, case)
            if not measured(x):
                continue
            lag = x.read_lag_us
            w(f"| {n:,} | {case} | {x.worker_wait_ms_per_s:.1f} ms/s | {x.worker_wait_us_per_slice:.0f} µs | "
              f"{x.steal_pct:.2f} % | {x.softirqd_pct:.0f} % | {x.upstream_slow_writes} | {x.coalesced} | "
              f"{lag.p50:.0f} µs, {lag.p99:.0f} µs |")
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
    native_rows = streams_native(S)
    if native_rows:
        w("### The native filter beside the `.wasm`\n")
        w("`native` is the same filter built as an Envoy dynamic module (`make native`, docs/native.md), in the "
          "wasm filter's place: no V8, no wasm memory, the module's allocations come from Envoy's own heap "
          "(tcmalloc: the `.so` calls Envoy's `malloc`), so heap / stream is all it holds per stream.\n")
        w("| N | | bare Envoy | filter (.wasm) | native (.so) | native ÷ bare (or −) | native − filter |")
        w("|---|---|---|---|---|---|---|")
        for row in native_rows:
            w("| " + " | ".join(str(x) for x in row) + " |")
        w("")
    for note in [f"Skipped: {x}" for x in S.skipped or []]:
        w(note + "\n")
    w("Knobs: `BENCH_STREAMS` (N, comma-separated), `BENCH_STREAM_SECONDS`, `BENCH_STREAM_ROUNDS`; raw "
      "figures (every trial, its RSS samples and delay histogram): `bench/out/results.json` → `streams`.\n")
    w(STREAMS_END)
    return L


def streams_floor(S):
    """Rows bare / floor / filter for each N that has all three: memory, CPU per chunk, delay."""
    rows = []
    for n in S.ns:
        b, fl, f = (S.case(n, case) for case in ("bare", "floor", "filter"))
        if not all(measured(x) for x in (b, fl, f)):
            continue
        mem = [x.memory_kb() for x in (b, fl, f)]
        if None not in mem:
            rows.append((f"{n:,}", "memory / stream", *(fmt_kib(m) for m in mem),
                         fmt_kib(mem[1] - mem[0], True), fmt_kib(mem[2] - mem[1], True)))
        cpu = [x.cpu_per_chunk_us for x in (b, fl, f)]
        rows.append((f"{n:,}", "CPU / chunk", *(f"{x:.1f} µs" for x in cpu),
                     f"{cpu[1] - cpu[0]:+.1f} µs", f"{cpu[2] - cpu[1]:+.1f} µs"))
        for q in ("p50", "p99"):
            d = [getattr(x.delay_us, q) for x in (b, fl, f)]
            rows.append((f"{n:,}", f"delay {q}", *(f"{x:.0f} µs" for x in d),
                         f"{d[1] - d[0]:+.0f} µs", f"{d[2] - d[1]:+.0f} µs"))
    return rows


def streams_native(S):
    """Rows bare / filter / native for each N that has all three: memory, CPU per chunk, delay."""
    rows = []
    for n in S.ns:
        b, f, x = (S.case(n, case) for case in ("bare", "filter", "native"))
        if not all(measured(y) for y in (b, f, x)):
            continue
        mem = [y.memory_kb() for y in (b, f, x)]
        if None not in mem:
            rows.append((f"{n:,}", "memory / stream", *(fmt_kib(m) for m in mem),
                         fmt_kib(mem[2] - mem[0], True), fmt_kib(mem[2] - mem[1], True)))
        cpu = [y.cpu_per_chunk_us for y in (b, f, x)]
        rows.append((f"{n:,}", "CPU / chunk", *(f"{c:.1f} µs" for c in cpu),
                     f"{cpu[2] / cpu[0]:.2f}×", f"{cpu[2] - cpu[1]:+.1f} µs"))
        for q in ("p50", "p99"):
            d = [getattr(y.delay_us, q) for y in (b, f, x)]
            rows.append((f"{n:,}", f"delay {q}", *(f"{v:.0f} µs" for v in d),
                         f"{d[2] - d[0]:+.0f} µs", f"{d[2] - d[1]:+.0f} µs"))
    return rows


def old_streams_section(path):
    """The many-streams section of the RESULTS.md at `path`, markers included, or ""."""
    if not os.path.exists(path):
        return ""
    with open(path, encoding="utf-8") as f:
        old = f.read()
    start, end = old.find(STREAMS_START), old.find(STREAMS_END)
    return old[start:end + len(STREAMS_END)] if 0 <= start < end else ""


def update_streams_section(S, s):
    """Only the `streams` part ran: replace its section of RESULTS.md, leave the rest as it is."""
    new = "\n".join(report_streams(S, s))
    text = "# Benchmark results\n"
    if os.path.exists(RESULTS_MD):
        with open(RESULTS_MD, encoding="utf-8") as f:
            text = f.read()
    start, end = text.find(STREAMS_START), text.find(STREAMS_END)
    if 0 <= start < end:
        text = text[:start] + new + text[end + len(STREAMS_END):]
    else:  # before the size section, else before Reproduce, else before the soak section, else at the end
        at = next((i for i in (text.find("\n## Size"), text.find("\n## Reproduce"), text.find("\n<!-- soak:start"))
                   if i >= 0), len(text))
        text = text[:at] + "\n" + new + "\n" + text[at:]
    with open(RESULTS_MD, "w", encoding="utf-8") as f:
        f.write(text)
