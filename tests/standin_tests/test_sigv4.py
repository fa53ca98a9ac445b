"""SigV4: what botocore (AWS's own SDK) sends is accepted; anything else is a 403 like AWS."""

import datetime
import json

import pytest
from botocore.exceptions import ClientError

from standin import credentials, testing

CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
LLAMA = "meta.llama3-8b-instruct-v1:0"
HELLO = {"messages": [{"role": "user", "content": [{"text": "Hello there"}]}]}


@pytest.mark.parametrize("cred", [credentials.PERMANENT, credentials.TEMPORARY], ids=["permanent", "temporary"])
def test_botocore_converse_is_accepted(url, recorded, cred):
    client = testing.client(url, cred)
    out = client.converse(modelId=LLAMA, **HELLO)
    assert out["output"]["message"] == {
        "role": "assistant", "content": [{"text": f"Hello from the Bedrock stand-in ({LLAMA})."}]}
    assert out["stopReason"] == "end_turn"
    assert out["usage"] == {"inputTokens": 2, "outputTokens": 6, "totalTokens": 8}
    assert out["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    [rec] = recorded()
    assert rec["path"] == "/model/meta.llama3-8b-instruct-v1%3A0/converse"
    assert rec["model_id"] == LLAMA and rec["operation"] == "Converse"
    assert rec["status"] == 200 and rec["error_type"] is None
    assert rec["json"] == HELLO


def test_botocore_error_is_parsed_by_botocore(url):
    client = testing.client(url)
    with pytest.raises(ClientError) as info:
        client.converse(modelId="no.such-model-v1:0", **HELLO)
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert info.value.response["Error"]["Message"] == "The provided model identifier is invalid."
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_raw_signed_request_is_accepted(url):
    status, headers, body = testing.call(url, CLAUDE, HELLO)
    assert status == 200, body
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)


def _expect(url, recorded, status_and_type, path=None, body=None, headers=None, **sign_kwargs):
    body = body if body is not None else json.dumps(HELLO).encode()
    path = path or testing.model_path(CLAUDE)
    headers = headers if headers is not None else testing.sign(url, path, body, **sign_kwargs)
    status, resp_headers, resp_body = testing.send(url, path, body, headers)
    assert (status, resp_headers["x-amzn-errortype"].split(":", 1)[0]) == status_and_type, resp_body
    assert resp_headers["x-amzn-errortype"].startswith(status_and_type[1] + ":http://internal.amazon.com/coral/")
    message = json.loads(resp_body)["message"]
    assert recorded()[-1]["status"] == status
    assert recorded()[-1]["error_type"] == status_and_type[1]
    return message


BAD_SIG = (403, "InvalidSignatureException")


def test_wrong_secret(url, recorded):
    wrong = dict(credentials.PERMANENT, secret_access_key="not-the-secret")
    message = _expect(url, recorded, BAD_SIG, cred=wrong)
    assert message.startswith("The request signature we calculated does not match")


def test_wrong_service(url, recorded):
    message = _expect(url, recorded, BAD_SIG, service="bedrock-runtime")
    assert "scoped to correct service: 'bedrock'" in message


def test_stale_date(url, recorded):
    old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=6)
    assert _expect(url, recorded, BAD_SIG, when=old).startswith("Signature expired")


def test_future_date(url, recorded):
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=6)
    assert _expect(url, recorded, BAD_SIG, when=later).startswith("Signature not yet current")


def test_tampered_body(url, recorded):
    body = json.dumps(HELLO).encode()
    path = testing.model_path(CLAUDE)
    headers = testing.sign(url, path, body)
    tampered = body.replace(b"Hello", b"Jello")
    _expect(url, recorded, BAD_SIG, body=tampered, headers=headers)


def test_decoded_path_breaks_signature(url, recorded):
    body = json.dumps(HELLO).encode()
    path = testing.model_path(CLAUDE)
    headers = testing.sign(url, path, body)
    _expect(url, recorded, BAD_SIG, path=path.replace("%3A", ":"), body=body, headers=headers)


def test_tampered_signed_header(url, recorded):
    body = json.dumps(HELLO).encode()
    path = testing.model_path(CLAUDE)
    headers = [(k, "text/plain" if k.lower() == "content-type" else v)
               for k, v in testing.sign(url, path, body)]
    _expect(url, recorded, BAD_SIG, body=body, headers=headers)


def test_missing_security_token(url, recorded):
    body = json.dumps(HELLO).encode()
    path = testing.model_path(CLAUDE)
    headers = [(k, v) for k, v in testing.sign(url, path, body, cred=credentials.TEMPORARY)
               if k.lower() != "x-amz-security-token"]
    message = _expect(url, recorded, (403, "UnrecognizedClientException"), body=body, headers=headers)
    assert message == "The security token included in the request is invalid."


def test_wrong_security_token(url, recorded):
    wrong = dict(credentials.TEMPORARY, session_token="forged-token")
    _expect(url, recorded, (403, "UnrecognizedClientException"), cred=wrong)


def test_unknown_access_key(url, recorded):
    unknown = dict(credentials.PERMANENT, access_key_id="AKIAUNKNOWN000000000")
    _expect(url, recorded, (403, "UnrecognizedClientException"), cred=unknown)


def test_missing_authorization(url, recorded):
    body = json.dumps(HELLO).encode()
    path = testing.model_path(CLAUDE)
    headers = [(k, v) for k, v in testing.sign(url, path, body) if k.lower() != "authorization"]
    message = _expect(url, recorded, (403, "MissingAuthenticationTokenException"), body=body, headers=headers)
    assert message == "Missing Authentication Token"


def test_unsigned_host_is_rejected(url, recorded):
    body = json.dumps(HELLO).encode()
    path = testing.model_path(CLAUDE)
    headers = []
    for k, v in testing.sign(url, path, body):
        if k.lower() == "authorization":
            v = v.replace("SignedHeaders=content-type;host;x-amz-date", "SignedHeaders=content-type;x-amz-date")
        headers.append((k, v))
    _expect(url, recorded, BAD_SIG, body=body, headers=headers)


def test_other_host_breaks_signature(url, recorded):
    body = json.dumps(HELLO).encode()
    path = testing.model_path(CLAUDE)
    headers = [(k, "bedrock-runtime.us-east-1.amazonaws.com" if k.lower() == "host" else v)
               for k, v in testing.sign(url, path, body)]
    _expect(url, recorded, BAD_SIG, body=body, headers=headers)


def test_unsigned_extra_headers_are_fine(url):
    body = json.dumps(HELLO).encode()
    path = testing.model_path(CLAUDE)
    headers = testing.sign(url, path, body) + [("x-envoy-expected-rq-timeout-ms", "600000"),
                                               ("User-Agent", "envoy")]
    status, _, resp = testing.send(url, path, body, headers)
    assert status == 200, resp


def test_chunked_request_body_is_accepted(url):
    body = json.dumps(HELLO).encode()
    path = testing.model_path(CLAUDE)
    headers = testing.sign(url, path, body) + [("Transfer-Encoding", "chunked")]
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:10], body[10:])) + b"0\r\n\r\n"
    status, _, resp = testing.send(url, path, chunked, headers)
    assert status == 200, resp
