"""Every request the gateway must refuse on its own: OpenAI-shaped error, exact `param`, nothing upstream.

Each case asserts the status, the `param` (and `code` where it matters), the
OpenAI error envelope (assert_openai_error) and that the stand-in recorded no
request at all.
"""

import json
import socket

import httpx
import pytest
import requests

from e2e.helpers import LLAMA, assert_openai_error, chat_body, default_headers, last_converse, post
from e2e.keys import PROJECT_KEY_ALPHA

PATH = "/v1/amazon-bedrock/chat/completions"
MAX_REQUEST_BYTES = 4 * 1024 * 1024  # the filter's default limits.max_request_bytes


def refused(standin, resp, status, param="<any>", code=None, kind=None):
    err = assert_openai_error(resp, status, param=param, code=code, kind=kind)
    assert standin.requests() == [], "the request reached the upstream"
    return err


def raw_http(gateway, head_lines, body=b"", timeout=5):
    """Send a hand-written HTTP/1.1 request; returns (status or None, raw response bytes).

    `head_lines` are the header lines (bytes, no CRLF); the request line and Host are added.
    """
    host, port = gateway.url.removeprefix("http://").split(":")
    req = b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: " + host.encode() + b"\r\nConnection: close\r\n"
    req += b"".join(line + b"\r\n" for line in head_lines) + b"\r\n" + body
    data = b""
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(req)
        try:
            while not _complete(data):
                piece = s.recv(65536)
                if not piece:
                    break
                data += piece
        except (ConnectionResetError, socket.timeout):
            pass
    if not data.startswith(b"HTTP/1.1 "):
        return None, data
    return int(data[9:12]), data


