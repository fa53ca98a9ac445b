"""Bedrock's errors and upstream faults, as the OpenAI client sees them through the gateway.

Bedrock errors keep their status and meaning; faults (reset, garbage, slow
upstream) end in a well-formed OpenAI error within a bounded time, and the
gateway stays healthy for the next request.
"""

import time

import httpx
import openai
import pytest

from e2e.helpers import CLAUDE, LLAMA, SEED_MESSAGES, assert_openai_error, chat_body, post

# name, status, OpenAI type, OpenAI code, SDK exception (most specific class the SDK has)
BEDROCK_ERRORS = [
    ("AccessDeniedException", 403, "permission_error", "access_denied", openai.PermissionDeniedError),
    ("ValidationException", 400, "invalid_request_error", "bedrock_validation_error", openai.BadRequestError),
    ("ThrottlingException", 429, "rate_limit_error", "rate_limit_exceeded", openai.RateLimitError),
    ("ModelTimeoutException", 408, "timeout_error", "model_timeout", openai.APIStatusError),
    ("ResourceNotFoundException", 404, "not_found_error", "model_not_found", openai.NotFoundError),
    ("ModelErrorException", 424, "api_error", "model_error", openai.APIStatusError),
    ("ModelNotReadyException", 429, "rate_limit_error", "model_not_ready", openai.RateLimitError),
    ("ServiceUnavailableException", 503, "api_error", "service_unavailable", openai.InternalServerError),
    ("InternalServerException", 500, "api_error", "internal_error", openai.InternalServerError),
]


def healthy(gateway, client, stream=False):
    """Envoy still answers /ready and the next request succeeds."""
    assert httpx.get(gateway.admin_url + "/ready", timeout=5).text == "LIVE\n"
    if stream:
        chunks = list(client.chat.completions.create(model=CLAUDE, messages=SEED_MESSAGES, stream=True))
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).startswith("Hello")
    else:
        resp = client.chat.completions.create(model=LLAMA, messages=SEED_MESSAGES)
        assert resp.choices[0].message.content.startswith("Hello from the Bedrock stand-in")


@pytest.fixture
def quick_client(gateway, client):
    """The test client with a short timeout, so a hung gateway fails the test fast."""
    return client.with_options(timeout=5)


# -- Bedrock's declared errors ---------------------------------------------------------------------

@pytest.mark.parametrize("name,status,kind,code,exc_type", BEDROCK_ERRORS, ids=[e[0] for e in BEDROCK_ERRORS])
def test_bedrock_error_keeps_status_and_meaning(quick_client, standin, name, status, kind, code, exc_type):
    standin.script({"error": name, "message": "the upstream said no"})
    with pytest.raises(exc_type) as exc:
        quick_client.chat.completions.create(model=LLAMA, messages=SEED_MESSAGES)
    e = exc.value
    assert e.status_code == status
    assert e.response.headers["content-type"] == "application/json"
    assert e.body == {"message": f"Bedrock {name}: the upstream said no", "type": kind, "param": None,
                      "code": code}
    [seen] = standin.requests()
    assert (seen["status"], seen["error_type"]) == (status, name)


@pytest.mark.parametrize("name,status,kind,code,exc_type", BEDROCK_ERRORS, ids=[e[0] for e in BEDROCK_ERRORS])
def test_bedrock_error_raw_http(gateway, standin, name, status, kind, code, exc_type):
    # the same through plain HTTP: exactly the OpenAI envelope, Content-Length matching the rewritten body
    standin.script({"error": name, "message": "nope"})
    r = post(gateway, chat_body(), timeout=5)
    err = assert_openai_error(r, status, param=None, kind=kind, code=code)
    assert err["message"] == f"Bedrock {name}: nope"
    if "content-length" in r.headers:
        assert int(r.headers["content-length"]) == len(r.content)


@pytest.mark.parametrize("name,status,kind,code,exc_type", BEDROCK_ERRORS, ids=[e[0] for e in BEDROCK_ERRORS])
def test_bedrock_error_before_a_stream(quick_client, standin, name, status, kind, code, exc_type):
    standin.script({"error": name, "message": "stream refused"})
    with pytest.raises(exc_type) as exc:
        list(quick_client.chat.completions.create(model=CLAUDE, messages=SEED_MESSAGES, stream=True))
    assert exc.value.status_code == status
    assert exc.value.body["message"] == f"Bedrock {name}: stream refused"
    assert exc.value.body["type"] == kind


