"""Bodies are validated against botocore's model and Converse's own rules (400 ValidationException)."""

import base64
import json

import pytest

from standin import testing

CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
SONNET35 = "anthropic.claude-3-5-sonnet-20240620-v1:0"
TITAN = "amazon.titan-text-express-v1"
LLAMA = "meta.llama3-70b-instruct-v1:0"
MISTRAL_LARGE = "mistral.mistral-large-2402-v1:0"
MIXTRAL = "mistral.mixtral-8x7b-instruct-v0:1"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n fake").decode()
TOOLS = {"tools": [{"toolSpec": {"name": "get_weather", "description": "Weather",
                                 "inputSchema": {"json": {"type": "object", "properties": {}}}}}]}


def user(*blocks):
    return {"role": "user", "content": list(blocks) or [{"text": "hi"}]}


def assistant(*blocks):
    return {"role": "assistant", "content": list(blocks) or [{"text": "hello"}]}


def body(*messages, **extra):
    return {"messages": list(messages) or [user()], **extra}


def expect_invalid(url, recorded, model, payload, fragment, operation="converse"):
    status, headers, data = testing.call(url, model, payload, operation=operation)
    assert status == 400, data
    assert headers["x-amzn-errortype"] == "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"
    message = json.loads(data)["message"]
    assert fragment in message
    assert recorded()[-1]["status"] == 400 and recorded()[-1]["error_type"] == "ValidationException"
    return message


def expect_ok(url, model, payload, operation="converse"):
    status, _, data = testing.call(url, model, payload, operation=operation)
    assert status == 200, data
    return data


@pytest.mark.parametrize("payload, fragment", [
    (body(user(), foo=1), 'Unknown parameter in input: "foo"'),
    (body(inferenceConfig={"maxTokens": 0}), "inferenceConfig.maxTokens"),
    (body(inferenceConfig={"temperature": 1.5}), "inferenceConfig.temperature"),
    (body(inferenceConfig={"topP": -0.1}), "inferenceConfig.topP"),
    (body(inferenceConfig={"temperature": "hot"}), "inferenceConfig.temperature"),
    (body(inferenceConfig={"maxTokens": 1.5}), "inferenceConfig.maxTokens"),
    (body(inferenceConfig={"maxTokens": True}), "inferenceConfig.maxTokens"),
    (body(inferenceConfig={"maxTokens": None}), "inferenceConfig.maxTokens"),
    (body(inferenceConfig={"stopSequences": [""]}), "inferenceConfig.stopSequences.0"),
    (body(inferenceConfig={"stopSequences": ["x"] * 2501}), "inferenceConfig.stopSequences"),
    (body(inferenceConfig={"max_tokens": 5}), 'Unknown parameter in inferenceConfig: "max_tokens"'),
    (body({"role": "human", "content": [{"text": "hi"}]}), "messages.0.role"),
    (body({"role": "user", "content": "hi"}), "messages.0.content"),
    (body({"role": "user", "content": [{"text": "a", "image": {}}]}), "messages.0.content.0"),
    (body({"role": "user", "content": [{}]}), "messages.0.content.0"),
    (body(user({"image": {"format": "bmp", "source": {"bytes": PNG}}})), "messages.0.content.0.image.format"),
    (body(user({"image": {"format": "png", "source": {"bytes": "not base64!"}}})), "base64"),
    (body(user({"image": {"format": "png", "source": {"bytes": ""}}})), "messages.0.content.0.image.source.bytes"),
    (body(user(), system=[{"text": ""}]), "system.0.text"),
    (body(user(), toolConfig={"tools": []}), "toolConfig.tools"),
    ({"messages": [user()], "modelId": CLAUDE}, "modelId"),
    ([user()], "JSON object"),
])
def test_schema_violations(url, recorded, payload, fragment):
    expect_invalid(url, recorded, CLAUDE, payload, fragment)


def test_malformed_json(url, recorded):
    expect_invalid(url, recorded, CLAUDE, b'{"messages": [', "Malformed input request")


def test_unknown_model(url, recorded):
    expect_invalid(url, recorded, "anthropic.claude-9", body(), "The provided model identifier is invalid.")


