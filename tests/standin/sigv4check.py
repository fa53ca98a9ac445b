"""Server-side SigV4 verification, computed with botocore's own signer.

AWS recomputes the signature from what it received; so does this module:
it rebuilds a botocore ``AWSRequest`` from the signed headers (values as
received), the raw path and the exact body bytes, and asks botocore's
``SigV4Auth`` for the canonical request, string to sign and signature at
the request's own ``x-amz-date``.
"""

import datetime
import hashlib
import hmac
import re

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from . import credentials
from .errors import StandinError

SERVICE = "bedrock"
MAX_SKEW = datetime.timedelta(minutes=5)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
BAD_TOKEN = "The security token included in the request is invalid."


class _ServerSideSigV4(SigV4Auth):
    """SigV4Auth that signs exactly the headers present (the ones the client signed).

    botocore's client-side signer skips a few headers (user-agent, expect...)
    and adds host; a server must instead use the client's SignedHeaders list.
    """

    def headers_to_sign(self, request):
        return request.headers


def _invalid(message):
    return StandinError("InvalidSignatureException", message)


def _incomplete(message):
    return StandinError("IncompleteSignatureException", message)


def parse_authorization(value):
    """Split an ``AWS4-HMAC-SHA256 Credential=.., SignedHeaders=.., Signature=..`` header."""
    algo, _, rest = value.strip().partition(" ")
    if algo != "AWS4-HMAC-SHA256":
        raise _incomplete(f"Unsupported authorization type: {algo!r}. Authorization={value}")
    parts = {}
    for item in rest.split(","):
        key, sep, val = item.strip().partition("=")
        if sep:
            parts[key] = val
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if not parts.get(k)]
    if missing:
        msg = " ".join(f"Authorization header requires '{k}' parameter." for k in missing)
        raise _incomplete(f"{msg} Authorization={value}")
    return parts


def _check_scope(scope_parts, amz_date, expected_service=SERVICE):
    if len(scope_parts) != 5:
        raise _incomplete("Credential must have exactly 5 slash-delimited elements, "
                          "e.g. keyid/date/region/service/term")
    _, date, region, service, term = scope_parts
    if term != "aws4_request":
        raise _invalid(f"Credential should be scoped with a valid terminator: 'aws4_request', not '{term}'.")
    if service != expected_service:
        raise _invalid(f"Credential should be scoped to correct service: '{expected_service}'. ")
    if not _REGION.match(region):
        raise _invalid("Credential should be scoped to a valid region. ")
    if date != amz_date[:8]:
        raise _invalid(f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version "
                       f"of date from HTTP: '{date}' != '{amz_date[:8]}', from '{amz_date}'.")


def _check_clock(amz_date, now):
    try:
        when = datetime.datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise _incomplete(f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'.") from None
    fmt = lambda t: t.strftime(_AMZ_DATE)  # noqa: E731
    if when < now - MAX_SKEW:
        raise _invalid(f"Signature expired: {amz_date} is now earlier than {fmt(now - MAX_SKEW)} "
                       f"({fmt(now)} - 5 min.)")
    if when > now + MAX_SKEW:
        raise _invalid(f"Signature not yet current: {amz_date} is still later than "
                       f"{fmt(now + MAX_SKEW)} ({fmt(now)} + 5 min.)")


def _header_values(headers, name):
    return [v for k, v in headers if k.lower() == name]


def verify(method, raw_path, headers, body, now=None, service=SERVICE):
    """Check a request's SigV4 signature like AWS; raise StandinError (403) if it fails.

    ``headers`` is a list of (name, value) pairs as received, ``raw_path``
    the undecoded request target, ``body`` the exact body bytes, ``service``
    the signing name the endpoint expects (``bedrock``; bedrock-mantle's is
    ``bedrock-mantle``). Returns ``(access key id, signing region)`` on success.
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    auth = _header_values(headers, "authorization")
    if not auth:
        raise StandinError("MissingAuthenticationTokenException", "Missing Authentication Token")
    parts = parse_authorization(auth[0])
    signed = parts["SignedHeaders"].split(";")
    if "host" not in signed:
        raise _invalid("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    amz_dates = _header_values(headers, "x-amz-date")
    if not amz_dates or "x-amz-date" not in signed:
        raise _incomplete("Authorization header requires existence of a signed 'X-Amz-Date' header. "
                          f"Authorization={auth[0]}")
    scope = parts["Credential"].split("/")
    _check_scope(scope, amz_dates[0], service)
    _check_clock(amz_dates[0], now)
    cred = credentials.lookup(scope[0])
    if cred is None:
        raise StandinError("UnrecognizedClientException", BAD_TOKEN)
    _check_token(cred, headers, signed)
    _check_content_sha(headers, signed, body)
    expected = compute_signature(method, raw_path, headers, body, signed, cred, scope[2], amz_dates[0], service)
    if not hmac.compare_digest(expected, parts["Signature"]):
        raise _invalid(MISMATCH)
    return scope[0], scope[2]


def _check_token(cred, headers, signed):
    tokens = _header_values(headers, "x-amz-security-token")
    wanted = cred.get("session_token")
    if wanted is None:
        if tokens:
            raise StandinError("UnrecognizedClientException", BAD_TOKEN)
        return
    if len(tokens) != 1 or not hmac.compare_digest(tokens[0].encode(), wanted.encode()):
        raise StandinError("UnrecognizedClientException", BAD_TOKEN)
    if "x-amz-security-token" not in signed:
        raise _invalid("'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.")


def _check_content_sha(headers, signed, body):
    values = _header_values(headers, "x-amz-content-sha256")
    if values and "x-amz-content-sha256" in signed:
        if values[0].strip() != hashlib.sha256(body).hexdigest():
            raise _invalid("The provided 'x-amz-content-sha256' header does not match what was computed.")


def compute_signature(method, raw_path, headers, body, signed, cred, region, amz_date, service=SERVICE):
    """Signature botocore computes for this request (only ``signed`` headers, as received)."""
    host = _header_values(headers, "host")
    if len(host) != 1:
        raise _invalid(MISMATCH)
    request = AWSRequest(method=method, url=f"http://{host[0]}{raw_path}", data=body)
    for name in signed:
        values = _header_values(headers, name)
        if not values:
            raise _invalid(f"The request signature we calculated does not match the signature you "
                           f"provided: signed header '{name}' is missing from the request.")
        for value in values:
            request.headers[name] = value  # HTTPHeaders appends repeated names
    request.context["timestamp"] = amz_date
    creds = Credentials(cred["access_key_id"], cred["secret_access_key"], cred.get("session_token"))
    signer = _ServerSideSigV4(creds, service, region)
    canonical = signer.canonical_request(request)
    return signer.signature(signer.string_to_sign(request, canonical), request)
