"""No secret anywhere: upstream requests, responses, Envoy's log, admin endpoints, launcher output.

A representative sequence of calls runs once (module fixture); each test then
greps one place for every secret sent.
"""

import hashlib
import json
import os
import subprocess
import sys
import time

import httpx
import openai
import pytest

from e2e.conftest import GATEWAY_PY, ROOT
from e2e.helpers import CLAUDE, LLAMA, SECRETS, SEED_MESSAGES, chat_body, default_headers, post
from e2e.keys import PERMANENT, PROJECT_API_KEYS, PROJECT_KEY_ALPHA, PROJECT_KEY_BETA, TEMPORARY, aws_headers

WRONG_SECRET = "wrongSecretKey/9999+zyxwvutsrqponmlkjihgf"
WRONG_PROJECT_KEY = "sk-test-wrong-99999999999999999999999"
WRONG_SESSION_TOKEN = "wrong-session-token-9999//zyxwvutsrqponmlkjihgfedcba=="

# Every secret value the sequence sends (access key ids are not secret; secret keys, tokens and keys are).
ALL_SECRETS = sorted(set(SECRETS + [
    PROJECT_KEY_ALPHA, PROJECT_KEY_BETA, PERMANENT["secret_access_key"], TEMPORARY["secret_access_key"],
    TEMPORARY["session_token"], WRONG_SECRET, WRONG_PROJECT_KEY, WRONG_SESSION_TOKEN,
]))
PROJECT_KEYS = [PROJECT_KEY_ALPHA, PROJECT_KEY_BETA, WRONG_PROJECT_KEY]


