"""The Responses API (POST /v1/amazon-bedrock/responses) through a real Envoy, with the clients
that speak it: the official SDKs (Python and npm), the OpenAI Agents SDK, LangChain's ChatOpenAI
with use_responses_api, and the Vercel AI SDK's default OpenAI provider. Codex CLI is in
test_codex.py. The stand-in checks every Converse body against botocore's model."""

import json
import os
import subprocess

import openai
import pydantic
import pytest
import requests
from langchain_openai import ChatOpenAI

from e2e.helpers import CLAUDE, LLAMA, SECRETS, assert_openai_error, default_headers, post
from e2e.keys import PROJECT_KEY_ALPHA, aws_headers

SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
RESPONSES = "/v1/amazon-bedrock/responses"
NODE_RESPONSES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "node", "responses.mjs")
WEATHER = {"type": "function", "name": "get_weather", "description": "The weather in a city",
           "parameters": {"type": "object", "properties": {"location": {"type": "string"}},
                          "required": ["location"]}}


def greeting(model):
    return f"Hello from the Bedrock stand-in ({model})."


def node(gateway, scenario, model, **args):
    arg = json.dumps({"scenario": scenario, "baseURL": gateway.base_url, "model": model,
                      "headers": {"Project-Api-Key": PROJECT_KEY_ALPHA, **aws_headers()}, **args})
    done = subprocess.run(["node", NODE_RESPONSES, arg], capture_output=True, text=True, timeout=90, check=True)
    [line] = done.stdout.splitlines()
    return json.loads(line)


def converse_bodies(standin):
    return [(r["operation"], r["json"]) for r in standin.requests()]


def test_the_python_sdk_creates_and_streams(client, standin):
    r = client.responses.create(model=CLAUDE, input="Hello!", instructions="Be brief.")
    assert r.output_text == greeting(CLAUDE)
    assert r.object == "response" and r.status == "completed" and r.id.startswith("resp_")
    assert r.usage.input_tokens > 0 and r.usage.output_tokens > 0
    assert r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens
    assert r.usage.output_tokens_details.reasoning_tokens == 0
    # Strict validation, as a user with _strict_response_validation would have it.
    openai.types.responses.Response.model_validate(r.model_dump())
    with client.responses.stream(model=CLAUDE, input="Hello!") as stream:
        types = [e.type for e in stream]
        final = stream.get_final_response()
    assert final.output_text == greeting(CLAUDE)
    assert types[:2] == ["response.created", "response.in_progress"] and types[-1] == "response.completed"
    assert "response.output_text.delta" in types
    (op1, body1), (op2, _) = converse_bodies(standin)
    assert (op1, op2) == ("Converse", "ConverseStream")
    assert body1["system"] == [{"text": "Be brief."}]


class City(pydantic.BaseModel):
    name: str
    population: int
    landmarks: list[str]


def test_the_python_sdk_parses_structured_output(client, standin):
    r = client.responses.parse(model=SONNET, input="Describe Paris.", text_format=City)
    assert isinstance(r.output_parsed, City)
    with client.responses.stream(model=SONNET, input="Describe Paris.", text_format=City) as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    assert isinstance(final.output_parsed, City)
    for _, body in converse_bodies(standin):
        assert body["outputConfig"]["textFormat"]["type"] == "json_schema"


@pytest.mark.parametrize("stream", [False, True])
def test_claude_reasons_through_a_two_round_tool_loop_without_server_state(client, standin, stream):
    """store: false and encrypted reasoning, as Codex and the Agents SDK run their loops."""
    settings = dict(model=SONNET, tools=[WEATHER], store=False, include=["reasoning.encrypted_content"],
                    reasoning={"effort": "low", "summary": "auto"})
    history = [{"role": "user", "content": "What is the weather in Paris?"}]

    def call():
        if not stream:
            return client.responses.create(input=history, **settings)
        with client.responses.stream(input=history, **settings) as s:
            for _ in s:
                pass
            return s.get_final_response()

    first = call()
    kinds = [item.type for item in first.output]
    assert kinds == ["reasoning", "function_call"], kinds
    reasoning, fc = first.output
    assert reasoning.encrypted_content and reasoning.summary and reasoning.summary[0].text
    assert fc.name == "get_weather" and json.loads(fc.arguments) == {"location": "Paris"}
    history += [item.model_dump(exclude_none=True) for item in first.output]
    history.append({"type": "function_call_output", "call_id": fc.call_id, "output": "sunny, 21 C"})
    second = call()
    assert second.output_text, second.output
    # Bedrock got the signed reasoning back, first in its assistant turn (the stand-in checks the signature).
    (_, body1), (_, body2) = converse_bodies(standin)
    assert body1["additionalModelRequestFields"]["thinking"]["type"] == "enabled"
    assistant = body2["messages"][1]
    assert list(assistant["content"][0]) == ["reasoningContent"]
    assert assistant["content"][1]["toolUse"]["name"] == "get_weather"
    assert body2["messages"][2]["content"][0]["toolResult"]["content"] == [{"text": "sunny, 21 C"}]


