"""The dynamic modules `make native-dist` builds to ship (target/dist/): one per architecture,
each needing nothing newer than glibc 2.17 and no libgcc_s.so.1 (Envoy's distroless images
have none), exporting and importing exactly what the tested build does; the x86_64 one
serves requests in the Envoy the tests run.

The aarch64 module is checked on the file only: this machine runs no aarch64 Envoy.
"""

import argparse
import hashlib
import os
import re
import subprocess
import sys

import pytest
import requests
import yaml

from e2e.conftest import NATIVE, ROOT, Gateway, free_port, http_get, stop, wait_until
from e2e.helpers import CLAUDE, chat_body, post
from e2e.keys import PROJECT_API_KEYS, PROJECT_KEY_ALPHA, aws_headers
from e2e.test_native_symbols import ENVOY, dynamic_symbols

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import gateway  # noqa: E402

pytestmark = pytest.mark.build_independent

DIST = os.path.join(ROOT, "target", "dist")
ARCHES = {"x86_64": "Advanced Micro Devices X86-64", "aarch64": "AArch64"}
GLIBC_FLOOR = (2, 17)  # docs/native.md; scripts/native-dist.sh builds for it
# Every library a shipped module may need: glibc's own.
GLIBC_LIBRARIES = {"libc.so.6", "libdl.so.2", "libpthread.so.0", "libm.so.6", "librt.so.1",
                   "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"}


def module(arch):
    path = os.path.join(DIST, f"libbedrock_openai_filter-{arch}-linux-gnu.so")
    if not os.path.isfile(path):
        pytest.fail(f"{path} missing: run `make native-dist` (make test does)")
    return path


def readelf(*args):
    return subprocess.run(["readelf", "-W", *args], capture_output=True, text=True, check=True).stdout


def needs(path):
    """{library: {version names}} of the module's version needs, and its NEEDED libraries."""
    versions, current = {}, None
    for line in readelf("-V", path).splitlines():
        if m := re.search(r"File: (\S+)", line):
            current = versions.setdefault(m.group(1), set())
        elif (m := re.search(r"Name: (\S+)", line)) and current is not None:
            current.add(m.group(1))
    needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", readelf("-d", path)))
    return versions, needed


@pytest.mark.parametrize("arch", ARCHES)
def test_glibc_floor_and_libraries(arch):
    path = module(arch)
    assert ARCHES[arch] in readelf("-h", path)
    versions, needed = needs(path)
    assert needed <= GLIBC_LIBRARIES, f"{arch} needs {needed - GLIBC_LIBRARIES}"
    assert "libgcc_s.so.1" not in needed
    glibc = {tuple(int(x) for x in name[len("GLIBC_"):].split("."))
             for names in versions.values() for name in names if name.startswith("GLIBC_")}
    assert glibc and max(glibc) <= GLIBC_FLOOR, f"{arch} needs glibc {max(glibc)}"
    assert {name for names in versions.values() for name in names} <= {f"GLIBC_{'.'.join(map(str, v))}"
                                                                       for v in glibc}
    assert "NOW" in readelf("-d", path)  # -z now, as the tested build


@pytest.mark.parametrize("arch", ARCHES)
def test_same_symbols_as_the_tested_build(arch):
    if not os.path.isfile(NATIVE):
        pytest.fail(f"{NATIVE} missing: run `make native` (make test does)")
    dist = {s for s in readelf("--dyn-syms", module(arch)).split() if s.startswith("envoy_dynamic_module_")}
    tested = {s for s in readelf("--dyn-syms", NATIVE).split() if s.startswith("envoy_dynamic_module_")}
    assert dist == tested


def test_sums_are_the_files():
    with open(os.path.join(DIST, "SHA256SUMS")) as f:
        sums = dict(reversed(line.split()) for line in f if line.strip())
    assert set(sums) == {os.path.basename(module(a)) for a in ARCHES}
    for name, digest in sums.items():
        with open(os.path.join(DIST, name), "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == digest, name


@pytest.fixture(scope="module")
def dist_gateway(standin, tmp_path_factory):
    """Envoy with the shipped x86_64 module, as the launcher renders it."""
    so = module("x86_64")
    assert dynamic_symbols(so, "--defined-only")  # readable by this machine's nm
    work = tmp_path_factory.mktemp("dist-gateway")
    port, admin = free_port(), free_port()
    env = {"GATEWAY_FILTER": "native", "GATEWAY_PORT": str(port), "ADMIN_PORT": str(admin),
           "PROJECT_API_KEYS": PROJECT_API_KEYS, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": standin.url}
    with open(gateway.ENVOY_YAML, encoding="utf-8") as f:
        cfg = gateway.render(f.read(), env, argparse.Namespace(access_log_path=os.devnull), wasm=gateway.WASM,
                             native=so, read_file=gateway.read_text)
    path = work / "envoy.yaml"
    path.write_text(yaml.safe_dump(cfg))
    log = str(work / "envoy.log")
    proc = subprocess.Popen([ENVOY, "-c", str(path), "--disable-hot-restart", "--concurrency", "1",
                             "--log-path", log, "--file-flush-interval-msec", "100"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    g = Gateway(port, admin, proc, log)
    wait_until(proc, lambda: http_get(f"{g.admin_url}/ready") == (200, "LIVE\n"), "dist gateway", log)
    yield g
    stop(proc)


def test_the_shipped_x86_64_module_serves(dist_gateway):
    h = {"Project-Api-Key": PROJECT_KEY_ALPHA, "Content-Type": "application/json", **aws_headers()}
    r = post(dist_gateway, chat_body(), headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["object"] == "chat.completion"
    r = post(dist_gateway, chat_body(stream=True), headers=h)
    assert r.status_code == 200 and r.text.rstrip().endswith("data: [DONE]"), r.text
    r = requests.get(f"{dist_gateway.base_url}/models", headers=h, timeout=30)
    assert r.status_code == 200
    r = post(dist_gateway, {"model": CLAUDE, "input": "Hello!"}, path="/v1/amazon-bedrock/responses", headers=h)
    assert r.status_code == 200 and r.json()["object"] == "response", r.text
    wait_until(dist_gateway.proc, lambda: "ABI version v0.2.0 matched" in open(dist_gateway.log_path).read(),
               "the module's load in Envoy's log", dist_gateway.log_path)
