"""Structured output end to end, through the clients that ask for it: the OpenAI SDKs'
`.parse()` and streamed parse, LangChain's `with_structured_output` (Python and JS, JSON
schema and function calling), instructor, and the Vercel AI SDK's `generateObject`.

Native on models that have it (`outputConfig.textFormat`, which the stand-in checks as
Bedrock does: a schema string, closed objects, no value bounds on Claude) and answers with
JSON that follows the schema; by one forced tool elsewhere; `json_object` as an instruction.
"""

import json

import instructor
import openai
import pytest
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, Field

from e2e.helpers import assert_openai_error, chat_body, default_headers, node_client, post

NATIVE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"   # native structured output, strict tools
BY_TOOL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"   # no native: a forced tool
MISTRAL_NATIVE = "mistral.mistral-large-3-675b-instruct"  # native, not Claude
NO_WAY = "amazon.titan-text-express-v1"                   # neither structured output nor tools
QUESTION = [{"role": "user", "content": "Describe Paris."}]


class City(BaseModel):
    name: str = Field(description="The city's name")
    population: int = Field(ge=0, description="Inhabitants")
    landmarks: list[str] = Field(max_length=5)


def converse(standin):
    [seen] = standin.requests()
    assert seen["status"] == 200, seen
    return seen["json"]


def sent_schema(c):
    return json.loads(c["outputConfig"]["textFormat"]["structure"]["jsonSchema"]["schema"])


def assert_city(city):
    """A City by its types (a zod integer allows what pydantic's `ge=0` would not)."""
    if isinstance(city, City):
        city = city.model_dump()
    assert set(city) == {"name", "population", "landmarks"}, city
    assert isinstance(city["name"], str) and city["name"]
    assert isinstance(city["population"], int)
    assert isinstance(city["landmarks"], list) and all(isinstance(x, str) for x in city["landmarks"])


@pytest.mark.parametrize("model", [NATIVE, MISTRAL_NATIVE])
def test_the_sdk_s_parse_gets_native_structured_output(client, standin, model):
    resp = client.chat.completions.parse(model=model, messages=QUESTION, response_format=City)
    assert_city(resp.choices[0].message.parsed)
    assert resp.choices[0].finish_reason == "stop"
    c = converse(standin)
    assert "toolConfig" not in c
    schema = sent_schema(c)
    assert schema["additionalProperties"] is False
    # Pydantic's bounds became words (Bedrock refuses them).
    assert "minimum" not in schema["properties"]["population"]
    assert "minimum 0" in schema["properties"]["population"]["description"]
    assert "maxItems 5" in schema["properties"]["landmarks"]["description"]


def test_the_sdk_s_streamed_parse(client, standin):
    with client.chat.completions.stream(model=NATIVE, messages=QUESTION, response_format=City) as s:
        final = s.get_final_completion()
    assert_city(final.choices[0].message.parsed)
    assert standin.requests()[0]["operation"] == "ConverseStream"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_a_model_without_it_answers_through_a_forced_tool(client, standin, stream):
    if stream:
        with client.chat.completions.stream(model=BY_TOOL, messages=QUESTION, response_format=City) as s:
            final = s.get_final_completion()
    else:
        final = client.chat.completions.parse(model=BY_TOOL, messages=QUESTION, response_format=City)
    msg = final.choices[0].message
    assert_city(msg.parsed)
    assert not msg.tool_calls and final.choices[0].finish_reason == "stop"
    c = converse(standin)
    [tool] = c["toolConfig"]["tools"]
    assert tool["toolSpec"]["name"] == "City"
    assert c["toolConfig"]["toolChoice"] == {"tool": {"name": "City"}}
    assert "outputConfig" not in c


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_langchain_with_structured_output(gateway, standin, method):
    llm = ChatOpenAI(model=NATIVE, base_url=gateway.base_url, api_key="sk-openai-unused", max_retries=0,
                     default_headers=default_headers())
    city = llm.with_structured_output(City, method=method).invoke("Describe Paris.")
    assert_city(city)
    c = converse(standin)
    if method == "json_schema":
        assert sent_schema(c)["additionalProperties"] is False
    else:
        # A forced tool call: LangChain reads the call's arguments, Bedrock got toolChoice.tool.
        assert c["toolConfig"]["toolChoice"] == {"tool": {"name": "City"}}