def test_the_agents_sdk_runs_a_function_tool_loop(gateway, standin):
    from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled

    set_tracing_disabled(True)

    @function_tool
    def get_weather(location: str) -> str:
        """The weather in a city."""
        return f"sunny in {location}"

    def agent():
        # A client per event loop: each run below has its own.
        client = openai.AsyncOpenAI(base_url=gateway.base_url, api_key="sk-openai-unused", max_retries=0,
                                    default_headers={"Project-Api-Key": PROJECT_KEY_ALPHA, **aws_headers()})
        return Agent(name="weather", instructions="Use the tool.", tools=[get_weather],
                     model=OpenAIResponsesModel(model=CLAUDE, openai_client=client))

    result = Runner.run_sync(agent(), "What is the weather in Paris?")
    assert result.final_output == greeting(CLAUDE)
    ops = [op for op, _ in converse_bodies(standin)]
    assert ops == ["Converse", "Converse"]
    (_, first), (_, second) = converse_bodies(standin)
    assert first["system"] == [{"text": "Use the tool."}]
    assert second["messages"][-1]["content"][0]["toolResult"]["content"] == [{"text": "sunny in Paris"}]

    standin.reset()

    async def streamed():
        run = Runner.run_streamed(agent(), "What is the weather in Paris?")
        deltas = [e.data.delta async for e in run.stream_events()
                  if e.type == "raw_response_event" and e.data.type == "response.output_text.delta"]
        return run.final_output, deltas

    import asyncio
    final, deltas = asyncio.run(streamed())
    assert final == greeting(CLAUDE) and "".join(deltas) == final
    assert [op for op, _ in converse_bodies(standin)] == ["ConverseStream", "ConverseStream"]


def test_langchain_uses_the_responses_api(gateway, standin):
    llm = ChatOpenAI(model=CLAUDE, base_url=gateway.base_url, api_key="sk-openai-unused", max_retries=0,
                     default_headers=default_headers(), use_responses_api=True)
    reply = llm.invoke("Hello!")
    assert reply.text == greeting(CLAUDE)
    assert reply.usage_metadata["total_tokens"] > 0
    chunks = list(llm.stream("Hello!"))
    assert "".join(c.text for c in chunks) == greeting(CLAUDE)
    called = llm.bind_tools([WEATHER]).invoke("What is the weather in Paris?")
    assert called.tool_calls[0]["name"] == "get_weather" and called.tool_calls[0]["args"] == {"location": "Paris"}
    assert [op for op, _ in converse_bodies(standin)] == ["Converse", "ConverseStream", "Converse"]


def test_the_npm_sdk_creates_and_streams(gateway, standin):
    r = node(gateway, "openai-create", CLAUDE, request={"model": CLAUDE, "input": "Hello!"})["result"]
    assert r["output_text"] == greeting(CLAUDE) and r["status"] == "completed"
    r = node(gateway, "openai-stream", CLAUDE, request={"model": CLAUDE, "input": "Hello!"})["result"]
    assert r["output_text"] == greeting(CLAUDE)
    assert r["types"][0] == "response.created" and r["types"][-1] == "response.completed"


@pytest.mark.parametrize("scenario", ["aisdk-tools", "aisdk-stream"])
def test_the_ai_sdk_default_tool_loop(gateway, standin, scenario):
    r = node(gateway, scenario, CLAUDE)["result"]
    assert r.get("errors", []) == []
    assert r["toolCalls"] == [{"name": "weather", "input": {"location": "Paris"}}]
    assert r["steps"] == 2 and r["text"] == greeting(CLAUDE) and r["finishReason"] == "stop"
    (_, first), (_, second) = converse_bodies(standin)
    assert second["messages"][1]["content"][0]["toolUse"]["name"] == "weather"
    assert second["messages"][2]["content"][0]["toolResult"]["toolUseId"] == \
        second["messages"][1]["content"][0]["toolUse"]["toolUseId"]


