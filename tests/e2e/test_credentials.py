"""Credentials platform teams use: Bedrock API keys (a caller's, long-term and short-term
from AWS's own generator, and the proxy's AWS_BEARER_TOKEN_BEDROCK), Envoy's own signer
(`credentials: envoy`) fed by its provider chain, a rotating credentials file picked up
without a restart, and projects that sign with the caller's keys on the same gateway,
never re-signed by Envoy.

The Envoy-signer tests start their own gateways with:
  envy   credentials "envoy": signed by Envoy's aws_request_signing filter
  hdrs   the caller's aws-* headers (the default)
The stand-in checks every signature with botocore and knows the Bedrock API keys it issued.
"""

import hashlib
import json
import os

import openai
import pytest
import requests
from aws_bedrock_token_generator import BedrockTokenGenerator
from botocore.credentials import Credentials

from e2e.conftest import launch_gateway, stop
from e2e.helpers import LLAMA, SECRETS, assert_openai_error, chat_body, post
from e2e.keys import PERMANENT, PROJECT_KEY_ALPHA, TEMPORARY, aws_headers
from standin.credentials import BEARER_LONG_TERM

KEYS = {"envy": "sk-cred-envy-000000000000000000000001", "hdrs": "sk-cred-hdrs-000000000000000000000002"}
POLICIES = {"envy": {"credentials": "envoy"}}
MESSAGES = [{"role": "user", "content": "Hello!"}]


def credentials_file(creds):
    lines = ["[default]", f"aws_access_key_id = {creds['access_key_id']}",
             f"aws_secret_access_key = {creds['secret_access_key']}"]
    if "session_token" in creds:
        lines.append(f"aws_session_token = {creds['session_token']}")
    return "\n".join(lines) + "\n"


def start_gateway(standin, work, signer_credentials, extra_env=None):
    (work / "policies.json").write_text(json.dumps(POLICIES))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(PROJECT_API_KEYS=",".join(f"{n}={k}" for n, k in KEYS.items()),
               PROJECT_POLICIES=str(work / "policies.json"), AWS_ENDPOINT_URL_BEDROCK_RUNTIME=standin.url,
               ENVOY_SIGNER_REGION="us-west-2", ENVOY_SIGNER_CREDENTIALS=signer_credentials,
               **(extra_env or {}))
    return launch_gateway(work, env, what="credentials gateway")


@pytest.fixture(scope="module")
def env_gw(standin, tmp_path_factory):
    """Envoy's signer fed by the environment provider (the stand-in's permanent key)."""
    g = start_gateway(standin, tmp_path_factory.mktemp("envoy-signer-env"), "environment", {
        "AWS_ACCESS_KEY_ID": PERMANENT["access_key_id"], "AWS_SECRET_ACCESS_KEY": PERMANENT["secret_access_key"]})
    yield g
    stop(g.proc)


@pytest.fixture(scope="module")
def file_gw(standin, tmp_path_factory):
    """Envoy's signer fed by a credentials file in a watched directory."""
    work = tmp_path_factory.mktemp("envoy-signer-file")
    creds = work / "aws"
    creds.mkdir()
    (creds / "credentials").write_text(credentials_file(PERMANENT))
    g = start_gateway(standin, work, f"file:{creds / 'credentials'}")
    g.credentials_dir = creds
    yield g
    stop(g.proc)


def client(gw, project, **headers):
    return openai.OpenAI(base_url=gw.base_url, api_key="sk-openai-unused", max_retries=0, timeout=30,
                         default_headers={"Project-Api-Key": KEYS[project], **headers})


def signed_by(seen):
    auth = dict((k.lower(), v) for k, v in seen["headers"])["authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential="), auth
    return auth.split("Credential=", 1)[1].split("/", 1)[0], auth


