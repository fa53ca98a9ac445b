"""ConverseStream: frames decode with botocore's own parser; scripted faults behave."""

import http.client
import json
import time

import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer
from botocore.exceptions import EventStreamError

from standin import eventstream, testing

CLAUDE = "anthropic.claude-3-sonnet-20240229-v1:0"
HELLO = {"messages": [{"role": "user", "content": [{"text": "Hello there"}]}]}
TOOLS = {"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {
    "type": "object", "properties": {"location": {"type": "string"}}}}}},
                   {"toolSpec": {"name": "get_time", "inputSchema": {"json": {"type": "object"}}}}]}


def decode(data):
    """All frames via botocore's EventStreamBuffer (verifies both CRCs)."""
    buf = EventStreamBuffer()
    buf.add_data(data)
    return list(buf)


def events(data):
    out = []
    for msg in decode(data):
        headers = msg.headers
        payload = json.loads(msg.payload)
        if headers[":message-type"] == "event":
            assert headers[":content-type"] == "application/json"
            assert isinstance(payload.pop("p"), str)
            out.append((headers[":event-type"], payload))
        else:
            out.append((headers[":message-type"], headers[":exception-type"], payload))
    return out


def stream(url, payload=HELLO, model=CLAUDE):
    status, headers, data = testing.call(url, model, payload, operation="converse-stream")
    assert status == 200, data
    assert headers["content-type"] == "application/vnd.amazon.eventstream"
    assert headers["transfer-encoding"] == "chunked"
    return data


def test_frame_roundtrip():
    [msg] = decode(eventstream.event("messageStart", {"role": "assistant"}))
    assert msg.headers[":event-type"] == "messageStart"
    with pytest.raises(ChecksumMismatch):
        decode(eventstream.corrupt_crc(eventstream.event("messageStart", {"role": "assistant"})))


def test_default_text_stream(url):
    evs = events(stream(url))
    names = [e[0] for e in evs]
    assert names[0] == "messageStart" and evs[0][1] == {"role": "assistant"}
    assert names[-3:] == ["contentBlockStop", "messageStop", "metadata"]
    deltas = [e[1] for e in evs if e[0] == "contentBlockDelta"]
    assert len(deltas) >= 2 and all(d["contentBlockIndex"] == 0 for d in deltas)
    assert "".join(d["delta"]["text"] for d in deltas) == f"Hello from the Bedrock stand-in ({CLAUDE})."
    assert evs[-2][1] == {"stopReason": "end_turn"}
    assert evs[-1][1]["usage"] == {"inputTokens": 2, "outputTokens": 6, "totalTokens": 8}
    assert evs[-1][1]["metrics"]["latencyMs"] >= 1


def test_botocore_client_converse_stream(url):
    client = testing.client(url)
    out = client.converse_stream(modelId=CLAUDE, **HELLO)
    evs = list(out["stream"])
    assert list(evs[0]) == ["messageStart"]
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in evs if "contentBlockDelta" in e)
    assert text.startswith("Hello from the Bedrock stand-in")
    assert evs[-1]["metadata"]["usage"]["totalTokens"] == 8


def test_botocore_client_sees_exception_frame(url):
    testing.control(url, "POST", "/_standin/script", {"exception": "throttlingException", "message": "slow down"})
    out = testing.client(url).converse_stream(modelId=CLAUDE, **HELLO)
    with pytest.raises(EventStreamError) as info:
        list(out["stream"])
    assert info.value.response["Error"]["Code"] == "throttlingException"
    assert info.value.response["Error"]["Message"] == "slow down"


def test_exception_frame_after_first_delta(url):
    testing.control(url, "POST", "/_standin/script", {"exception": "ModelStreamErrorException"})
    evs = events(stream(url))
    assert [e[0] for e in evs] == ["messageStart", "contentBlockDelta", "exception"]
    assert evs[-1][1] == "modelStreamErrorException" and "message" in evs[-1][2]


