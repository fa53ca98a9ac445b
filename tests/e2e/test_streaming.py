"""Streamed chat completions end to end, with the Python and the npm OpenAI SDKs."""

import time

import httpx
import openai
import pytest

try:  # openai 3 reads responses with httpx2 (its fork of httpx); older releases with httpx
    import httpx2
    TRANSPORT_ERRORS = (httpx.HTTPError, httpx2.HTTPError)
except ImportError:
    TRANSPORT_ERRORS = (httpx.HTTPError,)

from e2e.helpers import ALL_MODELS, CLAUDE, LLAMA, SEED_MESSAGES, chat_body, default_headers, node


def collect(stream):
    return [c for c in stream]


def check_chunks(chunks, model, include_usage):
    """The contract's stream shape: same id/created/model, role first, finish last, usage when asked."""
    assert chunks, "no chunks"
    ids = {(c.id, c.created, c.model, c.object) for c in chunks}
    assert len(ids) == 1, ids
    (cid, _, cmodel, obj) = ids.pop()
    assert cid.startswith("chatcmpl-") and cmodel == model and obj == "chat.completion.chunk"
    choice_chunks = [c for c in chunks if c.choices]
    assert choice_chunks[0].choices[0].delta.role == "assistant"
    assert all(c.choices[0].delta.role is None for c in choice_chunks[1:])
    finishes = [c.choices[0].finish_reason for c in choice_chunks]
    assert finishes[-1] == "stop" and all(f is None for f in finishes[:-1])
    text = "".join(c.choices[0].delta.content or "" for c in choice_chunks)
    assert text == f"Hello from the Bedrock stand-in ({model})."
    usage_chunks = [c for c in chunks if c.usage is not None]
    if include_usage:
        assert len(usage_chunks) == 1 and usage_chunks[0] is chunks[-1] and chunks[-1].choices == []
        u = usage_chunks[0].usage
        assert u.prompt_tokens > 0 and u.total_tokens == u.prompt_tokens + u.completion_tokens
    else:
        assert usage_chunks == []
    return text


@pytest.mark.parametrize("model", ALL_MODELS)
@pytest.mark.parametrize("include_usage", [False, True])
def test_python_sdk_streams_every_model(client, standin, model, include_usage):
    kwargs = {"stream_options": {"include_usage": True}} if include_usage else {}
    chunks = collect(client.chat.completions.create(model=model, messages=SEED_MESSAGES, stream=True, **kwargs))
    check_chunks(chunks, model, include_usage)
    [seen] = standin.requests()
    assert seen["operation"] == "ConverseStream" and seen["status"] == 200
    assert seen["path"].endswith("/converse-stream")


@pytest.mark.parametrize("model", ALL_MODELS)
def test_npm_sdk_streams_every_model(gateway, standin, model):
    for include_usage in (False, True):
        req = {"model": model, "messages": SEED_MESSAGES, "stream": True}
        if include_usage:
            req["stream_options"] = {"include_usage": True}
        events = node(gateway, req)
        assert all("chunk" in e for e in events), events
        chunks = [e["chunk"] for e in events]
        text = "".join((c["choices"][0]["delta"].get("content") or "") for c in chunks if c["choices"])
        assert text == f"Hello from the Bedrock stand-in ({model})."
        assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
        assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"
        assert ("usage" in chunks[-1] and chunks[-1]["choices"] == []) == include_usage


def test_npm_sdk_non_streamed_and_errors(gateway, standin):
    [ev] = node(gateway, {"model": LLAMA, "messages": SEED_MESSAGES})
    assert ev["completion"]["choices"][0]["message"]["content"].startswith("Hello from the Bedrock stand-in")
    standin.script({"exception": "throttlingException", "message": "Too many tokens"})
    events = node(gateway, {"model": CLAUDE, "messages": SEED_MESSAGES, "stream": True})
    assert "error" in events[-1], events
    assert "throttlingException" in events[-1]["error"]["message"]


