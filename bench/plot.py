#!/usr/bin/env python3
"""bench/results.png from bench/out/results.json (run by bench/run.py in bench/.venvs/plot).

    python bench/plot.py results.json results.png
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ORDER = ["upstream", "bare", "floor", "filter", "native", "litellm", "bag"]
LABEL = {"upstream": "fast upstream\n(ceiling)", "bare": "bare Envoy",
         "floor": "Envoy + floor\n(bodies only)", "filter": "Envoy +\nfilter (.wasm)",
         "native": "Envoy +\nfilter (.so)",
         "litellm": "LiteLLM", "bag": "bedrock-access-\ngateway"}


def main(src, dst):
    with open(src) as f:
        R = json.load(f)
    load = {k: v for k, v in R["load"].items() if "rps" in v}
    concs = sorted({int(k.split("/")[1]) for k in load})
    cases = [c for c in ORDER if any(f"{c}/{n}" in load for n in concs)]

    streams = (R.get("streams") or {}).get("summary")
    fig, axes = plt.subplots(3 if streams else 2, 2, figsize=(14, 15 if streams else 10))
    axes = axes.flatten()

    # throughput
    ax = axes[0]
    width = 0.8 / max(1, len(concs))
    for i, n in enumerate(concs):
        xs = [j + i * width for j in range(len(cases))]
        ys = [load.get(f"{c}/{n}", {}).get("rps", 0) for c in cases]
        ax.bar(xs, ys, width, label=f"c={n}")
        for x, y in zip(xs, ys, strict=True):
            if y:
                ax.text(x, y, f"{y:,.0f}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks([j + width * (len(concs) - 1) / 2 for j in range(len(cases))])
    ax.set_xticklabels([LABEL[c] for c in cases], fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("requests/s (log)")
    ax.set_title("Throughput (non-streaming)")
    ax.legend()

    # latency percentiles
    ax = axes[1]
    qs = ["50", "90", "99"]
    markers = {"50": "o", "90": "s", "99": "^"}
    for i, n in enumerate(concs):
        for q in qs:
            xs, ys = [], []
            for j, c in enumerate(cases):
                r = load.get(f"{c}/{n}")
                if r:
                    xs.append(j + (i - 0.5 * (len(concs) - 1)) * 0.25)
                    ys.append(r["latency_us"][q] / 1000)
            ax.scatter(xs, ys, marker=markers[q], color=f"C{i}", label=f"c={n} p{q}")
    ax.set_xticks(range(len(cases)))
    ax.set_xticklabels([LABEL[c] for c in cases], fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("latency, ms (log)")
    ax.set_title("Latency percentiles (p50 ●, p90 ■, p99 ▲)")
    ax.legend(fontsize=7, ncol=2)

    # first byte
    ax = axes[2]
    if "ttfb" in R:
        names = list(R["ttfb"])
        ax.boxplot([R["ttfb"][n] for n in names], whis=(1, 99), showfliers=False)
        ax.set_xticks(range(1, len(names) + 1))
        ax.set_xticklabels(names, fontsize=8)
        ax.set_ylabel("µs")
        ax.set_title("Streaming: upstream's first event → client's first byte (box p25–p75, whiskers p1–p99)")
    else:
        ax.set_axis_off()

    # RSS
    ax = axes[3]
    if "rss" in R:
        for name, r in R["rss"].items():
            if "samples" in r:
                ax.plot([s[0] for s in r["samples"]], [s[1] / 1024 for s in r["samples"]],
                        label=f"{name} ({r['bytes'] / 2**20:.0f} MiB to the client)")
        ax.set_xlabel("seconds")
        ax.set_ylabel("Envoy VmRSS, MiB")
        ax.set_ylim(bottom=0)
        ax.set_title("Envoy memory while one client streams a 50 MiB answer")
        ax.legend()
    else:
        ax.set_axis_off()

    if streams:
        plot_streams(axes[4], axes[5], R["streams"])

    fig.suptitle(f"Bedrock gateway benchmark, {R['date']} "
                 f"({R['machine']['cpus']} CPUs shared by load generator, gateway and upstream)")
    fig.tight_layout()
    fig.savefig(dst, dpi=100)


STREAM_CASES = [("bare", "bare Envoy"), ("floor", "Envoy + floor (host calls only)"),
                ("filter", "Envoy + filter (.wasm)"), ("native", "Envoy + filter (.so)")]


def plot_streams(ax_cost, ax_delay, S):
    """The many-streams part: memory and CPU per open stream and chunk, and each chunk's delay, by N."""
    ns = [n for n in S["ns"] if str(n) in S["summary"]]
    width = 0.8 / len(STREAM_CASES)
    for i, (case, label) in enumerate(STREAM_CASES):
        xs, cpu, mem = [], [], []
        for j, n in enumerate(ns):
            r = S["summary"][str(n)].get(case)
            if r and "error" not in r and r.get("cpu_per_chunk_us") is not None:
                xs.append(j + (i - (len(STREAM_CASES) - 1) / 2) * width)
                cpu.append(r["cpu_per_chunk_us"])
                mem.append((r.get("heap_per_stream_kb") or 0) + (r.get("wasm_per_stream_kb") or 0))
        if not xs:
            continue
        bars = ax_cost.bar(xs, cpu, width, label=label, color=f"C{i}")
        for bar, m in zip(bars, mem, strict=True):
            ax_cost.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), f"{m:.0f} KiB",
                         ha="center", va="bottom", fontsize=7)
    ax_cost.set_xticks(range(len(ns)))
    ax_cost.set_xticklabels([f"{n:,} streams" for n in ns])
    ax_cost.set_ylabel("Envoy CPU per delivered chunk, µs")
    ax_cost.set_title(f"Many {S['seconds']:g} s streams at once: CPU per chunk (bars), "
                      "memory per open stream (labels: heap + wasm)", fontsize=9)
    ax_cost.legend(fontsize=8)

    markers = {"50": "o", "99": "^"}
    for i, (case, label) in enumerate(STREAM_CASES):
        for q, marker in markers.items():
            xs, ys = [], []
            for j, n in enumerate(ns):
                r = S["summary"][str(n)].get(case)
                if r and "error" not in r and r["delay_us"].get(q) is not None:
                    xs.append(j + (i - (len(STREAM_CASES) - 1) / 2) * 0.2)
                    ys.append(r["delay_us"][q] / 1000)
            if xs:
                ax_delay.plot(xs, ys, marker=marker, linestyle="" if q == "50" else ":", color=f"C{i}",
                              label=f"{label} p{q}")
    ax_delay.set_xticks(range(len(ns)))
    ax_delay.set_xticklabels([f"{n:,} streams" for n in ns])
    ax_delay.set_ylabel("upstream write → client socket, ms")
    ax_delay.set_ylim(bottom=0)
    ax_delay.set_title("Many streams: each chunk's delay (p50 ●, p99 ▲)", fontsize=9)
    ax_delay.legend(fontsize=7, ncol=2)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