def _complete(data):
    """True once a Content-Length framed response has fully arrived (Envoy delays the close)."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def raw_json_body(data):
    """The JSON body of a raw HTTP/1.1 response (Content-Length framed, as the filter answers)."""
    head, _, body = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), json.loads(body)


def headers_without(**overrides):
    """default_headers() with case-insensitive overrides (helpers.default_headers matches case-sensitively,
    so `content_type=None` would not remove `Content-Type`)."""
    h = default_headers()
    for k, v in overrides.items():
        name = k.replace("_", "-").lower()
        h = {hk: hv for hk, hv in h.items() if hk.lower() != name}
        if v is not None:
            h[name] = v
    return h


def header_lines(**overrides):
    return [f"{k}: {v}".encode() for k, v in headers_without(**overrides).items()]


# -- method, path, content type --------------------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_405_with_allow(gateway, standin, method):
    r = post(gateway, chat_body(), method=method)
    refused(standin, r, 405, code="method_not_allowed")
    assert r.headers["allow"] == "POST"


@pytest.mark.parametrize("path", ["/", "/v1/chat/completions", "/v1/amazon-bedrock/chat/completion",
                                  "/v1/amazon-bedrock/chat/completions/extra",
                                  "/model/meta.llama3-8b-instruct-v1%3A0/converse"])
def test_unknown_path_is_404(gateway, standin, path):
    refused(standin, post(gateway, chat_body(), path=path), 404, code="unknown_url")


def test_query_string_on_the_path_is_accepted(gateway, standin):
    r = post(gateway, chat_body(), path=PATH + "?x=1")
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/x-www-form-urlencoded",
                                          "application/jsonx", "multipart/form-data; boundary=x"],
                         ids=["text-plain", "missing", "form", "jsonx", "multipart"])
def test_content_type_must_be_json(gateway, standin, content_type):
    r = post(gateway, chat_body(), headers=headers_without(content_type=content_type))
    refused(standin, r, 415, param="Content-Type", code="unsupported_media_type")


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON"])
def test_content_type_parameters_and_case_are_accepted(gateway, standin, content_type):
    r = post(gateway, chat_body(), headers=headers_without(content_type=content_type))
    assert r.status_code == 200, r.text


# -- body --------------------------------------------------------------------------------------------

BAD_BODIES = [
    ("empty", b""),
    ("not-json", b"hello"),
    ("truncated-json", b'{"model": "meta.llama3-8b-instruct-v1:0", "messages": ['),
    ("array", b"[]"),
    ("array-of-request", json.dumps([chat_body()]).encode()),
    ("string", b'"hello"'),
    ("number", b"42"),
    ("null", b"null"),
    ("invalid-utf8-in-string", b'{"model": "meta.llama3-8b-instruct-v1:0", "messages": '
                               b'[{"role": "user", "content": "caf\xe9 \xff\xfe"}]}'),
    ("invalid-utf8-bare", b"\xff\xfe\xfd"),
    ("nested-10000-arrays", b'{"model": "meta.llama3-8b-instruct-v1:0", "x": ' + b"[" * 10000
     + b"]" * 10000 + b"}"),
    ("nested-10000-objects", b'{"a":' * 10000 + b"1" + b"}" * 10000),
]


@pytest.mark.parametrize("raw", [b for _, b in BAD_BODIES], ids=[i for i, _ in BAD_BODIES])
def test_body_must_be_a_json_object(gateway, standin, raw):
    r = post(gateway, None, raw=raw)
    refused(standin, r, 400, param="body", code="invalid_request")


def test_nested_json_does_not_hurt_the_gateway(gateway, standin):
    r = post(gateway, None, raw=b"[" * 100000 + b"]" * 100000)
    refused(standin, r, 400, param="body")
    assert post(gateway, chat_body()).status_code == 200


def test_body_over_the_limit_is_413(gateway, standin):
    # Sent chunked (no Content-Length), so the filter has to count the bytes as they arrive.
    big = json.dumps(chat_body(messages=[{"role": "user", "content": "x" * MAX_REQUEST_BYTES}])).encode()

    def pieces():
        for i in range(0, len(big), 256 * 1024):
            yield big[i:i + 256 * 1024]

    r = requests.post(gateway.url + PATH, data=pieces(), headers=default_headers(), timeout=30)
    err = refused(standin, r, 413, code="request_too_large")
    assert str(MAX_REQUEST_BYTES) in err["message"]


def test_body_declared_over_the_limit_is_413_before_it_is_sent(gateway, standin):
    # Only the headers go out: the filter answers from Content-Length alone.
    status, data = raw_http(gateway, header_lines() + [f"Content-Length: {MAX_REQUEST_BYTES + 1}".encode()])
    assert status == 413, data[:500]
    head, body = raw_json_body(data)
    assert "application/json" in head.lower()
    assert body["error"]["code"] == "request_too_large"
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert standin.requests() == []


def test_body_just_under_the_limit_is_read(gateway, standin):
    # A body a few bytes under the cap is read whole and judged on its content (here: a bad field).
    filler = "x" * (MAX_REQUEST_BYTES - 200)
    r = post(gateway, chat_body(temperature=9, user=filler))
    assert len(r.request.body) <= MAX_REQUEST_BYTES
    refused(standin, r, 400, param="temperature")


# -- aws-* headers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("header", ["aws-access-key-id", "aws-secret-access-key", "aws-region-name"])
def test_missing_aws_header(gateway, standin, header):
    r = post(gateway, chat_body(), headers=default_headers(**{header: None}))
    err = refused(standin, r, 400, param=header, code="invalid_request")
    assert header in err["message"]


@pytest.mark.parametrize("value", [b"", b"   "], ids=["empty", "spaces"])
@pytest.mark.parametrize("header", ["aws-access-key-id", "aws-secret-access-key", "aws-region-name",
                                    "aws-session-token"])
def test_blank_aws_header(gateway, standin, header, value):
    # requests refuses a blank-looking value; write the header by hand
    body = json.dumps(chat_body()).encode()
    lines = [line for line in header_lines() if not line.lower().startswith(header.encode() + b":")]
    lines += [header.encode() + b":" + value, f"Content-Length: {len(body)}".encode()]
    status, data = raw_http(gateway, lines, body)
    assert status == 400, data[:500]
    err = raw_json_body(data)[1]["error"]
    assert err["param"] == header and err["code"] == "invalid_request", err
    assert standin.requests() == []


@pytest.mark.parametrize("region", ["us-east-1.evil.example", "us-east-1/..", "US-EAST-1", "us-east-1:443",
                                    "us-east-1@evil.example", "evil.example#", "us-east", "1-east-1",
                                    "us-east-1 ", "u-east-1", "x" * 40 + "-1"])
def test_region_injection_is_refused(gateway, standin, region):
    r = post(gateway, chat_body(), headers=default_headers(aws_region_name=region))
    if region == "us-east-1 ":
        # trailing whitespace is not part of a header value (RFC 9110): the value is plain us-east-1
        assert r.status_code == 200, r.text
        return
    refused(standin, r, 400, param="aws-region-name")


@pytest.mark.parametrize("value", [b"us-east-1\r\n x: y", b"us-east-1\rx: y", b"us-east-1\x00x", b"us-east-1\x7f"],
                         ids=["obs-fold", "bare-cr", "nul", "del"])
def test_region_with_control_characters_never_goes_upstream(gateway, standin, value):
    body = json.dumps(chat_body()).encode()
    lines = [line for line in header_lines() if not line.lower().startswith(b"aws-region-name")]
    lines += [b"aws-region-name: " + value, f"Content-Length: {len(body)}".encode()]
    status, data = raw_http(gateway, lines, body)
    # Envoy's own 400 (bad request line/header) or ours; nothing upstream either way.
    assert status == 400 or status is None, data[:500]
    assert standin.requests() == []


def test_region_split_by_crlf_is_just_another_header(gateway, standin):
    # A CRLF on the wire ends the header line: "x: y" becomes a separate header and the region is
    # plain us-east-1. Nothing of "x: y" may end up in the signed host or the signature scope.
    body = json.dumps(chat_body()).encode()
    lines = [line for line in header_lines() if not line.lower().startswith(b"aws-region-name")]
    lines += [b"aws-region-name: us-east-1\r\nx: y", f"Content-Length: {len(body)}".encode()]
    status, data = raw_http(gateway, lines, body)
    assert status == 200, data[:500]
    sent = last_converse(standin)
    headers = {k.lower(): v for k, v in sent["headers"]}
    assert "/us-east-1/bedrock/aws4_request" in headers["authorization"]


# -- project key ------------------------------------------------------------------------------------

def test_two_project_keys_are_401(gateway, standin):
    headers = [(k, v) for k, v in default_headers().items()] + [("Project-Api-Key", PROJECT_KEY_ALPHA)]
    r = httpx.post(gateway.url + PATH, headers=headers, content=json.dumps(chat_body()).encode(), timeout=10)
    assert r.status_code == 401, r.text
    err = r.json()["error"]
    assert err["param"] == "Project-Api-Key" and err["code"] == "invalid_api_key"
    assert err["type"] == "authentication_error"
    assert PROJECT_KEY_ALPHA not in r.text
    assert standin.requests() == []


def test_two_project_keys_raw_socket_are_401(gateway, standin):
    body = json.dumps(chat_body()).encode()
    lines = header_lines() + [b"project-api-key: " + PROJECT_KEY_ALPHA.encode(),
                              f"Content-Length: {len(body)}".encode()]
    status, data = raw_http(gateway, lines, body)
    assert status == 401, data[:500]
    assert raw_json_body(data)[1]["error"]["code"] == "invalid_api_key"
    assert standin.requests() == []


@pytest.mark.parametrize("case", ["bad-body", "bad-method", "bad-path", "bad-content-type", "no-aws-headers"])
def test_project_key_is_checked_first(gateway, standin, case):
    headers = headers_without(project_api_key=None)
    kwargs = {}
    if case == "bad-body":
        kwargs["raw"] = b"not json"
    elif case == "bad-method":
        kwargs["method"] = "GET"
    elif case == "bad-path":
        kwargs["path"] = "/nope"
    elif case == "bad-content-type":
        headers = headers_without(project_api_key=None, content_type="text/plain")
    elif case == "no-aws-headers":
        headers = {"Content-Type": "application/json"}
    r = post(gateway, {"model": 3}, headers=headers, **kwargs)
    refused(standin, r, 401, param="Project-Api-Key", code="invalid_api_key", kind="authentication_error")


def test_wrong_project_key_with_bad_body_is_401(gateway, standin):
    r = post(gateway, None, raw=b"[", headers=headers_without(project_api_key="sk-wrong"))
    refused(standin, r, 401, param="Project-Api-Key", code="invalid_api_key")


# -- fields -----------------------------------------------------------------------------------------

def _without(key):
    body = chat_body()
    del body[key]
    return body


def _msgs(*messages):
    return chat_body(messages=list(messages))


USER = {"role": "user", "content": "hi"}

FIELD_CASES = [
    # id, body, status, param, code
    ("model-missing", _without("model"), 400, "model", "invalid_request"),
    ("model-null", chat_body(model=None), 400, "model", "invalid_request"),
    ("model-number", chat_body(model=3), 400, "model", "invalid_request"),
    ("model-list", chat_body(model=[LLAMA]), 400, "model", "invalid_request"),
    ("model-unsupported", chat_body(model="gpt-4o"), 404, "model", "model_not_found"),
    ("model-case", chat_body(model=LLAMA.upper()), 404, "model", "model_not_found"),
    ("model-unescaped-path", chat_body(model="meta.llama3-8b-instruct-v1:0/../x"), 404, "model",
     "model_not_found"),
    ("messages-missing", _without("messages"), 400, "messages", "invalid_request"),
    ("messages-null", {"model": LLAMA, "messages": None}, 400, "messages", "invalid_request"),
    ("messages-object", {"model": LLAMA, "messages": USER}, 400, "messages", "invalid_request"),
    ("messages-string", {"model": LLAMA, "messages": "hi"}, 400, "messages", "invalid_request"),
    ("messages-empty", {"model": LLAMA, "messages": []}, 400, "messages", "invalid_request"),
    ("message-not-object", _msgs(USER, "hi"), 400, "messages.[1]", "invalid_request"),
    ("message-null", _msgs(None), 400, "messages.[0]", "invalid_request"),
    ("role-missing", _msgs({"content": "hi"}), 400, "messages.[0].role", "invalid_request"),
    ("role-unknown", _msgs(USER, {"role": "wizard", "content": "hi"}), 400, "messages.[1].role",
     "invalid_request"),
    ("role-number", _msgs({"role": 1, "content": "hi"}), 400, "messages.[0].role", "invalid_request"),
    ("content-number", _msgs({"role": "user", "content": 5}), 400, "messages.[0].content", "invalid_request"),
    ("content-object", _msgs({"role": "user", "content": {"type": "text", "text": "hi"}}), 400,
     "messages.[0].content", "invalid_request"),
    ("content-missing-user", _msgs({"role": "user"}), 400, "messages.[0].content", "invalid_request"),
    ("part-without-text", _msgs({"role": "user", "content": [{"type": "text"}]}), 400,
     "messages.[0].content.[0].text", "invalid_request"),
    ("part-text-number", _msgs({"role": "user", "content": [{"type": "text", "text": 1}]}), 400,
     "messages.[0].content.[0].text", "invalid_request"),
    ("part-unknown-type", _msgs(USER, {"role": "user", "content": [
        {"type": "text", "text": "a"}, {"type": "input_audio", "input_audio": {}}]}), 400,
     "messages.[1].content.[1].type", "invalid_request"),
    ("part-no-type", _msgs({"role": "user", "content": [{"text": "a"}]}), 400,
     "messages.[0].content.[0].type", "invalid_request"),
    ("part-not-object", _msgs({"role": "user", "content": ["a"]}), 400, "messages.[0].content.[0]",
     "invalid_request"),
    ("temperature-negative", chat_body(temperature=-0.1), 400, "temperature", "invalid_request"),
    ("temperature-too-high", chat_body(temperature=2.1), 400, "temperature", "invalid_request"),
    ("temperature-string", chat_body(temperature="1"), 400, "temperature", "invalid_request"),
    ("temperature-bool", chat_body(temperature=True), 400, "temperature", "invalid_request"),
    ("top_p-negative", chat_body(top_p=-0.1), 400, "top_p", "invalid_request"),
    ("top_p-too-high", chat_body(top_p=1.1), 400, "top_p", "invalid_request"),
    ("top_p-string", chat_body(top_p="0.5"), 400, "top_p", "invalid_request"),
    ("max_tokens-zero", chat_body(max_tokens=0), 400, "max_tokens", "invalid_request"),
    ("max_tokens-negative", chat_body(max_tokens=-1), 400, "max_tokens", "invalid_request"),
    ("max_tokens-fraction", chat_body(max_tokens=1.5), 400, "max_tokens", "invalid_request"),
    ("max_tokens-string", chat_body(max_tokens="10"), 400, "max_tokens", "invalid_request"),
    ("max_completion_tokens-zero", chat_body(max_completion_tokens=0), 400, "max_completion_tokens",
     "invalid_request"),
    ("stop-five", chat_body(stop=["a", "b", "c", "d", "e"]), 400, "stop", "invalid_request"),
    ("stop-number-item", chat_body(stop=[1]), 400, "stop", "invalid_request"),
    ("stop-number", chat_body(stop=3), 400, "stop", "invalid_request"),
    ("stop-empty-string", chat_body(stop=[""]), 400, "stop", "invalid_request"),
    ("n-2", chat_body(n=2), 400, "n", "invalid_request"),
    ("n-0", chat_body(n=0), 400, "n", "invalid_request"),
    ("n-string", chat_body(n="1"), 400, "n", "invalid_request"),
    ("timeout-zero", chat_body(timeout=0), 400, "timeout", "invalid_request"),
    ("timeout-negative", chat_body(timeout=-5), 400, "timeout", "invalid_request"),
    ("timeout-string", chat_body(timeout="x"), 400, "timeout", "invalid_request"),
    ("timeout-fraction", chat_body(timeout=0.5), 400, "timeout", "invalid_request"),
    ("stream-string", chat_body(stream="yes"), 400, "stream", "invalid_request"),
    ("stream-number", chat_body(stream=1), 400, "stream", "invalid_request"),
    ("stream_options-include_usage-string", chat_body(stream=True, stream_options={"include_usage": "yes"}),
     400, "stream_options.include_usage", "invalid_request"),
    ("stream_options-not-object", chat_body(stream=True, stream_options=True), 400, "stream_options",
     "invalid_request"),
    ("response_format-unknown-type", chat_body(response_format={"type": "xml"}), 400,
     "response_format.type", "invalid_request"),
    ("response_format-json_schema", chat_body(response_format={"type": "json_schema", "json_schema": {
        "name": "x", "schema": {"type": "object"}}}), 400, "response_format", "invalid_request"),
    ("logprobs-true", chat_body(logprobs=True), 400, "logprobs", "invalid_request"),
    ("functions", chat_body(functions=[{"name": "f", "parameters": {"type": "object"}}]), 400, "functions",
     "invalid_request"),
    ("function_call", chat_body(function_call="auto"), 400, "function_call", "invalid_request"),
    ("tools-not-array", chat_body(tools={"type": "function"}), 400, "tools", "invalid_request"),
]


@pytest.mark.parametrize("body,status,param,code", [c[1:] for c in FIELD_CASES], ids=[c[0] for c in FIELD_CASES])
def test_invalid_field(gateway, standin, body, status, param, code):
    r = post(gateway, body)
    refused(standin, r, status, param=param, code=code, kind="invalid_request_error")


@pytest.mark.parametrize("body,status,param,code", [c[1:] for c in FIELD_CASES[:8]],
                         ids=[c[0] for c in FIELD_CASES[:8]])
def test_invalid_field_streamed_is_a_plain_json_error(gateway, standin, body, status, param, code):
    # stream: true does not change how a refusal looks: JSON, not SSE
    r = post(gateway, dict(body, stream=True))
    refused(standin, r, status, param=param, code=code)


def test_unsupported_model_is_named_in_the_message(gateway, standin):
    r = post(gateway, chat_body(model="gpt-4o"))
    err = refused(standin, r, 404, param="model", code="model_not_found")
    assert "gpt-4o" in err["message"]


ACCEPTED = [
    ("n-1", {"n": 1}),
    ("n-null", {"n": None}),
    ("logprobs-false", {"logprobs": False}),
    ("response_format-text", {"response_format": {"type": "text"}}),
    ("temperature-0-top_p-0", {"temperature": 0, "top_p": 0}),
    ("top_p-1", {"top_p": 1}),
    # OpenAI's range is 0..2 (CONTRACT.md); Bedrock's Converse takes 0..1, so the gateway must adapt
    ("temperature-1.5", {"temperature": 1.5}),
    ("temperature-2", {"temperature": 2}),
    ("stop-string", {"stop": "END"}),
    ("stop-four", {"stop": ["a", "b", "c", "d"]}),
    ("timeout-30", {"timeout": 30}),
    ("nulls", {"temperature": None, "top_p": None, "max_tokens": None, "stop": None, "stream": None,
               "timeout": None, "tools": None, "tool_choice": None, "stream_options": None}),
]


@pytest.mark.parametrize("fields", [a[1] for a in ACCEPTED], ids=[a[0] for a in ACCEPTED])
def test_accepted_values(gateway, standin, fields):
    r = post(gateway, chat_body(**fields))
    assert r.status_code == 200, r.text
    assert r.json()["object"] == "chat.completion"
    last_converse(standin)


# `user` and `metadata` are not here: they become Bedrock's requestMetadata (test_options.py).
IGNORED = {
    "seed": 42,
    "presence_penalty": 0.5,
    "frequency_penalty": -0.5,
    "logit_bias": {"50256": -100},
    "store": True,
    "parallel_tool_calls": False,
}


@pytest.mark.parametrize("field", sorted(IGNORED))
def test_accepted_but_ignored_field(gateway, standin, field):
    r = post(gateway, chat_body(**{field: IGNORED[field]}))
    assert r.status_code == 200, r.text
    sent = last_converse(standin)
    assert field not in sent["json"]
    assert f'"{field}":' not in sent["body"]
    assert sent["json"]["messages"] == [{"role": "user", "content": [{"text": "Hello!"}]}]


def test_all_ignored_fields_together(gateway, standin):
    r = post(gateway, chat_body(**IGNORED))
    assert r.status_code == 200, r.text
    sent = last_converse(standin)
    for field in IGNORED:
        assert f'"{field}":' not in sent["body"]
    assert set(sent["json"]) <= {"messages", "system", "inferenceConfig", "requestMetadata"}, sent["json"]
    assert sent["json"]["requestMetadata"] == {"project": "alpha"}
