"""--fault-rate: random faults on a fraction of valid requests, recorded as injected_fault."""

import collections
import json
import os
import subprocess
import sys

import pytest

from standin import faults, server, testing

LLAMA = "meta.llama3-8b-instruct-v1:0"
CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
HELLO = {"messages": [{"role": "user", "content": [{"text": "Hello there"}]}]}
TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def faulty():
    """A stand-in that faults every valid request (seeded)."""
    srv = server.start_in_thread(faults=faults.Faults(1.0, seed=7))
    yield srv
    srv.shutdown()
    srv.server_close()


def requests_of(url):
    return testing.control(url, "GET", "/_standin/requests")[1]


def test_default_is_off(url, recorded):
    for _ in range(20):
        assert testing.call(url, LLAMA, HELLO)[0] == 200
    assert all("injected_fault" not in r for r in recorded())


def test_draws_are_uniform_over_the_kinds_that_apply_and_seeded():
    f = faults.Faults(1.0, seed=1)
    stream = collections.Counter(f.draw("ConverseStream")[0] for _ in range(4000))
    plain = collections.Counter(f.draw("Converse")[0] for _ in range(3000))
    assert set(stream) == set(faults.KINDS)
    assert set(plain) == set(faults.KINDS) - faults.STREAM_ONLY
    assert all(800 < n < 1200 for n in stream.values()), stream
    assert all(800 < n < 1200 for n in plain.values()), plain
    a, b = faults.Faults(0.3, seed=5), faults.Faults(0.3, seed=5)
    seq = [a.draw("ConverseStream")[0] for _ in range(200)]
    assert seq == [b.draw("ConverseStream")[0] for _ in range(200)]
    assert 30 < sum(k is not None for k in seq) < 90
    assert faults.Faults(0.0).draw("Converse") == (None, {})
    with pytest.raises(ValueError):
        faults.Faults(1.5)


def test_each_kind_misbehaves_and_is_recorded(faulty):
    seen = collections.Counter()
    for i in range(40):
        operation = "converse-stream" if i % 2 else "converse"
        try:
            status, headers, body = testing.call(faulty.url, CLAUDE, HELLO, operation=operation)
        except OSError:  # the reset fault (ConnectionResetError, RemoteDisconnected)
            status, headers, body = None, {}, b""
        rec = requests_of(faulty.url)[-1]
        kind = rec["injected_fault"]
        seen[kind] += 1
        if kind == "throttling":
            assert (status, rec["error_type"]) == (429, "ThrottlingException")
            assert headers["x-amzn-errortype"].startswith("ThrottlingException:")
        elif kind == "internal":
            assert (status, rec["error_type"]) == (500, "InternalServerException")
        elif kind == "reset":
            assert status is None and rec["status"] is None
        else:
            assert kind == "stream_throttling" and rec["operation"] == "ConverseStream"
            assert status == 200 and b"throttlingException" in body
    assert set(seen) == set(faults.KINDS), seen


def test_a_queued_script_takes_precedence(faulty):
    status, _ = testing.control(faulty.url, "POST", "/_standin/script", {"text": "scripted"})
    assert status == 200
    out = testing.client(faulty.url).converse(modelId=LLAMA, **HELLO)
    assert out["output"]["message"]["content"] == [{"text": "scripted"}]
    assert "injected_fault" not in requests_of(faulty.url)[-1]


def test_invalid_requests_are_not_faulted(faulty):
    assert testing.call(faulty.url, LLAMA, {"messages": []})[0] == 400
    rec = requests_of(faulty.url)[-1]
    assert rec["error_type"] == "ValidationException" and "injected_fault" not in rec


def test_cli_fault_rate():
    """`python -m standin --fault-rate 0.5 --seed 3`: about half the calls fail, each recorded."""
    proc = subprocess.Popen([sys.executable, "-m", "standin", "--port", "0", "--fault-rate", "0.5",
                             "--seed", "3"], cwd=TESTS_DIR, env=dict(os.environ, PYTHONPATH=TESTS_DIR),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().split()[-1]
        failures = 0
        for _ in range(60):
            try:
                failures += testing.call(url, LLAMA, HELLO)[0] != 200
            except OSError:  # reset
                failures += 1
        recs = requests_of(url)
        faulted = [r for r in recs if "injected_fault" in r]
        assert len(recs) == 60 and len(faulted) == failures
        assert 15 < failures < 45
        assert {r["injected_fault"] for r in faulted} <= {"throttling", "internal", "reset"}
        json.dumps(recs)  # still JSON-able
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert "injected_fault=" in proc.stderr.read()


def test_cli_refuses_a_rate_out_of_range():
    r = subprocess.run([sys.executable, "-m", "standin", "--fault-rate", "2"], cwd=TESTS_DIR,
                       env=dict(os.environ, PYTHONPATH=TESTS_DIR), capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2 and "--fault-rate" in r.stderr
