"""Amazon Bedrock API keys: ``Authorization: Bearer <key>`` instead of SigV4.

botocore's service model lists ``"auth": ["aws.auth#sigv4", "smithy.api#httpBearerAuth"]``
and botocore sends ``Authorization: Bearer <token>`` (from ``AWS_BEARER_TOKEN_BEDROCK``)
with no signature. The two kinds of key (AWS user guide "api-keys"; research §2.6):

- *long-term*: ``ABSK`` + base64 of ``BedrockAPIKey-<id>-at-<account>:<secret>`` (an IAM
  service-specific credential; the shape every published key has). The stand-in knows
  the ones listed in ``STANDIN_BEARER_TOKENS`` (comma-separated), the built-in one of
  :mod:`credentials`, and those registered through ``POST /_standin/bearer-tokens``
  (``{"token": ..., "expired": false}``; ``DELETE`` forgets the registered ones);
- *short-term*: ``bedrock-api-key-`` + base64 of a presigned SigV4 URL
  ``bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-...&Version=1`` (the
  layout of AWS's aws-bedrock-token-generator: service ``bedrock``, at most 12 h).
  It needs no registration: the stand-in verifies the presigned signature with the
  credentials it knows, its expiry, and that it is used in the Region that issued it
  ("usable only in the region that issued it", research §2.6).

Refusals (403 AccessDeniedException, AWS-wide namespace as for "This operation does
not support API Keys" in awslabs/aws-sdk-swift#1991; body key ``Message``):

- not a key at all: "Invalid API Key format" (anthropics/anthropic-sdk-go#414, an
  OIDC token sent as a bearer token);
- a key of the right shape that is unknown, expired, revoked or from another Region:
  "Authentication failed: Please make sure your API Key is valid."
  (anomalyco/opencode#47073 after a key expired; ai4s-research/open-science#53 for
  a key of another Region).

A bearer request's Region comes from its Host (``bedrock-runtime.<region>.amazonaws.com``,
``bedrock-mantle.<region>.api.aws``),
else ``STANDIN_REGION``, else us-east-1. The log records the key kind and a SHA-256
prefix, never the key.
"""

import base64
import binascii
import datetime
import hashlib
import hmac
import os
import re
import threading
import urllib.parse

from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from . import credentials
from .errors import StandinError

LONG_PREFIX = "ABSK"
SHORT_PREFIX = "bedrock-api-key-"
TOKEN_HOST = "bedrock.amazonaws.com"
TOKEN_VERSION = "&Version=1"
MAX_EXPIRES = 43200  # 12 h (aws-bedrock-token-generator's TOKEN_DURATION)
BAD_FORMAT = "Invalid API Key format"
SIGV4_HEADERS = ("x-amz-date", "x-amz-security-token", "x-amz-content-sha256")
NOT_VALID = "Authentication failed: Please make sure your API Key is valid."
_HOST_REGION = re.compile(r"^(?:bedrock-runtime(?:-fips)?\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com"
                          r"|bedrock-mantle\.([a-z]{2}(?:-[a-z]+)+-\d+)\.api\.aws)(?::\d+)?$")
_AMZ_DATE = "%Y%m%dT%H%M%SZ"

_lock = threading.Lock()
_registered = {}  # token -> {"expired": bool}


def _denied(message):
    return StandinError("AccessDeniedException", message, 403, coral=True, message_key="Message")