def hits(text, secrets=ALL_SECRETS):
    """The secrets (or a recognisable half of one) found in `text`."""
    found = []
    for s in secrets:
        if s in text or s[: len(s) // 2 + 4] in text or s[len(s) // 2 - 4:] in text:
            found.append(s)
    return found


def sdk(gateway, project_key=PROJECT_KEY_ALPHA, credentials=PERMANENT):
    return openai.OpenAI(base_url=gateway.base_url, api_key="sk-openai-unused", max_retries=0, timeout=10,
                         default_headers={"Project-Api-Key": project_key, **aws_headers(credentials)})


@pytest.fixture(scope="module")
def sequence(gateway, standin):
    """Runs the calls once; returns (stand-in records, response texts)."""
    standin.reset()
    responses = []

    def keep(resp):
        responses.append(resp.text)
        return resp

    # 1. success, SDK and raw, both projects
    c = sdk(gateway)
    raw = c.chat.completions.with_raw_response.create(model=LLAMA, messages=SEED_MESSAGES)
    responses.append(raw.http_response.text)
    keep(post(gateway, chat_body(), headers=default_headers(**{"Project-Api-Key": PROJECT_KEY_BETA})))
    # 2. streamed success, with usage
    with httpx.stream("POST", gateway.base_url + "/chat/completions", headers=default_headers(),
                      json=chat_body(model=CLAUDE, stream=True, stream_options={"include_usage": True}),
                      timeout=10) as r:
        responses.append(r.read().decode())
        assert r.status_code == 200
    # 3. wrong secret key: 403 from the stand-in
    wrong = dict(PERMANENT, secret_access_key=WRONG_SECRET)
    assert keep(post(gateway, chat_body(), headers={**default_headers(), **aws_headers(wrong)})).status_code == 403
    # 4. wrong project key: 401 locally
    r = keep(post(gateway, chat_body(), headers={**default_headers(), "Project-Api-Key": WRONG_PROJECT_KEY}))
    assert r.status_code == 401
    # 5. Bedrock validation error, its message echoing the caller's secret (must be redacted)
    standin.script({"error": "ValidationException",
                    "message": f"bad input near {PERMANENT['secret_access_key']} and {PERMANENT['access_key_id']}"})
    r = keep(post(gateway, chat_body()))
    assert r.status_code == 400
    # 6. session-token calls: right token, then wrong token (403)
    responses.append(sdk(gateway, credentials=TEMPORARY).chat.completions.with_raw_response.create(
        model=LLAMA, messages=SEED_MESSAGES).http_response.text)
    bad_token = dict(TEMPORARY, session_token=WRONG_SESSION_TOKEN)
    assert keep(post(gateway, chat_body(), headers={**default_headers(), **aws_headers(bad_token)})).status_code \
        == 403
    # 7. streamed session-token call and a streamed upstream error
    with httpx.stream("POST", gateway.base_url + "/chat/completions",
                      headers={**default_headers(), **aws_headers(TEMPORARY)},
                      json=chat_body(model=CLAUDE, stream=True), timeout=10) as r:
        responses.append(r.read().decode())
    standin.script({"exception": "validationException", "message": "mid-stream trouble"})
    with httpx.stream("POST", gateway.base_url + "/chat/completions", headers=default_headers(),
                      json=chat_body(model=CLAUDE, stream=True), timeout=10) as r:
        responses.append(r.read().decode())
    # 8. a local validation error
    assert keep(post(gateway, chat_body(temperature=5))).status_code == 400
    return standin.requests(), responses


def test_the_sequence_did_what_it_meant_to(sequence):
    records, responses = sequence
    statuses = [r["status"] for r in records]
    # 401 and the local 400 never reach the stand-in
    assert statuses == [200, 200, 200, 403, 400, 200, 403, 200, 200], statuses
    assert any("[redacted]" in r for r in responses), responses


def test_no_secret_reaches_the_upstream(sequence):
    records, _ = sequence
    for rec in records:
        # the session token belongs upstream, as x-amz-security-token (checked below); nowhere else
        headers = [[k, v] for k, v in rec["headers"] if k.lower() != "x-amz-security-token"]
        text = json.dumps(headers) + rec["body"] + rec["path"]
        assert hits(text) == [], rec
        names = {k.lower() for k, _ in rec["headers"]}
        assert not names & {"project-api-key", "aws-access-key-id", "aws-secret-access-key",
                            "aws-session-token", "aws-region-name"}, names
    # the session token does go upstream where AWS wants it: only as x-amz-security-token, on those calls
    tokens = [v for rec in records for k, v in rec["headers"] if k.lower() == "x-amz-security-token"]
    assert set(tokens) == {TEMPORARY["session_token"], WRONG_SESSION_TOKEN}, tokens


def test_no_secret_in_any_response(sequence):
    _, responses = sequence
    for text in responses:
        assert hits(text) == [], text


def test_no_secret_in_envoy_log(sequence, gateway):
    time.sleep(0.5)  # the fixture sets a 100 ms log flush: let the sequence's lines land
    log = gateway.log_text()
    assert log, "empty Envoy log"
    assert "][debug][pool]" in log, "the log holds no debug lines from request handling"
    assert hits(log) == []
    assert "sk-openai-unused" not in log


def test_no_secret_in_admin_endpoints(sequence, gateway):
    for path in ("/stats/prometheus", "/stats", "/config_dump?include_eds", "/clusters", "/server_info"):
        r = httpx.get(gateway.admin_url + path, timeout=10)
        assert r.status_code == 200, (path, r.status_code)
        assert hits(r.text) == [], path


def test_config_dump_holds_only_key_hashes(sequence, gateway):
    dump = httpx.get(gateway.admin_url + "/config_dump?include_eds", timeout=10).text
    for key in (PROJECT_KEY_ALPHA, PROJECT_KEY_BETA):
        assert key not in dump
        assert hashlib.sha256(key.encode()).hexdigest() in dump, "plugin configuration not in the dump?"


def test_launcher_output_has_no_project_key(sequence, gateway):
    launcher_log = os.path.join(os.path.dirname(gateway.log_path), "launcher.log")
    with open(launcher_log, errors="replace") as f:
        text = f.read()
    assert hits(text, PROJECT_KEYS) == [], text


def test_rendered_config_file_has_no_project_key(sequence, gateway):
    port = gateway.url.rsplit(":", 1)[1]
    path = os.path.join(ROOT, "run", f"envoy-{port}.yaml")
    with open(path) as f:
        text = f.read()
    assert hits(text, PROJECT_KEYS) == []
    assert hashlib.sha256(PROJECT_KEY_ALPHA.encode()).hexdigest() in text


def test_print_config_has_no_project_key():
    env = dict(os.environ, PROJECT_API_KEYS=PROJECT_API_KEYS, GATEWAY_PORT="10000", ADMIN_PORT="9901",
               AWS_ENDPOINT_URL_BEDROCK_RUNTIME="http://127.0.0.1:9099")
    done = subprocess.run([sys.executable, GATEWAY_PY, "--print-config"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert hits(done.stdout + done.stderr, PROJECT_KEYS) == []
    assert hashlib.sha256(PROJECT_KEY_BETA.encode()).hexdigest() in done.stdout


def test_the_gateway_log_searched_above_is_a_debug_log(gateway, sequence):
    """The secret search runs on a debug-level Envoy log (issue: hygiene at debug level);
    only Envoy's http/router header dumps are held at info by the launcher."""
    time.sleep(0.5)  # the fixture sets a 100 ms log flush
    text = gateway.log_text()
    assert "][debug][" in text
    assert "][debug][wasm]" in text or "][debug][main]" in text