@pytest.mark.parametrize("payload, fragment", [
    ({"messages": []}, "must start with a user message"),
    ({}, "must start with a user message"),
    (body(assistant()), "must start with a user message"),
    (body(user(), user()), "must alternate between user and assistant"),
    (body(user(), assistant(), assistant()), "must alternate"),
    (body({"role": "user", "content": []}), "The content field in the Message object at messages.0 is empty"),
    (body(user({"text": "   \n"})), "The text field in the ContentBlock object at messages.0.content.0 is blank"),
    (body(user(), assistant(), user({"text": "ok"}, {"text": ""})), "messages.2.content.1 is blank"),
    (body({"role": "system", "content": [{"text": "x"}]}), "must start with a user message"),
])
def test_conversation_rules(url, recorded, payload, fragment):
    expect_invalid(url, recorded, CLAUDE, payload, fragment)


def _tool_history(tool_id="tooluse_abc"):
    return [user({"text": "weather in Paris?"}),
            assistant({"toolUse": {"toolUseId": tool_id, "name": "get_weather", "input": {"city": "Paris"}}}),
            user({"toolResult": {"toolUseId": tool_id, "content": [{"text": "sunny"}]}})]


def test_tool_history_requires_tool_config(url, recorded):
    expect_invalid(url, recorded, CLAUDE, body(*_tool_history()), "toolConfig field must be defined")
    expect_ok(url, CLAUDE, body(*_tool_history(), toolConfig=TOOLS))


@pytest.mark.parametrize("tool_config, fragment", [
    ({"tools": [{"toolSpec": {"name": "get weather", "inputSchema": {"json": {}}}}]}, "toolSpec.name"),
    ({"tools": [{"toolSpec": {"name": "x" * 65, "inputSchema": {"json": {}}}}]}, "toolSpec.name"),
    ({"tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": "x"}}}]}, "inputSchema"),
    ({"tools": [{"toolSpec": {"name": "f"}}]}, "inputSchema"),
    (dict(TOOLS, toolChoice={"none": {}}), 'Unknown parameter in toolConfig.toolChoice: "none"'),
    (dict(TOOLS, toolChoice={"auto": {}, "any": {}}), "toolConfig.toolChoice"),
    (dict(TOOLS, toolChoice={"tool": {"name": "other"}}), "not defined"),
])
def test_tool_config_rules(url, recorded, tool_config, fragment):
    expect_invalid(url, recorded, CLAUDE, body(user(), toolConfig=tool_config), fragment)


def test_tool_pairing(url, recorded):
    history = _tool_history()
    history[2] = user({"toolResult": {"toolUseId": "tooluse_other", "content": [{"text": "x"}]}})
    expect_invalid(url, recorded, CLAUDE, body(*history, toolConfig=TOOLS), "Expected toolResult blocks")
    history[2] = user({"text": "forgot the result"})
    expect_invalid(url, recorded, CLAUDE, body(*history, toolConfig=TOOLS), "Expected toolResult blocks")


@pytest.mark.parametrize("model, payload, fragment", [
    (TITAN, body(system=[{"text": "be nice"}]), "This model doesn't support system messages."),
    (MIXTRAL, body(system=[{"text": "be nice"}]), "This model doesn't support system messages."),
    (LLAMA, body(toolConfig=TOOLS), "This model doesn't support tool use."),
    (TITAN, body(toolConfig=TOOLS), "This model doesn't support tool use."),
    (LLAMA, body(user({"text": "see"}, {"image": {"format": "png", "source": {"bytes": PNG}}})), "image"),
    (MISTRAL_LARGE, body(user({"image": {"format": "png", "source": {"bytes": PNG}}})), "image"),
])
def test_model_capabilities(url, recorded, model, payload, fragment):
    expect_invalid(url, recorded, model, payload, fragment)


def test_mistral_large_tools_only_without_streaming(url, recorded):
    expect_ok(url, MISTRAL_LARGE, body(toolConfig=TOOLS))
    expect_invalid(url, recorded, MISTRAL_LARGE, body(toolConfig=TOOLS),
                   "This model doesn't support tool use in streaming mode.", operation="converse-stream")


def test_capable_models_accept_everything(url):
    image = {"image": {"format": "png", "source": {"bytes": PNG}}}
    full = body(user({"text": "look"}, image), system=[{"text": "be nice"}],
                toolConfig=dict(TOOLS, toolChoice={"auto": {}}),
                inferenceConfig={"maxTokens": 100, "temperature": 0, "topP": 1, "stopSequences": ["END"]},
                additionalModelRequestFields={"top_k": 5, "anthropic_beta": []})
    expect_ok(url, SONNET35, full)
    expect_ok(url, SONNET35, full, operation="converse-stream")
    expect_ok(url, LLAMA, body(system=[{"text": "be nice"}]))