def stat(gw, name):
    text = requests.get(f"{gw.admin_url}/stats", timeout=5).text
    for line in text.splitlines():
        if line.startswith(name + ": "):
            return int(line.split(": ", 1)[1])
    return 0


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_envoy_signs_with_the_credentials_its_chain_found(env_gw, standin, stream):
    c = client(env_gw, "envy")  # no aws-* headers at all
    if stream:
        chunks = list(c.chat.completions.create(model=LLAMA, messages=MESSAGES, stream=True))
        assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    else:
        assert c.chat.completions.create(model=LLAMA, messages=MESSAGES).choices[0].message.content
    [seen] = standin.requests()
    assert seen["status"] == 200, seen  # botocore accepted Envoy's signature
    key_id, auth = signed_by(seen)
    assert key_id == PERMANENT["access_key_id"]
    assert "/us-west-2/bedrock/aws4_request" in auth
    names = {k.lower() for k, _ in seen["headers"]}
    assert "x-bedrock-openai-signer" not in names and "x-amz-content-sha256" in names
    assert seen["path"].startswith("/model/meta.llama3-8b-instruct-v1%3A0/")


def test_the_caller_s_own_keys_are_neither_used_nor_forwarded(env_gw, standin):
    c = client(env_gw, "envy", **aws_headers(TEMPORARY, region="us-west-2"))
    c.chat.completions.create(model=LLAMA, messages=MESSAGES)
    [seen] = standin.requests()
    assert signed_by(seen)[0] == PERMANENT["access_key_id"]
    assert TEMPORARY["secret_access_key"] not in json.dumps(seen)
    assert TEMPORARY["session_token"] not in json.dumps(seen)


def test_the_signer_s_region_only(env_gw, standin):
    r = post(env_gw, chat_body(), headers={"Project-Api-Key": KEYS["envy"], "Content-Type": "application/json",
                                           "aws-region-name": "eu-west-1"})
    err = assert_openai_error(r, 400, param="aws-region-name", kind="invalid_request_error")
    assert "us-west-2" in err["message"]
    assert standin.requests() == []


def test_other_projects_are_signed_by_the_filter_not_by_envoy(env_gw, standin):
    before = stat(env_gw, "cluster.bedrock_signed.aws_request_signing.signing_added")
    # Even a caller who sends the marker header is not signed by Envoy.
    c = client(env_gw, "hdrs", **aws_headers(TEMPORARY), **{"x-bedrock-openai-signer": "envoy"})
    c.chat.completions.create(model=LLAMA, messages=MESSAGES)
    [seen] = standin.requests()
    assert seen["status"] == 200
    assert signed_by(seen)[0] == TEMPORARY["access_key_id"]
    assert stat(env_gw, "cluster.bedrock_signed.aws_request_signing.signing_added") == before
    assert stat(env_gw, "cluster.bedrock.upstream_rq_total") >= 1


def test_a_rotated_credentials_file_is_used_without_a_restart(file_gw, standin):
    c = client(file_gw, "envy")
    c.chat.completions.create(model=LLAMA, messages=MESSAGES)
    [seen] = standin.requests()
    assert seen["status"] == 200 and signed_by(seen)[0] == PERMANENT["access_key_id"]
    # Rotate as Kubernetes updates a secret: a new file moved into the watched directory.
    tmp = file_gw.credentials_dir / ".credentials.new"
    tmp.write_text(credentials_file(TEMPORARY))
    os.replace(tmp, file_gw.credentials_dir / "credentials")
    standin.reset()
    seen = None
    for _ in range(50):  # the watch fires at once; allow the event loop a moment
        c.chat.completions.create(model=LLAMA, messages=MESSAGES)
        [seen] = standin.requests()
        standin.reset()
        if signed_by(seen)[0] == TEMPORARY["access_key_id"]:
            break
    assert seen["status"] == 200
    assert signed_by(seen)[0] == TEMPORARY["access_key_id"]
    headers = dict((k.lower(), v) for k, v in seen["headers"])
    assert headers["x-amz-security-token"] == TEMPORARY["session_token"]
    assert file_gw.proc.poll() is None  # the same Envoy


# ---------------------------------------------------------------- Bedrock API keys


def bearer_headers(token, region="us-east-1"):
    return {"Project-Api-Key": PROJECT_KEY_ALPHA, "aws-bearer-token-bedrock": token, "aws-region-name": region}


def short_term_key(creds=PERMANENT, region="us-east-1"):
    """A short-term key from AWS's aws-bedrock-token-generator, as a platform would mint it."""
    return BedrockTokenGenerator().get_token(
        Credentials(creds["access_key_id"], creds["secret_access_key"], creds.get("session_token")), region)


def fingerprint(token):
    return hashlib.sha256(token.encode()).hexdigest()[:16]