def test_response_headers_of_a_stream(gateway, standin):
    with httpx.stream("POST", gateway.base_url + "/chat/completions", headers=default_headers(),
                      json=chat_body(stream=True), timeout=30) as r:
        body = r.read().decode()
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/event-stream"
    assert r.headers["cache-control"] == "no-cache"
    assert "content-length" not in r.headers
    assert body.endswith("data: [DONE]\n\n")
    for event in body.split("\n\n")[:-1]:
        assert event.startswith("data: ")


def test_chunks_leave_as_bedrock_produces_them(gateway, standin, client):
    # 16-byte pieces every 30 ms: the whole stream takes well over a second.
    standin.script({"chunk_bytes": 16, "chunk_delay_ms": 30})
    start = time.monotonic()
    times = []
    for chunk in client.chat.completions.create(model=CLAUDE, messages=SEED_MESSAGES, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            times.append(time.monotonic() - start)
    total = time.monotonic() - start
    assert total > 1.0, total
    assert len(times) >= 3
    # the first text arrived long before the stand-in wrote its last byte
    assert times[0] < total / 2, (times, total)


FAULTS = [
    ({"exception": "throttlingException", "message": "slow down"}, "throttlingException"),
    ({"exception": "modelStreamErrorException", "message": "model broke"}, "modelStreamErrorException"),
    ({"exception": "validationException", "message": "bad"}, "validationException"),
    ({"exception": "internalServerException", "message": "oops"}, "internalServerException"),
    ({"exception": "serviceUnavailableException", "message": "down"}, "serviceUnavailableException"),
    ({"truncate": True}, "ended inside a frame"),
    ({"bad_crc": True}, "malformed"),
    ({"no_message_stop": True}, "before messageStop"),
]


@pytest.mark.parametrize("script,needle", FAULTS, ids=[f[1] for f in FAULTS])
def test_stream_faults_raise_in_the_sdk_and_the_next_request_works(client, standin, gateway, script, needle):
    standin.script(script)
    start = time.monotonic()
    with pytest.raises(openai.APIError) as exc:
        collect(client.chat.completions.create(model=CLAUDE, messages=SEED_MESSAGES, stream=True))
    assert needle in str(exc.value.message), exc.value.message
    assert time.monotonic() - start < 10
    # Envoy is healthy and the next request succeeds
    chunks = collect(client.chat.completions.create(model=CLAUDE, messages=SEED_MESSAGES, stream=True))
    check_chunks(chunks, CLAUDE, False)
    assert httpx.get(gateway.admin_url + "/ready").text == "LIVE\n"


@pytest.mark.parametrize("error,status,exc_type", [
    ("ThrottlingException", 429, openai.RateLimitError),
    ("ValidationException", 400, openai.BadRequestError),
    ("AccessDeniedException", 403, openai.PermissionDeniedError),
])
def test_errors_before_the_stream_are_plain_openai_errors(client, standin, error, status, exc_type):
    standin.script({"error": error, "message": "nope"})
    with pytest.raises(exc_type) as exc:
        collect(client.chat.completions.create(model=CLAUDE, messages=SEED_MESSAGES, stream=True))
    assert exc.value.status_code == status
    assert exc.value.response.headers["content-type"] == "application/json"
    assert exc.value.body["message"] == f"Bedrock {error}: nope"


def test_reset_mid_stream_ends_the_stream(client, standin, gateway):
    standin.script({"reset_connection": "mid_stream"})
    start = time.monotonic()
    with pytest.raises((openai.APIError, *TRANSPORT_ERRORS)):
        collect(client.chat.completions.create(model=CLAUDE, messages=SEED_MESSAGES, stream=True))
    assert time.monotonic() - start < 10
    check_chunks(collect(client.chat.completions.create(model=CLAUDE, messages=SEED_MESSAGES, stream=True)),
                 CLAUDE, False)
