"""Fixtures for end-to-end tests: the Bedrock stand-in and a real Envoy with the filter.

Both run as child processes on free ports picked at runtime and are killed at
the end of the session. Envoy's log goes to a file (gateway.log_text()).

GATEWAY_FILTER picks the build every gateway runs (the launcher reads it):
`wasm` (default) or `native` (the dynamic module). `make test` runs the suite
once per build; with `native`, the tests marked `build_independent` (they start
no gateway with the filter) and `wasm_only` (about the wasm build alone) are
deselected: they ran with the wasm build.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import openai
import pytest

# Tests import these from e2e.keys: project keys, aws_headers(), PERMANENT/TEMPORARY.
from e2e.keys import PROJECT_API_KEYS, PROJECT_KEY_ALPHA, aws_headers

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TESTS_DIR)
GATEWAY_PY = os.path.join(ROOT, "scripts", "gateway.py")
WASM = os.path.join(ROOT, "target", "wasm32-wasip1", "release", "bedrock_openai_filter.wasm")
NATIVE = os.path.join(ROOT, "target", "native", "libbedrock_openai_filter.so")
STARTUP_TIMEOUT = 30  # seconds

FILTER = os.environ.get("GATEWAY_FILTER", "").strip() or "wasm"
ARTIFACT = NATIVE if FILTER == "native" else WASM
# The HTTP filter that runs the bedrock filter in each build's Envoy config.
FILTER_NAMES = {"wasm": "envoy.filters.http.wasm", "native": "envoy.filters.http.dynamic_modules"}


def require_artifact():
    """Fail (not skip) when the build this run tests was not built."""
    if not os.path.isfile(ARTIFACT):
        pytest.fail(f"{ARTIFACT} missing: run `make {FILTER}` (make test does)")


def hcm_of(cfg):
    """The http_connection_manager of a rendered gateway config."""
    return cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]


def filter_index(hcm):
    """Where the bedrock filter (either build's) sits in hcm's http_filters."""
    (i,) = [i for i, f in enumerate(hcm["http_filters"]) if f["name"] in FILTER_NAMES.values()]
    return i


def plugin_configuration(cfg):
    """The typed StringValue holding the plugin configuration's JSON, in either build's filter."""
    hcm = hcm_of(cfg)
    f = hcm["http_filters"][filter_index(hcm)]
    if f["name"] == FILTER_NAMES["wasm"]:
        return f["typed_config"]["config"]["configuration"]
    return f["typed_config"]["filter_config"]


def pytest_collection_modifyitems(config, items):
    if FILTER != "native":
        return
    drop = [i for i in items if i.get_closest_marker("build_independent") or i.get_closest_marker("wasm_only")]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = [i for i in items if i not in drop]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=2):
    """(status, body text) or (None, error text) if nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return None, str(e)


def http_post_json(url, payload, timeout=5):
    req = urllib.request.Request(
        url, data=json.dumps(payload).encode(), method="POST",
        headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read().decode()


def wait_until(proc, ready, what, log_path=None):
    """Poll ready() until true; fail early (with the log) if proc exits."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if ready():
            return
        time.sleep(0.1)
    tail = ""
    if log_path and os.path.exists(log_path):
        with open(log_path, errors="replace") as f:
            tail = f.read()[-4000:]
    stop(proc)
    pytest.fail(f"{what} did not become ready (exit code {proc.returncode})\n{tail}")


def stop(proc):
    """Stop a child we started (its own process group), escalating to SIGKILL."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class Standin:
    def __init__(self, url, proc, log_path, mantle_url=None):
        self.url = url
        self.mantle_url = mantle_url  # the same stand-in's bedrock-mantle (same records and scripts)
        self.proc = proc
        self.log_path = log_path

    def requests(self):
        """Every /model/ request the stand-in received, oldest first."""
        status, body = http_get(f"{self.url}/_standin/requests", timeout=5)
        assert status == 200, body
        return json.loads(body)

    def reset(self):
        """Forget recorded requests, queued scripts and the prompt cache."""
        http_post_json(f"{self.url}/_standin/reset", {})

    def clear_cache(self):
        """Forget the prompt cache only."""
        req = urllib.request.Request(f"{self.url}/_standin/cache", method="DELETE")
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 200

    def script(self, behaviour):
        """Queue a behaviour for the next valid model request (INTERFACES.md)."""
        http_post_json(f"{self.url}/_standin/script", behaviour)

    def log_text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()


class Gateway:
    def __init__(self, port, admin_port, proc, log_path):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.url}/v1/amazon-bedrock"
        self.admin_url = f"http://127.0.0.1:{admin_port}"
        self.proc = proc
        self.log_path = log_path

    def log_text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()


@pytest.fixture(scope="session")
def standin(tmp_path_factory):
    port, mantle_port = free_port(), free_port()
    log_path = str(tmp_path_factory.mktemp("standin") / "standin.log")
    env = dict(os.environ, PYTHONPATH=TESTS_DIR, PYTHONUNBUFFERED="1")
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "standin", "--host", "127.0.0.1", "--port", str(port),
             "--mantle-port", str(mantle_port)],
            cwd=TESTS_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    s = Standin(f"http://127.0.0.1:{port}", proc, log_path, mantle_url=f"http://127.0.0.1:{mantle_port}")
    wait_until(proc, lambda: all(http_get(f"{u}/_standin/health")[0] == 200 for u in (s.url, s.mantle_url)),
               "stand-in", log_path)
    yield s
    stop(proc)


def launch_gateway(work, env, *args, what="gateway"):
    """`make run`'s launcher (scripts/gateway.py) with the environment `env`,
    on fresh ports, Envoy's log in work/envoy.log and the launcher's in
    work/launcher.log: the Gateway once Envoy is ready (stop it with
    stop(g.proc)). `args` are the launcher's options."""
    port, admin_port = free_port(), free_port()
    log_path = str(work / "envoy.log")
    with open(work / "launcher.log", "w") as out:
        proc = subprocess.Popen(
            [sys.executable, GATEWAY_PY, "--log-path", log_path, *args],
            cwd=ROOT, env=dict(env, GATEWAY_PORT=str(port), ADMIN_PORT=str(admin_port)),
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    g = Gateway(port, admin_port, proc, log_path)
    wait_until(proc, lambda: http_get(f"{g.admin_url}/ready") == (200, "LIVE\n"), what, log_path)
    return g


@pytest.fixture(scope="session")
def gateway(standin, tmp_path_factory):
    require_artifact()
    env = dict(os.environ, PROJECT_API_KEYS=PROJECT_API_KEYS, AWS_ENDPOINT_URL_BEDROCK_RUNTIME=standin.url)
    g = launch_gateway(tmp_path_factory.mktemp("gateway"), env, "--log-level", "debug", "--flush-ms", "100",
                       "--concurrency", "2")
    yield g
    stop(g.proc)


@pytest.fixture(autouse=True)
def _reset_standin(request):
    """Each e2e test starts with no recorded requests and no queued scripts."""
    # fixturenames is transitive, so this covers tests using gateway or client;
    # tests that need neither (deploy-config checks) don't start the stand-in.
    if "standin" in request.fixturenames:
        request.getfixturevalue("standin").reset()


@pytest.fixture
def client(gateway):
    return openai.OpenAI(
        base_url=gateway.base_url, api_key="sk-openai-unused", max_retries=0, timeout=30,
        default_headers={"Project-Api-Key": PROJECT_KEY_ALPHA, **aws_headers()})