def fingerprint(token):
    """What the log keeps of a token: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()[:16]


def register(token, expired=False):
    """Make ``token`` (a long-term key) known, or known as expired."""
    if kind_of(token) != "long-term":
        raise ValueError("only long-term keys (ABSK + base64 of BedrockAPIKey-...) are registered")
    with _lock:
        _registered[token] = {"expired": bool(expired)}


def forget_registered():
    """Forget every key registered through the control API."""
    with _lock:
        _registered.clear()


def _env_tokens():
    raw = os.environ.get("STANDIN_BEARER_TOKENS", "")
    return {t.strip() for t in raw.split(",") if t.strip()}


def _b64(text):
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def kind_of(token):
    """``long-term``, ``short-term`` or None (not an API key's shape)."""
    if token.startswith(SHORT_PREFIX):
        decoded = _b64(token[len(SHORT_PREFIX):])
        if decoded and decoded.startswith(f"{TOKEN_HOST}/?") and decoded.endswith(TOKEN_VERSION):
            return "short-term"
        return None
    if token.startswith(LONG_PREFIX):
        decoded = _b64(token[len(LONG_PREFIX):])
        if decoded and decoded.startswith("BedrockAPIKey-") and ":" in decoded:
            return "long-term"
    return None


def request_region(headers):
    """The Region a bearer request is sent to (its Host), else the stand-in's default."""
    hosts = [v for k, v in headers if k.lower() == "host"]
    match = _HOST_REGION.match(hosts[0].strip().lower()) if hosts else None
    if match:
        return match.group(1) or match.group(2)
    return os.environ.get("STANDIN_REGION") or "us-east-1"


def _check_long_term(token):
    with _lock:
        state = _registered.get(token)
    known = state is not None or token in _env_tokens() or token == credentials.BEARER_LONG_TERM
    if not known or (state or {}).get("expired"):
        raise _denied(NOT_VALID)


def presign(cred, region, when, expires):
    """The presigned URL (without scheme) botocore's SigV4QueryAuth gives for a token."""
    # POST, as AWS's aws-bedrock-token-generator signs it (token_generator.py).
    request = AWSRequest(method="POST", url=f"https://{TOKEN_HOST}/", params={"Action": "CallWithBearerToken"},
                         headers={"host": TOKEN_HOST})
    signer = SigV4QueryAuth(Credentials(cred["access_key_id"], cred["secret_access_key"],
                                        cred.get("session_token")), "bedrock", region, expires=expires)
    request.context["timestamp"] = when.strftime(_AMZ_DATE)
    signer._modify_request_before_signing(request)
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    signer._inject_signature_to_request(request, signature)
    return request.url[len("https://"):]


def _check_short_term(token, region, now):
    url = _b64(token[len(SHORT_PREFIX):])[:-len(TOKEN_VERSION)]
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit("https://" + url).query, keep_blank_values=True))
    scope = query.get("X-Amz-Credential", "").split("/")
    if query.get("Action") != "CallWithBearerToken" or len(scope) != 5 or scope[3] != "bedrock":
        raise _denied(NOT_VALID)
    cred = credentials.lookup(scope[0])
    try:
        when = datetime.datetime.strptime(query.get("X-Amz-Date", ""), _AMZ_DATE).replace(tzinfo=datetime.timezone.utc)
        expires = int(query.get("X-Amz-Expires", ""))
    except ValueError:
        raise _denied(NOT_VALID) from None
    if cred is None:  # a session token is in the signed query: the signature check covers it
        raise _denied(NOT_VALID)
    if query.get("X-Amz-SignedHeaders") != "host" or not 0 < expires <= MAX_EXPIRES:
        raise _denied(NOT_VALID)
    expected = urllib.parse.parse_qs(urllib.parse.urlsplit("https://" + presign(cred, scope[2], when, expires))
                                     .query)["X-Amz-Signature"][0]
    if not hmac.compare_digest(expected, query.get("X-Amz-Signature", "")):
        raise _denied(NOT_VALID)
    skew = datetime.timedelta(minutes=5)  # as for SigV4 headers (sigv4check.MAX_SKEW)
    if now > when + datetime.timedelta(seconds=expires) or now < when - skew:
        raise _denied(NOT_VALID)
    if scope[2] != region:
        raise _denied(NOT_VALID)


def verify(token, headers, now=None):
    """Authenticate a bearer ``token``; raise a 403 as Bedrock's. Returns ``(log record, region)``."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    kind = kind_of(token)
    region = request_region(headers)
    record = {"kind": "bearer", "key_type": kind, "token_sha256": fingerprint(token)}
    if kind is None:
        return record, region, _denied(BAD_FORMAT)
    try:
        if kind == "long-term":
            _check_long_term(token)
        else:
            _check_short_term(token, region, now)
    except StandinError as error:
        return record, region, error
    return record, region, None
