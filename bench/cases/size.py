"""The `size` part: the .wasm before and after `wasm-opt -Oz` (and gzipped), and the optimized one
loaded in Envoy answering a request through the strict stand-in."""

import gzip
import json
import os
import subprocess

import tools
from cases.gateways import gateway_configs, start_envoy, start_standin, wasm_config
from config import CHAT_PATH, OPENAI_BODY, openai_headers
from harness import OUT, WASM, free_port, request, stop
from results import Size


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
    with open(opt, "rb") as f:
        gzipped = len(gzip.compress(f.read(), 9))
    return Size(before=os.path.getsize(WASM), after=os.path.getsize(opt), opt_path=opt, wasm_opt=version,
                argv=" ".join(os.path.basename(a) if os.path.isabs(a) else a for a in argv),
                after_gzip=gzipped)


def check_optimized(opt_path, concurrency):
    """Load the wasm-opt output in Envoy and send one request through it: "status 200", or the answer."""
    # Reuse the stand-in: the strict check that the optimized filter still signs right.
    standin, up_port = start_standin("opt-standin")
    port, admin = free_port(), free_port()
    cfg = gateway_configs(port, admin, up_port)[0]
    wasm_config(cfg)["vm_config"]["code"]["local"]["filename"] = opt_path
    gw = start_envoy("opt-filter", cfg, admin, concurrency)
    status, _, text = request(port, "POST", CHAT_PATH, json.dumps(OPENAI_BODY).encode(), openai_headers())
    stop(gw)
    stop(standin)
    return f"status {status}" + ("" if status == 200 else f" {text[:200]!r}")
