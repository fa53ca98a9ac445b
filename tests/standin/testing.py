"""Helpers for tests: botocore clients and hand-signed raw requests against a stand-in."""

import datetime
import http.client
import json
import urllib.parse

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from . import credentials

REGION = "us-east-1"


def client(url, cred=credentials.PERMANENT, region=REGION):
    """A real botocore bedrock-runtime client pointed at ``url`` (no retries)."""
    session = botocore.session.get_session()
    return session.create_client(
        "bedrock-runtime", region_name=region, endpoint_url=url,
        aws_access_key_id=cred["access_key_id"], aws_secret_access_key=cred["secret_access_key"],
        aws_session_token=cred.get("session_token"),
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=10))


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