@pytest.mark.parametrize("kind", ["long-term", "short-term"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_a_bedrock_api_key_is_sent_as_a_bearer_and_nowhere_else(gateway, standin, kind, stream):
    token = BEARER_LONG_TERM if kind == "long-term" else short_term_key()
    c = openai.OpenAI(base_url=gateway.base_url, api_key="sk-openai-unused", max_retries=0, timeout=30,
                      default_headers=bearer_headers(token))
    if stream:
        chunks = list(c.chat.completions.create(model=LLAMA, messages=MESSAGES, stream=True,
                                                stream_options={"include_usage": True}))
        seen_text = json.dumps([ch.model_dump() for ch in chunks])
    else:
        seen_text = c.chat.completions.create(model=LLAMA, messages=MESSAGES).model_dump_json()
    [seen] = standin.requests()
    assert seen["status"] == 200, seen
    assert seen["auth"]["kind"] == "bearer" and seen["auth"]["token_sha256"] == fingerprint(token)
    names = {k.lower() for k, _ in seen["headers"]}
    assert not names & {"x-amz-date", "x-amz-security-token", "x-amz-content-sha256", "aws-bearer-token-bedrock"}
    # The stand-in's own record redacts it: nowhere else did it go.
    assert token not in seen_text and token not in json.dumps(seen)
    assert token not in gateway.log_text()


def test_a_short_term_key_is_refused_in_another_region_before_bedrock(gateway, standin):
    token = short_term_key(region="eu-west-1")
    r = post(gateway, chat_body(), headers={**bearer_headers(token, region="us-east-1"),
                                           "Content-Type": "application/json"})
    err = assert_openai_error(r, 400, param="aws-region-name", kind="invalid_request_error")
    assert "eu-west-1" in err["message"] and token not in r.text
    assert standin.requests() == []


def test_an_unknown_key_gets_bedrock_s_403(gateway, standin):
    token = "ABSK" + "QmVkcm9ja0FQSUtleS1ub3BlLWF0LTAwMDAwMDAwMDAwMDpub3Bl"
    r = post(gateway, chat_body(), headers={**bearer_headers(token), "Content-Type": "application/json"})
    err = assert_openai_error(r, 403)
    assert "API Key is valid" in err["message"] and token not in r.text
    [seen] = standin.requests()
    assert seen["status"] == 403


def test_both_kinds_of_credential_are_refused(gateway, standin):
    headers = {**bearer_headers(BEARER_LONG_TERM), **aws_headers(), "Content-Type": "application/json"}
    r = post(gateway, chat_body(), headers=headers)
    assert_openai_error(r, 400, param="aws-bearer-token-bedrock", kind="invalid_request_error")
    for secret in [BEARER_LONG_TERM, *SECRETS]:
        assert secret not in r.text
    assert standin.requests() == []


@pytest.fixture(scope="module")
def proxy_bearer_gw(standin, tmp_path_factory):
    """`credentials: environment` with only AWS_BEARER_TOKEN_BEDROCK in the proxy's environment."""
    work = tmp_path_factory.mktemp("proxy-bearer")
    (work / "policies.json").write_text(json.dumps({"envb": {"credentials": "environment"}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(PROJECT_API_KEYS="envb=sk-cred-envb-0000000000000003",
               PROJECT_POLICIES=str(work / "policies.json"), AWS_ENDPOINT_URL_BEDROCK_RUNTIME=standin.url,
               AWS_BEARER_TOKEN_BEDROCK=BEARER_LONG_TERM, AWS_REGION="us-east-1")
    g = launch_gateway(work, env, what="proxy-bearer gateway")
    yield g
    stop(g.proc)


def test_the_proxy_s_own_bedrock_api_key(proxy_bearer_gw, standin):
    c = openai.OpenAI(base_url=proxy_bearer_gw.base_url, api_key="sk-openai-unused", max_retries=0, timeout=30,
                      default_headers={"Project-Api-Key": "sk-cred-envb-0000000000000003"})
    assert c.chat.completions.create(model=LLAMA, messages=MESSAGES).choices[0].message.content
    [seen] = standin.requests()
    assert seen["status"] == 200 and seen["auth"]["token_sha256"] == fingerprint(BEARER_LONG_TERM)
    assert BEARER_LONG_TERM not in proxy_bearer_gw.log_text()