def test_long_upstream_message_is_truncated(gateway, standin):
    standin.script({"error": "ValidationException", "message": "v" * 5000})
    err = assert_openai_error(post(gateway, chat_body(), timeout=5), 400, kind="invalid_request_error")
    assert err["message"].startswith("Bedrock ValidationException: vvv")
    assert len(err["message"]) <= 1024


# -- upstream faults ----------------------------------------------------------------------------------

FAULTS = [
    # id, script, expected status, expected type, expected code, text expected in the message
    ("reset-before-response", {"reset_connection": "before_response"}, 503, "api_error",
     "upstream_unavailable", "Upstream answered 503"),
    ("200-not-json", {"raw": {"status": 200, "headers": {"content-type": "application/json"},
                              "body": "not json"}}, 502, "api_error", "bad_upstream_response", None),
    ("200-no-output-message", {"raw": {"status": 200, "headers": {"content-type": "application/json"},
                                       "body": {"output": {}, "stopReason": "end_turn"}}}, 502, "api_error",
     "bad_upstream_response", None),
    ("200-json-array", {"raw": {"status": 200, "headers": {"content-type": "application/json"},
                                "body": [1, 2]}}, 502, "api_error", "bad_upstream_response", None),
    ("500-json-no-error-type", {"raw": {"status": 500, "headers": {"content-type": "application/json"},
                                        "body": {"message": "kaboom"}}}, 500, "api_error", "upstream_error",
     "Upstream answered 500: kaboom"),
    ("503-json-no-error-type", {"raw": {"status": 503, "headers": {"content-type": "application/json"},
                                        "body": {"message": "come back later"}}}, 503, "api_error",
     "upstream_unavailable", "Upstream answered 503: come back later"),
    ("500-html", {"raw": {"status": 500, "headers": {"content-type": "text/html"},
                          "body": "<html><body>Internal Server Error</body></html>"}}, 500, "api_error",
     "upstream_error", "Internal Server Error"),
    ("503-text", {"raw": {"status": 503, "headers": {"content-type": "text/plain"},
                          "body": "Service Unavailable"}}, 503, "api_error", "upstream_unavailable",
     "Service Unavailable"),
    ("429-error-type-only-in-header", {"raw": {"status": 429, "headers": {
        "content-type": "application/json",
        "x-amzn-ErrorType": "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/"},
        "body": {"Message": "capital M"}}}, 429, "rate_limit_error", "rate_limit_exceeded",
     "Bedrock ThrottlingException: capital M"),
    ("302-redirect", {"raw": {"status": 302, "headers": {"location": "http://example.invalid/"},
                              "body": "moved"}}, 502, "api_error", None, None),
]


@pytest.mark.parametrize("script,status,kind,code,needle", [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS])
def test_upstream_fault_is_a_bounded_openai_error(gateway, standin, quick_client, script, status, kind, code,
                                                  needle):
    standin.script(script)
    start = time.monotonic()
    r = post(gateway, chat_body(), timeout=5)
    assert time.monotonic() - start < 4
    err = assert_openai_error(r, status, kind=kind, code=code)
    if needle:
        assert needle in err["message"], err
    if "content-length" in r.headers:
        assert int(r.headers["content-length"]) == len(r.content)
    healthy(gateway, quick_client)


@pytest.mark.parametrize("status,code", [(500, "upstream_error"), (503, "upstream_unavailable"),
                                         (429, "rate_limit_exceeded"), (403, "upstream_auth_error")])
def test_error_status_with_an_empty_body(gateway, standin, quick_client, status, code):
    # Headers only (Content-Length: 0): the response body callback may never come. The client waits 5 s
    # at most, so a filter that pauses for a body that never arrives fails here quickly.
    standin.script({"raw": {"status": status, "headers": {"content-type": "application/json"}, "body": ""}})
    start = time.monotonic()
    try:
        r = post(gateway, chat_body(), timeout=5)
    except Exception as e:  # noqa: BLE001  (report the hang as a plain failure)
        pytest.fail(f"no answer within 5 s for an empty {status} upstream answer: {e!r}")
    assert time.monotonic() - start < 4
    err = assert_openai_error(r, status, code=code)
    assert err["message"].startswith(f"Upstream answered {status}")
    healthy(gateway, quick_client)