def test_weather_tool_use_stream(url):
    payload = {"messages": [{"role": "user", "content": [{"text": "What's the weather in Paris?"}]}],
               "toolConfig": TOOLS}
    evs = events(stream(url, payload))
    start = next(e[1] for e in evs if e[0] == "contentBlockStart")
    assert start["start"]["toolUse"]["name"] == "get_weather"
    assert start["start"]["toolUse"]["toolUseId"].startswith("tooluse_")
    fragments = [e[1]["delta"]["toolUse"]["input"] for e in evs if e[0] == "contentBlockDelta"]
    assert len(fragments) >= 2 and json.loads("".join(fragments)) == {"location": "Paris"}
    assert ("messageStop", {"stopReason": "tool_use"}) in evs


def test_scripted_parallel_tool_calls_with_text(url):
    testing.control(url, "POST", "/_standin/script", {"text": "Let me check.", "tool_use": [
        {"name": "get_weather", "input": {"location": "Rome"}}, {"name": "get_time", "input": {"tz": "CET"}}]})
    payload = {"messages": [{"role": "user", "content": [{"text": "hi"}]}], "toolConfig": TOOLS}
    evs = events(stream(url, payload))
    starts = [e[1] for e in evs if e[0] == "contentBlockStart"]
    assert [s["contentBlockIndex"] for s in starts] == [1, 2]
    assert [s["start"]["toolUse"]["name"] for s in starts] == ["get_weather", "get_time"]
    stops = [e[1]["contentBlockIndex"] for e in evs if e[0] == "contentBlockStop"]
    assert stops == [0, 1, 2]


@pytest.mark.parametrize("chunk_bytes", [1, 7, 100])
def test_chunk_bytes_split_arbitrarily(url, chunk_bytes):
    testing.control(url, "POST", "/_standin/script", {"chunk_bytes": chunk_bytes, "chunk_delay_ms": 1})
    evs = events(stream(url))
    assert evs[-1][0] == "metadata"


def test_bad_crc(url):
    testing.control(url, "POST", "/_standin/script", {"bad_crc": True})
    with pytest.raises(ChecksumMismatch):
        decode(stream(url))


def test_truncate(url):
    testing.control(url, "POST", "/_standin/script", {"truncate": True})
    data = stream(url)
    buf = EventStreamBuffer()
    buf.add_data(data)
    frames = list(buf)
    assert [f.headers[":event-type"] for f in frames] == ["messageStart", "contentBlockDelta"]
    assert len(data) > sum(len(f.payload) for f in frames)  # a partial frame is left over


def test_no_message_stop(url):
    testing.control(url, "POST", "/_standin/script", {"no_message_stop": True})
    names = [e[0] for e in events(stream(url))]
    assert "messageStop" not in names and names[-1] == "metadata"


def test_script_text_stop_reason_usage(url):
    usage = {"inputTokens": 11, "outputTokens": 22, "totalTokens": 33}
    testing.control(url, "POST", "/_standin/script", {"text": "one two three four", "stop_reason": "max_tokens",
                                                      "usage": usage})
    evs = events(stream(url))
    assert "".join(e[1]["delta"]["text"] for e in evs if e[0] == "contentBlockDelta") == "one two three four"
    assert ("messageStop", {"stopReason": "max_tokens"}) in evs
    assert evs[-1][1]["usage"] == usage


def test_error_before_stream_is_json(url):
    testing.control(url, "POST", "/_standin/script", {"error": "ThrottlingException"})
    status, headers, data = testing.call(url, CLAUDE, HELLO, operation="converse-stream")
    assert status == 429
    assert headers["x-amzn-errortype"].startswith("ThrottlingException:")
    assert headers["content-type"] == "application/json"
    assert json.loads(data)["message"]


def test_reset_mid_stream(url):
    testing.control(url, "POST", "/_standin/script", {"reset_connection": "mid_stream"})
    with pytest.raises((http.client.HTTPException, OSError)):
        stream(url)
    assert testing.call(url, CLAUDE, HELLO)[0] == 200  # server still fine


def test_chunk_delay(url):
    testing.control(url, "POST", "/_standin/script", {"chunk_delay_ms": 30})
    started = time.monotonic()
    stream(url)
    assert time.monotonic() - started >= 0.2
