"""Helpers for tests: botocore clients and hand-signed raw requests against a stand-in."""

import base64
import datetime
import http.client
import json
import urllib.parse

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from . import bearer, credentials

REGION = "us-east-1"


def client(url, cred=credentials.PERMANENT, region=REGION):
    """A real botocore bedrock-runtime client pointed at ``url`` (no retries)."""
    session = botocore.session.get_session()
    return session.create_client(
        "bedrock-runtime", region_name=region, endpoint_url=url,
        aws_access_key_id=cred["access_key_id"], aws_secret_access_key=cred["secret_access_key"],
        aws_session_token=cred.get("session_token"),
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=10))


def refused(c, model, messages, stream=False, code="ValidationException", status=400, **kwargs):
    """The error message of a Converse (``stream``: ConverseStream) call by the botocore
    client ``c`` that must fail with the error ``code`` and HTTP ``status``."""
    call = c.converse_stream if stream else c.converse
    try:
        call(modelId=model, messages=messages, **kwargs)
    except ClientError as e:
        assert e.response["Error"]["Code"] == code, e.response["Error"]
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == status, e.response["ResponseMetadata"]
        return e.response["Error"]["Message"]
    raise AssertionError(f"{model}: the call was not refused")


def model_path(model_id, operation="converse"):
    """Raw path for a model operation, with the model id percent-encoded as botocore does."""
    return f"/model/{urllib.parse.quote(model_id, safe='')}/{operation}"


def sign(url, path, body, cred=credentials.PERMANENT, service="bedrock", region=REGION,
         when=None, extra_headers=None):
    """Sign like botocore would; returns a list of (name, value) headers to send."""
    host = urllib.parse.urlsplit(url).netloc
    request = AWSRequest(method="POST", url=f"{url}{path}", data=body,
                         headers={"Content-Type": "application/json", "Host": host,
                                  **(extra_headers or {})})
    creds = Credentials(cred["access_key_id"], cred["secret_access_key"], cred.get("session_token"))
    signer = SigV4Auth(creds, service, region)
    when = when or datetime.datetime.now(datetime.timezone.utc)
    request.context["timestamp"] = when.strftime("%Y%m%dT%H%M%SZ")
    signer._modify_request_before_signing(request)
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    signer._inject_signature_to_request(request, signature)
    return list(request.headers.items())


def send(url, path, body, headers, method="POST"):
    """Send a raw request; returns (status, headers dict lower-cased, body bytes)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        framed = {n.lower() for n, _ in headers} & {"content-length", "transfer-encoding"}
        if not framed:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def call(url, model_id, payload, operation="converse", **sign_kwargs):
    """Sign and send a JSON ``payload``; returns (status, headers, body bytes)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    path = model_path(model_id, operation)
    return send(url, path, body, sign(url, path, body, **sign_kwargs))


def control(url, method, path, payload=None):
    """Call the /_standin/ control API; returns (status, parsed JSON or text)."""
    body = json.dumps(payload).encode() if payload is not None else b""
    status, headers, data = send(url, path, body, [("Host", "standin")], method=method)
    if headers.get("content-type") == "application/json":
        return status, json.loads(data)
    return status, data.decode()


def short_term_key(cred=credentials.PERMANENT, region=REGION, when=None, expires=bearer.MAX_EXPIRES):
    """A short-term Bedrock API key, laid out as AWS's token generator makes one:
    "bedrock-api-key-" + base64 of a SigV4-presigned CallWithBearerToken URL + "&Version=1"."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    url = bearer.presign(cred, region, when, expires) + bearer.TOKEN_VERSION
    return bearer.SHORT_PREFIX + base64.b64encode(url.encode()).decode()


def bearer_call(url, model_id, payload, token, operation="converse", extra_headers=()):
    """Send a JSON ``payload`` with ``Authorization: Bearer <token>`` and no signature."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    host = urllib.parse.urlsplit(url).netloc
    headers = [("Host", host), ("Content-Type", "application/json"), ("Authorization", f"Bearer {token}"),
               *extra_headers]
    return send(url, model_path(model_id, operation), body, headers)


def bearer_client(url, region=REGION):
    """A real botocore client that authenticates with a Bedrock API key: botocore prefers
    bearer auth when AWS_BEARER_TOKEN_BEDROCK is set and no credentials are given in code
    (set the variable, e.g. with monkeypatch.setenv, before creating and using it).

    botocore's BearerAuth refuses a plain-HTTP endpoint ("Bearer authorization requires
    an HTTPS endpoint") and the stand-in speaks HTTP, so this client signs the request
    as https and sends it to ``url`` unchanged; the headers are botocore's own.
    """
    session = botocore.session.get_session()
    c = session.create_client(
        "bedrock-runtime", region_name=region, endpoint_url=url,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=10))
    plain = url.startswith("http://")

    def as_https(request, **_):
        if plain and request.url.startswith("http://"):
            request.url = "https://" + request.url[len("http://"):]

    def back_to_http(request, **_):
        if plain and request.url.startswith("https://"):
            request.url = "http://" + request.url[len("https://"):]

    c.meta.events.register_first("before-sign.bedrock-runtime", as_https)
    c.meta.events.register_first("before-send.bedrock-runtime", back_to_http)
    return c
