"""The stand-in's OpenAI-compatible endpoints (bedrock-runtime's /openai/v1 and bedrock-mantle),
checked with the official openai package and hand-signed requests: which ids and APIs each endpoint
serves, the signing name each checks, bodies against openai's own types, Bedrock's rules, and the
answers' shapes, buffered and streamed."""

import json

import openai
import pytest

from standin import credentials, testing
from standin import server as standin_server

KEY = credentials.BEARER_LONG_TERM
MESSAGES = [{"role": "user", "content": "Hello there"}]


@pytest.fixture(scope="module")
def servers():
    runtime = standin_server.start_in_thread()
    mantle = standin_server.start_in_thread(surface="mantle", state=runtime.state)
    yield runtime, mantle
    for s in (runtime, mantle):
        s.shutdown()
        s.server_close()


@pytest.fixture
def runtime(servers):
    testing.control(servers[0].url, "POST", "/_standin/reset")
    return servers[0].url


@pytest.fixture
def mantle(servers, runtime):
    return servers[1].url


def sdk(base):
    return openai.OpenAI(base_url=base, api_key=KEY, max_retries=0, timeout=10)


def signed(url, path, payload, service, **kw):
    body = json.dumps(payload).encode()
    status, headers, data = testing.send(url, path, body, testing.sign(url, path, body, service=service, **kw))
    return status, headers, json.loads(data) if data else None


def recorded(url):
    return testing.control(url, "GET", "/_standin/requests")[1]


def test_runtime_serves_profiles_on_openai_v1_signed_for_bedrock(runtime):
    resp = sdk(f"{runtime}/openai/v1").chat.completions.create(model="us.openai.gpt-5.6-sol", messages=MESSAGES)
    assert resp.object == "chat.completion" and resp.model == "us.openai.gpt-5.6-sol"
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens > 0
    status, _, body = signed(runtime, "/openai/v1/chat/completions",
                             {"model": "openai.gpt-oss-120b-1:0", "messages": MESSAGES}, "bedrock")
    assert status == 200, body
    [first, second] = recorded(runtime)
    assert (first["surface"], first["api"], first["auth"]["kind"]) == ("runtime", "chat", "bearer")
    assert second["auth"] == {"kind": "sigv4", "access_key_id": credentials.PERMANENT["access_key_id"],
                              "service": "bedrock"}


@pytest.mark.parametrize("model,status,fragment", [
    ("openai.gpt-5.6-sol", 400, "on-demand throughput isn't supported"),
    ("openai.gpt-5.5", 404, "doesn't exist"),
    ("eu.openai.gpt-5.6-sol", 400, "model identifier is invalid"),
])
def test_runtime_refuses_what_it_does_not_serve(runtime, model, status, fragment):
    with pytest.raises(openai.APIStatusError) as e:
        sdk(f"{runtime}/openai/v1").chat.completions.create(model=model, messages=MESSAGES)
    assert e.value.status_code == status and fragment in e.value.message


def test_runtime_answers_200_with_a_coral_fault_on_v1(runtime):
    status, _, body = signed(runtime, "/v1/chat/completions",
                             {"model": "us.openai.gpt-5.6-sol", "messages": MESSAGES}, "bedrock")
    assert status == 200
    assert body["Output"]["__type"].endswith("#UnknownOperationException")


def test_mantle_serves_each_model_under_its_prefix_signed_for_bedrock_mantle(mantle):
    resp = sdk(f"{mantle}/openai/v1").chat.completions.create(model="openai.gpt-5.5", messages=MESSAGES)
    assert resp.model == "openai.gpt-5.5"
    resp = sdk(f"{mantle}/v1").responses.create(model="openai.gpt-oss-120b", input="Hi")
    assert resp.output_text.startswith("Hello from")
    with pytest.raises(openai.BadRequestError) as e:
        sdk(f"{mantle}/v1").chat.completions.create(model="openai.gpt-5.5", messages=MESSAGES)
    assert "isn't supported on this route" in e.value.message
    with pytest.raises(openai.BadRequestError) as e:
        sdk(f"{mantle}/v1").responses.create(model="qwen.qwen3-32b", input="Hi")
    assert "does not support the '/v1/responses' API" in e.value.message
    with pytest.raises(openai.NotFoundError):
        sdk(f"{mantle}/openai/v1").chat.completions.create(model="us.openai.gpt-5.6-sol", messages=MESSAGES)
    status, _, _ = signed(mantle, "/openai/v1/chat/completions", {"model": "openai.gpt-5.5", "messages": MESSAGES},
                          "bedrock-mantle")
    assert status == 200
    assert recorded(mantle)[-1]["auth"]["service"] == "bedrock-mantle"


