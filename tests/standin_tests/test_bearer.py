"""Bedrock API keys: Authorization: Bearer instead of SigV4, long-term and short-term
keys, Bedrock's 403s, and a request log that never holds a key."""

import base64
import datetime
import json

import pytest
from aws_bedrock_token_generator import BedrockTokenGenerator
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from standin import bearer, credentials, testing

CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
HELLO = {"messages": [{"role": "user", "content": [{"text": "Hello there"}]}]}
CORAL_DENIED = "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/"


def long_term(secret="anotherSecret", account="000000000000"):
    raw = f"BedrockAPIKey-test-at-{account}:{secret}"
    return bearer.LONG_PREFIX + base64.b64encode(raw.encode()).decode()


def denied(status, headers, data):
    assert status == 403 and headers["x-amzn-errortype"] == CORAL_DENIED, (status, headers, data)
    return json.loads(data)["Message"]


def via_botocore(url, monkeypatch, token, stream=False):
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", token)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    c = testing.bearer_client(url)
    if stream:
        return list(c.converse_stream(modelId=CLAUDE, **HELLO)["stream"])
    return c.converse(modelId=CLAUDE, **HELLO)


# -- accepted -------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_botocore_with_the_known_long_term_key(url, recorded, monkeypatch, stream):
    out = via_botocore(url, monkeypatch, credentials.BEARER_LONG_TERM, stream)
    assert (out[-1]["metadata"] if stream else out)["usage"]["totalTokens"] > 0
    rec = recorded()[-1]
    assert rec["status"] == 200
    assert rec["auth"] == {"kind": "bearer", "key_type": "long-term",
                           "token_sha256": bearer.fingerprint(credentials.BEARER_LONG_TERM)}
    auth_headers = [v for k, v in rec["headers"] if k.lower() == "authorization"]
    assert auth_headers == [f"Bearer <sha256:{bearer.fingerprint(credentials.BEARER_LONG_TERM)}>"]
    assert not any(k.lower() == "x-amz-date" for k, _ in rec["headers"])  # botocore signs nothing


def test_the_log_never_holds_a_key(url, recorded, monkeypatch):
    short = testing.short_term_key()
    via_botocore(url, monkeypatch, credentials.BEARER_LONG_TERM)
    testing.bearer_call(url, CLAUDE, HELLO, short)
    testing.bearer_call(url, CLAUDE, HELLO, long_term())  # refused, still logged
    dump = json.dumps(recorded())
    for token in (credentials.BEARER_LONG_TERM, short, long_term()):
        assert token not in dump and token[len(bearer.SHORT_PREFIX):][:40] not in dump


@pytest.mark.parametrize("cred", [credentials.PERMANENT, credentials.TEMPORARY], ids=["permanent", "temporary"])
def test_short_term_keys_need_no_registration(url, recorded, monkeypatch, cred):
    token = testing.short_term_key(cred)
    status, _, data = testing.bearer_call(url, CLAUDE, HELLO, token)
    assert status == 200, data
    assert recorded()[-1]["auth"]["key_type"] == "short-term"
    assert via_botocore(url, monkeypatch, token)["stopReason"] == "end_turn"


@pytest.mark.parametrize("cred", [credentials.PERMANENT, credentials.TEMPORARY], ids=["permanent", "temporary"])
def test_aws_s_own_token_generator_is_the_judge(url, recorded, cred):
    # A key minted by AWS's own generator (not by the stand-in's presign) is accepted.
    token = BedrockTokenGenerator().get_token(
        Credentials(cred["access_key_id"], cred["secret_access_key"], cred.get("session_token")), testing.REGION)
    status, _, data = testing.bearer_call(url, CLAUDE, HELLO, token)
    assert status == 200, data
    assert recorded()[-1]["auth"]["key_type"] == "short-term"


def test_a_short_term_key_works_in_the_region_that_issued_it(url):
    token = testing.short_term_key(region="eu-west-1")
    host = [("Host", "bedrock-runtime.eu-west-1.amazonaws.com")]
    status, _, data = testing.send(url, testing.model_path(CLAUDE), json.dumps(HELLO).encode(),
                                   [*host, ("Content-Type", "application/json"), ("Authorization", f"Bearer {token}")])
    assert status == 200, data
    assert denied(*testing.bearer_call(url, CLAUDE, HELLO, token)) == bearer.NOT_VALID  # sent to us-east-1


def test_keys_from_the_environment_and_the_control_api(url, monkeypatch):
    from_env, registered = long_term("fromEnv"), long_term("registered")
    assert denied(*testing.bearer_call(url, CLAUDE, HELLO, from_env)) == bearer.NOT_VALID
    monkeypatch.setenv("STANDIN_BEARER_TOKENS", f" {long_term('other')} ,{from_env}")
    assert testing.bearer_call(url, CLAUDE, HELLO, from_env)[0] == 200
    assert testing.control(url, "POST", "/_standin/bearer-tokens", {"token": registered}) == (200, {"ok": True})
    try:
        assert testing.bearer_call(url, CLAUDE, HELLO, registered)[0] == 200
        testing.control(url, "POST", "/_standin/bearer-tokens", {"token": registered, "expired": True})
        assert denied(*testing.bearer_call(url, CLAUDE, HELLO, registered)) == bearer.NOT_VALID
        assert testing.control(url, "POST", "/_standin/bearer-tokens", {"token": "sk-nope"})[0] == 400
    finally:
        testing.control(url, "DELETE", "/_standin/bearer-tokens")
    assert denied(*testing.bearer_call(url, CLAUDE, HELLO, registered)) == bearer.NOT_VALID