def test_the_ai_sdk_refers_back_to_a_buffered_answer_s_items_by_id(gateway, standin):
    """With its default store: true the AI SDK sends `item_reference` for the reasoning of the
    first step: a buffered answer's reasoning id resolves (to nothing to send back: the
    caller sends reasoning back as the item), so the loop goes on."""
    r = node(gateway, "aisdk-tools", SONNET, reasoning="low")["result"]
    assert r["toolCalls"] == [{"name": "weather", "input": {"location": "Paris"}}]
    assert r["text"] == greeting(SONNET)
    (_, first), (_, second) = converse_bodies(standin)
    assert first["additionalModelRequestFields"]["thinking"]["type"] == "enabled"
    assert "toolUse" in second["messages"][1]["content"][0]


def test_a_streamed_item_s_id_cannot_be_referred_back_and_the_400_says_what_to_do(gateway, standin):
    r = node(gateway, "aisdk-stream", SONNET, reasoning="low")["result"]
    [error] = r["errors"]
    assert "keeps no state" in error and "store: false" in error, error
    assert r["steps"] == 1 and len(standin.requests()) == 1, "the reference is refused before Bedrock"
    standin.reset()
    r = node(gateway, "aisdk-stream", SONNET, reasoning="low", store=False)["result"]
    assert r["text"] == greeting(SONNET) and r["steps"] == 2
    (_, _), (_, second) = converse_bodies(standin)
    assert list(second["messages"][1]["content"][0]) == ["reasoningContent"], second["messages"][1]


def test_the_ai_sdk_generates_an_object(gateway, standin):
    r = node(gateway, "aisdk-object", SONNET)["result"]
    assert set(r["object"]) == {"name", "population", "landmarks"}
    assert converse_bodies(standin)[0][1]["outputConfig"]["textFormat"]["type"] == "json_schema"


@pytest.mark.parametrize("body,status,param", [
    ({"model": CLAUDE, "input": "x", "previous_response_id": "resp_1"}, 400, "previous_response_id"),
    ({"model": CLAUDE, "input": "x", "conversation": {"id": "conv_1"}}, 400, "conversation"),
    ({"model": CLAUDE, "input": "x", "background": True}, 400, "background"),
    ({"model": CLAUDE, "input": "x", "tools": [{"type": "code_interpreter", "container": "auto"}]}, 400,
     "tools.[0].type"),
    ({"model": CLAUDE, "input": [{"type": "item_reference", "id": "msg_abc"}]}, 400, "input.[0]"),
    ({"model": CLAUDE, "input": "x", "frobnicate": True}, 400, "frobnicate"),
    ({"model": LLAMA, "input": "x", "tools": [WEATHER]}, 400, "tools"),
    ({"model": "gpt-4o", "input": "x"}, 404, "model"),
])
def test_refusals_name_their_param_and_never_reach_bedrock(gateway, standin, body, status, param):
    assert_openai_error(post(gateway, body, path=RESPONSES), status, param)
    assert standin.requests() == []


def test_stored_responses_are_a_404_and_the_key_comes_first(gateway, standin):
    for method in ["GET", "DELETE"]:
        r = requests.request(method, f"{gateway.url}{RESPONSES}/resp_123", headers=default_headers(), timeout=10)
        assert_openai_error(r, 404, None, code="not_found")
        assert "keeps no state" in r.json()["error"]["message"]
    r = requests.get(f"{gateway.url}{RESPONSES}/resp_123", headers=default_headers(Project_Api_Key="wrong"), timeout=10)
    assert r.status_code == 401


def test_metrics_and_the_log_name_the_endpoint_and_keep_secrets(gateway, client, standin):
    client.responses.create(model=CLAUDE, input="Hello!")
    text = requests.get(f"{gateway.admin_url}/stats/prometheus", timeout=10).text
    line = next(ln for ln in text.splitlines()
                if ln.startswith("bedrock_openai_requests{") and 'endpoint="responses"' in ln and 'status="200"' in ln)
    assert 'project="alpha"' in line and float(line.split()[-1]) >= 1
    log = gateway.log_text()
    for secret in SECRETS:
        assert secret not in log and secret not in text