def test_each_endpoint_checks_its_own_signing_name(runtime, mantle):
    payload = {"model": "openai.gpt-5.5", "messages": MESSAGES}
    status, headers, body = signed(mantle, "/openai/v1/chat/completions", payload, "bedrock")
    assert status == 403 and "correct service: 'bedrock-mantle'" in body["message"]
    assert headers["x-amzn-errortype"].startswith("InvalidSignatureException")
    payload["model"] = "us.openai.gpt-5.6-sol"
    status, _, body = signed(runtime, "/openai/v1/chat/completions", payload, "bedrock-mantle")
    assert status == 403 and "correct service: 'bedrock'" in body["message"]


@pytest.mark.parametrize("extra,fragment", [
    ({"guardrailConfig": {}}, "Unrecognized request argument supplied: guardrailConfig"),
    ({"temperature": "warm"}, "temperature"),
    ({"messages": [{"role": "wizard", "content": "x"}]}, "messages"),
    ({"max_tokens": 10}, "'max_tokens' is not supported with this model"),
])
def test_bodies_are_checked_against_the_openai_types_and_bedrocks_rules(runtime, extra, fragment):
    payload = {"model": "us.openai.gpt-5.6-sol", "messages": MESSAGES, **extra}
    status, _, body = signed(runtime, "/openai/v1/chat/completions", payload, "bedrock")
    assert status == 400 and fragment in body["error"]["message"], body
    assert set(body["error"]) == {"code", "message", "param", "type"}


def test_runtime_responses_refuse_background_and_built_in_tools(runtime, mantle):
    client = sdk(f"{runtime}/openai/v1")
    with pytest.raises(openai.BadRequestError, match="background parameter is not supported"):
        client.responses.create(model="us.openai.gpt-5.6-sol", input="Hi", background=True)
    with pytest.raises(openai.BadRequestError, match="web_search"):
        client.responses.create(model="us.openai.gpt-5.6-sol", input="Hi", tools=[{"type": "web_search"}])
    resp = sdk(f"{mantle}/openai/v1").responses.create(model="openai.gpt-5.6-sol", input="Hi",
                                                       tools=[{"type": "web_search"}])
    assert resp.status == "completed"


@pytest.mark.parametrize("include_usage", [False, True])
def test_chat_streams_end_with_done_and_usage_only_when_asked(runtime, include_usage):
    options = {"stream_options": {"include_usage": True}} if include_usage else {}
    chunks = list(sdk(f"{runtime}/openai/v1").chat.completions.create(
        model="global.openai.gpt-5.6-terra", messages=MESSAGES, stream=True, **options))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from the Bedrock stand-in (global.openai.gpt-5.6-terra)."
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    if include_usage:
        assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
        assert all(c.usage is None for c in chunks[:-1])
    else:
        assert all(c.choices and c.usage is None for c in chunks)


def test_responses_stream_typed_events_with_usage_at_the_end(mantle):
    events = list(sdk(f"{mantle}/openai/v1").responses.create(model="openai.gpt-5.5", input="Hi", stream=True))
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta").startswith("Hello from")
    usage = events[-1].response.usage
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens


def test_a_function_tool_loop(mantle):
    client = sdk(f"{mantle}/openai/v1")
    tool = {"type": "function", "name": "get_weather", "strict": False,
            "parameters": {"type": "object", "properties": {}}}
    first = client.responses.create(model="openai.gpt-5.5", input="Weather?", tools=[tool])
    [call] = first.output
    assert call.type == "function_call" and call.name == "get_weather"
    second = client.responses.create(model="openai.gpt-5.5", tools=[tool], input=[
        {"role": "user", "content": "Weather?"}, call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}])
    assert second.output_text.startswith("Hello from")


def test_scripted_errors_are_openai_shaped(runtime):
    testing.control(runtime, "POST", "/_standin/script", {"error": "ThrottlingException", "message": "slow down"})
    with pytest.raises(openai.RateLimitError) as e:
        sdk(f"{runtime}/openai/v1").chat.completions.create(model="us.openai.gpt-5.6-sol", messages=MESSAGES)
    assert e.value.body["code"] == "rate_limit_exceeded"