# -- refused --------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["sk-openai-unused", "eyJhbGciOiJSUzI1NiJ9.e30.sig", "ABSKbm90LWEta2V5",
                                   "bedrock-api-key-bm90IGEgdXJs", ""])
def test_what_is_no_api_key_at_all(url, recorded, token):
    assert denied(*testing.bearer_call(url, CLAUDE, HELLO, token)) == bearer.BAD_FORMAT
    assert recorded()[-1]["auth"]["key_type"] is None and recorded()[-1]["error_type"] == "AccessDeniedException"


def test_botocore_reads_bedrocks_refusal(url, monkeypatch):
    with pytest.raises(ClientError) as info:
        via_botocore(url, monkeypatch, long_term())
    err = info.value.response
    assert err["Error"] == {"Code": "AccessDeniedException", "Message": bearer.NOT_VALID}
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 403


def now():
    return datetime.datetime.now(datetime.timezone.utc)


@pytest.mark.parametrize("token", [
    pytest.param(lambda: long_term(), id="unknown-long-term"),
    pytest.param(lambda: long_term(account="123456789012"), id="other-account"),
    pytest.param(lambda: testing.short_term_key(when=now() - datetime.timedelta(hours=12, minutes=1)), id="expired"),
    pytest.param(lambda: testing.short_term_key(when=now() - datetime.timedelta(minutes=20), expires=900),
                 id="expired-15-minute-key"),
    pytest.param(lambda: testing.short_term_key(when=now() + datetime.timedelta(hours=1)), id="from-the-future"),
    pytest.param(lambda: testing.short_term_key(expires=bearer.MAX_EXPIRES + 1), id="longer-than-12h"),
    pytest.param(lambda: testing.short_term_key({"access_key_id": "AKIAUNKNOWN000000000",
                                                 "secret_access_key": "x"}), id="unknown-credential"),
    pytest.param(lambda: testing.short_term_key({**credentials.PERMANENT, "secret_access_key": "wrong"}),
                 id="bad-signature"),
    pytest.param(lambda: testing.short_term_key({**credentials.TEMPORARY, "session_token": "stale"}),
                 id="bad-session-token"),
])
def test_keys_bedrock_does_not_accept(url, token):
    assert denied(*testing.bearer_call(url, CLAUDE, HELLO, token())) == bearer.NOT_VALID


def test_a_tampered_short_term_key(url):
    decoded = base64.b64decode(testing.short_term_key()[len(bearer.SHORT_PREFIX):]).decode()
    tampered = decoded.replace("X-Amz-Expires=43200", "X-Amz-Expires=43100")
    token = bearer.SHORT_PREFIX + base64.b64encode(tampered.encode()).decode()
    assert denied(*testing.bearer_call(url, CLAUDE, HELLO, token)) == bearer.NOT_VALID


# -- bearer beside SigV4 ----------------------------------------------------------------------------


def test_sigv4_headers_beside_a_key_play_no_part(url, recorded):
    extra = [("X-Amz-Date", "20000101T000000Z"), ("X-Amz-Security-Token", "whatever")]
    status, _, data = testing.bearer_call(url, CLAUDE, HELLO, credentials.BEARER_LONG_TERM, extra_headers=extra)
    assert status == 200, data
    assert recorded()[-1]["auth"]["ignored_sigv4_headers"] == ["x-amz-date", "x-amz-security-token"]


def test_a_key_and_a_signature_in_two_authorization_headers(url):
    body = json.dumps(HELLO).encode()
    path = testing.model_path(CLAUDE)
    signed = testing.sign(url, path, body)
    sigv4 = [v for k, v in signed if k.lower() == "authorization"]
    headers = [(k, v) for k, v in signed if k.lower() != "authorization"]
    both = [*headers, ("Authorization", f"Bearer {credentials.BEARER_LONG_TERM}"), ("Authorization", sigv4[0])]
    assert denied(*testing.send(url, path, body, both)) == bearer.BAD_FORMAT


def test_sigv4_requests_record_their_access_key(url, recorded):
    testing.call(url, CLAUDE, HELLO)
    assert recorded()[-1]["auth"] == {"kind": "sigv4", "access_key_id": credentials.PERMANENT["access_key_id"]}
    testing.send(url, testing.model_path(CLAUDE), json.dumps(HELLO).encode(), [("Host", "x")])
    assert recorded()[-1]["auth"]["kind"] == "none"
    assert recorded()[-1]["error_type"] == "MissingAuthenticationTokenException"