@pytest.mark.parametrize("status", [500, 503])
def test_error_status_with_an_empty_body_before_a_stream(gateway, standin, quick_client, status):
    standin.script({"raw": {"status": status, "headers": {"content-type": "application/json"}, "body": ""}})
    try:
        r = post(gateway, chat_body(model=CLAUDE, stream=True), timeout=5)
    except Exception as e:  # noqa: BLE001
        pytest.fail(f"no answer within 5 s for an empty {status} upstream answer to a stream: {e!r}")
    assert_openai_error(r, status, kind="api_error")
    healthy(gateway, quick_client, stream=True)


def test_empty_200_body_is_502(gateway, standin, quick_client):
    standin.script({"raw": {"status": 200, "headers": {"content-type": "application/json"}, "body": ""}})
    try:
        r = post(gateway, chat_body(), timeout=5)
    except Exception as e:  # noqa: BLE001
        pytest.fail(f"no answer within 5 s for an empty 200 upstream answer: {e!r}")
    assert_openai_error(r, 502, code="bad_upstream_response")
    healthy(gateway, quick_client)


def test_reset_before_response_with_the_sdk(quick_client, standin, gateway):
    standin.script({"reset_connection": "before_response"})
    with pytest.raises(openai.InternalServerError) as exc:
        quick_client.chat.completions.create(model=LLAMA, messages=SEED_MESSAGES)
    assert exc.value.status_code == 503
    assert exc.value.body["type"] == "api_error"
    healthy(gateway, quick_client)


def test_reset_before_a_stream(quick_client, standin, gateway):
    standin.script({"reset_connection": "before_response"})
    with pytest.raises(openai.InternalServerError) as exc:
        list(quick_client.chat.completions.create(model=CLAUDE, messages=SEED_MESSAGES, stream=True))
    assert exc.value.status_code == 503
    assert exc.value.response.headers["content-type"] == "application/json"
    healthy(gateway, quick_client, stream=True)


# -- the request's `timeout` -------------------------------------------------------------------------

def test_upstream_slower_than_timeout_is_504(gateway, standin, quick_client):
    standin.script({"delay_ms": 3000})
    start = time.monotonic()
    r = post(gateway, chat_body(timeout=1), timeout=5)
    elapsed = time.monotonic() - start
    err = assert_openai_error(r, 504, kind="timeout_error", code="upstream_timeout")
    assert 0.9 < elapsed < 2.5, elapsed
    assert err["message"]
    healthy(gateway, quick_client)


def test_upstream_slower_than_timeout_with_the_sdk(quick_client, standin, gateway):
    standin.script({"delay_ms": 3000})
    start = time.monotonic()
    with pytest.raises(openai.InternalServerError) as exc:
        quick_client.chat.completions.create(model=LLAMA, messages=SEED_MESSAGES, timeout=5,
                                             extra_body={"timeout": 1})
    assert time.monotonic() - start < 2.5
    assert exc.value.status_code == 504
    assert exc.value.body["type"] == "timeout_error"
    healthy(gateway, quick_client)


def test_streamed_upstream_slower_than_timeout_is_504(gateway, standin, quick_client):
    standin.script({"delay_ms": 3000})
    start = time.monotonic()
    r = post(gateway, chat_body(model=CLAUDE, stream=True, timeout=1), timeout=5)
    assert time.monotonic() - start < 2.5
    # nothing was streamed yet: a plain JSON error, not an event stream
    assert_openai_error(r, 504, kind="timeout_error", code="upstream_timeout")
    healthy(gateway, quick_client, stream=True)


def test_timeout_within_the_limit_lets_a_slow_upstream_answer(gateway, standin):
    standin.script({"delay_ms": 1200})
    r = post(gateway, chat_body(timeout=3), timeout=6)
    assert r.status_code == 200, r.text
    sent = standin.requests()[0]
    assert "x-envoy-upstream-rq-timeout-ms" not in [k.lower() for k, _ in sent["headers"]]


def test_caller_cannot_set_envoy_timeout_header(gateway, standin, quick_client):
    # A caller-sent x-envoy-upstream-rq-timeout-ms must not beat the request's `timeout`.
    from e2e.helpers import default_headers
    standin.script({"delay_ms": 3000})
    start = time.monotonic()
    r = post(gateway, chat_body(timeout=1), headers=default_headers(**{"x-envoy-upstream-rq-timeout-ms": "60000"}),
             timeout=5)
    assert time.monotonic() - start < 2.5
    assert_openai_error(r, 504, kind="timeout_error")
    healthy(gateway, quick_client)
