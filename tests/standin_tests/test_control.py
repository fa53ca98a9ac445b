"""Control API, recording, scripts for Converse, and connection behaviour."""

import http.client
import json
import threading
import time
import urllib.parse

import pytest
from botocore.exceptions import ClientError

from standin import testing

LLAMA = "meta.llama3-8b-instruct-v1:0"
CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
HELLO = {"messages": [{"role": "user", "content": [{"text": "Hello there"}]}]}


def script(url, behaviour):
    status, _ = testing.control(url, "POST", "/_standin/script", behaviour)
    assert status == 200


def test_health(url):
    assert testing.control(url, "GET", "/_standin/health") == (200, "ok")


def test_recording_and_reset(url, recorded):
    testing.call(url, LLAMA, HELLO)
    testing.call(url, "nope", HELLO)
    recs = recorded()
    assert [(r["model_id"], r["status"], r["error_type"]) for r in recs] == [
        (LLAMA, 200, None), ("nope", 400, "ValidationException")]
    names = [h[0] for h in recs[0]["headers"]]
    assert "Authorization" in names and "X-Amz-Date" in names
    assert json.loads(recs[0]["body"]) == HELLO and recs[0]["method"] == "POST"
    testing.control(url, "POST", "/_standin/reset")
    assert recorded() == []


def test_unknown_operation_is_recorded(url, recorded):
    body = json.dumps(HELLO).encode()
    path = "/model/meta.llama3-8b-instruct-v1%3A0/generate"  # not an operation (invoke is: embeddings)
    status, headers, _ = testing.send(url, path, body, testing.sign(url, path, body))
    assert status == 404 and headers["x-amzn-errortype"].startswith("UnknownOperationException:")
    assert recorded()[-1]["operation"] is None


def test_script_only_for_next_valid_request(url, recorded):
    script(url, {"text": "scripted"})
    testing.call(url, LLAMA, {"messages": []})  # invalid: does not consume the script
    out = testing.client(url).converse(modelId=LLAMA, **HELLO)
    assert out["output"]["message"]["content"] == [{"text": "scripted"}]
    out = testing.client(url).converse(modelId=LLAMA, **HELLO)
    assert out["output"]["message"]["content"][0]["text"].startswith("Hello from")


def test_script_error_with_botocore(url, recorded):
    script(url, {"error": "ModelTimeoutException", "message": "too slow"})
    with pytest.raises(ClientError) as info:
        testing.client(url).converse(modelId=LLAMA, **HELLO)
    err = info.value.response
    assert err["Error"] == {"Code": "ModelTimeoutException", "Message": "too slow"}
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 408
    assert recorded()[-1]["status"] == 408 and recorded()[-1]["error_type"] == "ModelTimeoutException"


@pytest.mark.parametrize("name, status", [("ThrottlingException", 429), ("ServiceUnavailableException", 503),
                                          ("ModelErrorException", 424), ("AccessDeniedException", 403),
                                          ("InternalServerException", 500), ("ResourceNotFoundException", 404)])
def test_error_statuses(url, name, status):
    script(url, {"error": name})
    got, headers, data = testing.call(url, LLAMA, HELLO)
    assert got == status
    assert headers["x-amzn-errortype"] == f"{name}:http://internal.amazon.com/coral/com.amazon.bedrock/"
    assert set(json.loads(data)) == {"message"}


def test_raw(url, recorded):
    script(url, {"raw": {"status": 500, "headers": {"Content-Type": "text/plain"}, "body": "not json"}})
    status, headers, data = testing.call(url, LLAMA, HELLO)
    assert (status, headers["content-type"], data) == (500, "text/plain", b"not json")
    assert recorded()[-1]["status"] == 500


def test_delay(url):
    script(url, {"delay_ms": 300})
    started = time.monotonic()
    assert testing.call(url, LLAMA, HELLO)[0] == 200
    assert time.monotonic() - started >= 0.3


def test_a_request_from_before_a_reset_is_not_recorded_after_it(url, recorded):
    # A test that ends while its request sleeps in a scripted delay must not
    # leave that request among the next test's records.
    script(url, {"delay_ms": 400})
    late = threading.Thread(target=testing.call, args=(url, LLAMA, HELLO))
    late.start()
    time.sleep(0.15)
    testing.control(url, "POST", "/_standin/reset")
    assert testing.call(url, CLAUDE, HELLO)[0] == 200
    late.join()
    assert [r["model_id"] for r in recorded()] == [CLAUDE]


def test_reset_before_response(url, recorded):
    script(url, {"reset_connection": "before_response"})
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        testing.call(url, LLAMA, HELLO)
    assert recorded()[-1]["status"] is None
    assert testing.call(url, LLAMA, HELLO)[0] == 200  # server still fine


def test_bad_script_rejected(url):
    assert testing.control(url, "POST", "/_standin/script", {"txt": "typo"})[0] == 400
    assert testing.control(url, "POST", "/_standin/script", {"reset_connection": "later"})[0] == 400


def test_weather_tool_use_converse(url):
    payload = {"messages": [{"role": "user", "content": [{"text": "What is the weather like?"}]}],
               "toolConfig": {"tools": [{"toolSpec": {"name": "lookup", "inputSchema": {"json": {
                   "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                   "required": ["city"]}}}}]}}
    out = testing.client(url).converse(modelId=CLAUDE, **payload)
    [block] = out["output"]["message"]["content"]
    # Not a weather tool (no `location`): an input that follows the tool's schema.
    assert block["toolUse"]["name"] == "lookup" and set(block["toolUse"]["input"]) == {"city"}
    assert isinstance(block["toolUse"]["input"]["city"], str)
    assert out["stopReason"] == "tool_use"


def test_keep_alive_two_requests_one_connection(url):
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    body = json.dumps(HELLO).encode()
    path = testing.model_path(LLAMA)
    for _ in range(2):
        conn.putrequest("POST", path, skip_host=True, skip_accept_encoding=True)
        for k, v in testing.sign(url, path, body):
            conn.putheader(k, v)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        assert resp.status == 200 and json.loads(resp.read())["stopReason"] == "end_turn"
    conn.close()
