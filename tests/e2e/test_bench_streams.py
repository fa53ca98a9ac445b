"""The many-streams benchmark's tools (bench/slow_upstream.py, bench/many_streams.py), run small.

`make bench`'s `streams` part trusts the client to count every chunk, notice a
missing one and time each; these run both tools for a few seconds straight
(the event stream as Bedrock sends it) and through a real gateway with the
filter (SSE chunks), and show the client reporting failures it must see: a
refused request and a stream still open at its deadline.
"""

import json
import os
import subprocess
import sys
import time

import pytest

from e2e.conftest import ROOT, free_port, http_get, launch_gateway, require_artifact, stop, wait_until
from e2e.keys import PROJECT_API_KEYS, PROJECT_KEY_ALPHA, aws_headers

SLOW = os.path.join(ROOT, "bench", "slow_upstream.py")
CLIENT = os.path.join(ROOT, "bench", "many_streams.py")
MODEL = "meta.llama3-8b-instruct-v1:0"
SECONDS = 2.0  # each answer's length
STREAMS = 12
GAP_MS = (50, 200)


@pytest.fixture(scope="module")
def slow(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("slow") / "slow.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, SLOW, "--port", str(port), "--seconds", str(SECONDS),
                                 "--gap-ms", f"{GAP_MS[0]},{GAP_MS[1]}"],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    wait_until(proc, lambda: http_get(f"http://127.0.0.1:{port}/_health")[0] == 200, "slow upstream", str(log))
    yield port
    stop(proc)


@pytest.fixture(scope="module")
def slow_gateway(slow, tmp_path_factory):
    """A gateway with the filter whose Bedrock endpoint is the slow upstream."""
    require_artifact()
    env = dict(os.environ, PROJECT_API_KEYS=PROJECT_API_KEYS,
               AWS_ENDPOINT_URL_BEDROCK_RUNTIME=f"http://127.0.0.1:{slow}")
    g = launch_gateway(tmp_path_factory.mktemp("slowgw"), env, what="slow-upstream gateway")
    yield g.port
    stop(g.proc)


def run_client(tmp_path, port, path, headers, body, streams=STREAMS, deadline_s=SECONDS + 10):
    """many_streams.py over the whole run as its window: its MANY_STREAMS result and the delays file."""
    start = time.monotonic_ns() + 200_000_000
    samples = tmp_path / "delays.bin"
    spec = {"port": port, "path": path, "headers": headers, "body": body, "streams": streams,
            "start_ns": start, "ramp_s": 0.2, "window_ns": [start, start + int(60e9)],
            "deadline_s": deadline_s, "samples_path": str(samples)}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    r = subprocess.run([sys.executable, CLIENT, str(tmp_path / "spec.json")], capture_output=True, text=True,
                       timeout=deadline_s + 30)
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if x.startswith("MANY_STREAMS "))
    return json.loads(line.removeprefix("MANY_STREAMS ")), samples.read_bytes()


def expected_chunks():
    """Bounds on the deltas one answer carries: SECONDS at one every GAP_MS[0]..GAP_MS[1] ms."""
    return int(SECONDS * 1000 / GAP_MS[1]) - 1, int(SECONDS * 1000 / GAP_MS[0]) + 1


def check_clean(res, samples):
    lo, hi = expected_chunks()
    assert res["errors"] == {}, res["error_examples"]
    assert res["ok"] == STREAMS
    assert STREAMS * lo <= res["chunks"] <= STREAMS * hi
    assert res["window_chunks"] == res["chunks"]
    # Every chunk timed (two int64 per chunk), and the delays are those of a loopback: under a second.
    assert len(samples) == 16 * res["chunks"]
    assert 0 < res["delay_us"]["50"] <= res["delay_us"]["99"] <= res["delay_us"]["max"] < 1e6
    assert sum(res["hist"]["counts"]) == res["chunks"]


def test_the_client_reads_bedrock_event_streams_straight_from_the_slow_upstream(slow, tmp_path):
    body = json.dumps({"messages": [{"role": "user", "content": [{"text": "Hello"}]}]})
    res, samples = run_client(tmp_path, slow, f"/model/{MODEL}/converse-stream",
                              {"content-type": "application/json"}, body)
    check_clean(res, samples)


def test_the_client_reads_the_filters_sse_chunks_through_a_real_gateway(slow_gateway, tmp_path):
    headers = {"content-type": "application/json", "project-api-key": PROJECT_KEY_ALPHA, **aws_headers()}
    body = json.dumps({"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "Hello"}]})
    res, samples = run_client(tmp_path, slow_gateway, "/v1/amazon-bedrock/chat/completions", headers, body)
    check_clean(res, samples)


def test_the_client_counts_a_refused_request_as_an_error(slow_gateway, tmp_path):
    body = json.dumps({"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "Hello"}]})
    res, _ = run_client(tmp_path, slow_gateway, "/v1/amazon-bedrock/chat/completions",
                        {"content-type": "application/json", **aws_headers()}, body, streams=3)
    assert res["ok"] == 0
    assert res["errors"] == {"status N": 3}


def test_the_client_counts_a_stream_open_at_its_deadline_as_an_error(slow, tmp_path):
    body = json.dumps({"messages": [{"role": "user", "content": [{"text": "Hello"}]}]})
    res, _ = run_client(tmp_path, slow, f"/model/{MODEL}/converse-stream", {"content-type": "application/json"},
                        body, streams=3, deadline_s=1.0)
    assert res["ok"] == 0
    assert res["errors"] == {"still open at the deadline": 3}
    assert res["chunks"] > 0