@pytest.mark.parametrize("method", ["jsonSchema", "functionCalling"])
def test_langchain_js_with_structured_output(gateway, standin, method):
    out = node_client(gateway, "langchain-structured", NATIVE, method=method)
    assert "result" in out, out
    assert_city(out["result"]["object"])
    converse(standin)


@pytest.mark.parametrize("mode", [instructor.Mode.TOOLS, instructor.Mode.JSON_SCHEMA])
def test_instructor(gateway, standin, mode):
    raw = openai.OpenAI(base_url=gateway.base_url, api_key="sk-openai-unused", max_retries=0,
                        default_headers=default_headers())
    city = instructor.from_openai(raw, mode=mode).chat.completions.create(
        model=NATIVE, messages=QUESTION, response_model=City, max_retries=0)
    assert_city(city)
    c = converse(standin)
    if mode == instructor.Mode.JSON_SCHEMA:
        assert "outputConfig" in c
    else:
        [tool] = c["toolConfig"]["tools"]
        assert tool["toolSpec"]["name"] == "City"
        assert c["toolConfig"]["toolChoice"] == {"tool": {"name": "City"}}


def test_a_strict_tool_from_the_sdk(client, standin):
    # openai.pydantic_function_tool marks the tool strict; the SDK parses the call's arguments.
    resp = client.chat.completions.parse(model=NATIVE, messages=QUESTION, tools=[openai.pydantic_function_tool(City)],
                                         tool_choice={"type": "function", "function": {"name": "City"}})
    [call] = resp.choices[0].message.tool_calls
    assert_city(call.function.parsed_arguments)
    [tool] = converse(standin)["toolConfig"]["tools"]
    assert tool["toolSpec"]["strict"] is True
    assert tool["toolSpec"]["inputSchema"]["json"]["additionalProperties"] is False


def test_vercel_generate_object_with_structured_outputs(gateway, standin):
    out = node_client(gateway, "vercel-object", NATIVE, structured=True)
    assert "result" in out, out
    assert_city(out["result"]["object"])
    assert sent_schema(converse(standin))["additionalProperties"] is False


def test_vercel_generate_object_in_json_mode(gateway, standin):
    # Without structuredOutputs the SDK sends json_object: the gateway tells the model to
    # answer with JSON; what the model says is scripted here.
    standin.script({"text": json.dumps({"name": "Paris", "population": 2100000, "landmarks": ["Louvre"]})})
    out = node_client(gateway, "vercel-object", NATIVE, structured=False)
    assert out["result"]["object"]["name"] == "Paris"
    c = converse(standin)
    assert "outputConfig" not in c
    assert "JSON" in c["system"][-1]["text"]


def test_json_object_with_the_python_sdk(client, standin):
    standin.script({"text": '{"ok": true}'})
    resp = client.chat.completions.create(model=BY_TOOL, messages=QUESTION, response_format={"type": "json_object"})
    assert json.loads(resp.choices[0].message.content) == {"ok": True}


REFUSALS = [
    ("no-structured-output-no-tools", dict(model=NO_WAY, response_format={
        "type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}), "response_format"),
    ("forced-tool-and-caller-tools", dict(model=BY_TOOL, tools=[{"type": "function", "function": {
        "name": "f", "parameters": {"type": "object"}}}], response_format={
        "type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}), "response_format"),
    ("schema-not-an-object", dict(model=NATIVE, response_format={
        "type": "json_schema", "json_schema": {"name": "x", "schema": "object"}}),
     "response_format.json_schema.schema"),
    ("bad-name", dict(model=NATIVE, response_format={
        "type": "json_schema", "json_schema": {"name": "a b", "schema": {"type": "object"}}}),
     "response_format.json_schema.name"),
]


@pytest.mark.parametrize("fields,param", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_refusals_never_reach_bedrock(gateway, standin, fields, param):
    r = post(gateway, chat_body(messages=QUESTION, **fields))
    assert_openai_error(r, 400, param=param, kind="invalid_request_error")
    assert standin.requests() == []
