"""Tools end to end: OpenAI function tools ↔ Converse toolConfig/toolUse/toolResult."""

import json

import pytest

from e2e.helpers import CLAUDE, LLAMA, MISTRAL_LARGE, assert_openai_error, chat_body, last_converse, node, post

WEATHER_PARAMS = {
    "type": "object",
    "properties": {"location": {"type": "string", "description": "City name"},
                   "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
    "required": ["location"],
}
TIME_PARAMS = {"type": "object", "properties": {"timezone": {"type": "string"}}}
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city.", "parameters": WEATHER_PARAMS}}
TIME = {"type": "function", "function": {
    "name": "get_time", "description": "Current time in a timezone.", "parameters": TIME_PARAMS}}
TOOLS = [WEATHER, TIME]
TOOL_SPECS = [
    {"toolSpec": {"name": "get_weather", "description": "Current weather for a city.",
                  "inputSchema": {"json": WEATHER_PARAMS}}},
    {"toolSpec": {"name": "get_time", "description": "Current time in a timezone.",
                  "inputSchema": {"json": TIME_PARAMS}}},
]
QUESTION = {"role": "user", "content": "What is the weather in Paris?"}


def streamed_calls(chunks):
    """Assemble streamed tool_calls by index; check ids/names come only in each call's first fragment."""
    calls = {}
    for c in chunks:
        if not c.choices:
            continue
        for tc in c.choices[0].delta.tool_calls or []:
            if tc.index not in calls:
                assert tc.id and tc.type == "function" and tc.function.name, tc
                calls[tc.index] = {"id": tc.id, "name": tc.function.name,
                                   "arguments": tc.function.arguments or ""}
            else:
                assert tc.id is None and tc.function.name is None, tc
                calls[tc.index]["arguments"] += tc.function.arguments or ""
    assert sorted(calls) == list(range(len(calls))), sorted(calls)
    return [calls[i] for i in range(len(calls))]


def finish_of(chunks):
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert all(f is None for f in finishes[:-1]), finishes
    return finishes[-1]


def ask(client, model, messages, stream, **kw):
    """One call; returns (calls, text, finish_reason) whether streamed or not."""
    if not stream:
        resp = client.chat.completions.create(model=model, messages=messages, **kw)
        msg = resp.choices[0].message
        calls = [{"id": t.id, "name": t.function.name, "arguments": t.function.arguments}
                 for t in msg.tool_calls or []]
        return calls, msg.content, resp.choices[0].finish_reason
    chunks = list(client.chat.completions.create(model=model, messages=messages, stream=True,
                                                 stream_options={"include_usage": True}, **kw))
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return streamed_calls(chunks), text or None, finish_of(chunks)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("model", [CLAUDE, MISTRAL_LARGE])
def test_tool_round_trip(client, standin, model, stream):
    # 1. the model asks for a tool
    calls, text, finish = ask(client, model, [QUESTION], stream, tools=TOOLS)
    assert finish == "tool_calls"
    assert text is None
    [call] = calls
    assert call["name"] == "get_weather" and call["id"].startswith("tooluse_")
    assert json.loads(call["arguments"]) == {"location": "Paris"}
    [seen] = standin.requests()
    # Mistral Large takes no tools while streaming: a streamed request is served by Converse, replayed
    expected_op = "ConverseStream" if stream and model == CLAUDE else "Converse"
    assert seen["operation"] == expected_op and seen["status"] == 200, seen
    assert seen["model_id"] == model
    assert seen["json"]["toolConfig"] == {"tools": TOOL_SPECS}
    assert seen["json"]["messages"] == [{"role": "user", "content": [{"text": QUESTION["content"]}]}]
    standin.reset()

    # 2. the caller runs the tool and sends its result back; the model answers
    history = [
        QUESTION,
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": call["id"], "type": "function",
             "function": {"name": call["name"], "arguments": call["arguments"]}}]},
        {"role": "tool", "tool_call_id": call["id"], "content": "Sunny, 21 °C"},
    ]
    calls, text, finish = ask(client, model, history, stream, tools=TOOLS)
    assert calls == []
    assert text == f"Hello from the Bedrock stand-in ({model})."
    assert finish == "stop"
    [seen] = standin.requests()
    assert seen["operation"] == expected_op and seen["status"] == 200, seen
    assert seen["json"]["toolConfig"] == {"tools": TOOL_SPECS}
    assert seen["json"]["messages"] == [
        {"role": "user", "content": [{"text": QUESTION["content"]}]},
        {"role": "assistant", "content": [
            {"toolUse": {"toolUseId": call["id"], "name": "get_weather", "input": {"location": "Paris"}}}]},
        {"role": "user", "content": [
            {"toolResult": {"toolUseId": call["id"], "content": [{"text": "Sunny, 21 °C"}]}}]},
    ]


def test_non_streamed_tool_call_shape(gateway, standin):
    r = post(gateway, chat_body(model=CLAUDE, messages=[QUESTION], tools=TOOLS))
    assert r.status_code == 200, r.text
    [choice] = r.json()["choices"]
    assert choice["finish_reason"] == "tool_calls"
    msg = choice["message"]
    assert msg["role"] == "assistant"
    assert "content" in msg and msg["content"] is None
    [tc] = msg["tool_calls"]
    assert set(tc) == {"id", "type", "function"}
    assert tc["type"] == "function" and tc["id"].startswith("tooluse_")
    assert tc["function"]["name"] == "get_weather"
    assert isinstance(tc["function"]["arguments"], str)
    assert json.loads(tc["function"]["arguments"]) == {"location": "Paris"}


def test_non_streamed_text_and_parallel_calls(client, standin):
    standin.script({"text": "Let me check both.", "tool_use": [
        {"id": "tooluse_a", "name": "get_weather", "input": {"location": "Paris", "unit": "celsius"}},
        {"id": "tooluse_b", "name": "get_time", "input": {"timezone": "Europe/Paris"}}]})
    resp = client.chat.completions.create(model=CLAUDE, messages=[QUESTION], tools=TOOLS)
    msg = resp.choices[0].message
    assert resp.choices[0].finish_reason == "tool_calls"
    assert msg.content == "Let me check both."
    assert [(t.id, t.type, t.function.name, json.loads(t.function.arguments)) for t in msg.tool_calls] == [
        ("tooluse_a", "function", "get_weather", {"location": "Paris", "unit": "celsius"}),
        ("tooluse_b", "function", "get_time", {"timezone": "Europe/Paris"}),
    ]


PARALLEL = [{"name": "get_weather", "input": {"location": "Paris", "unit": "celsius",
                                              "detail": {"hourly": True, "days": [1, 2, 3]}}},
            {"name": "get_time", "input": {"timezone": "Europe/Paris"}}]


@pytest.mark.parametrize("model", [CLAUDE, MISTRAL_LARGE])
def test_parallel_calls_streamed_have_dense_indices(client, standin, model):
    # Bedrock's content blocks are text=0, tools=1,2; OpenAI's tool_calls indices must be 0,1.
    standin.script({"text": "Checking both.", "tool_use": PARALLEL})
    chunks = list(client.chat.completions.create(model=model, messages=[QUESTION], tools=TOOLS,
                                                 stream=True))
    indices = [tc.index for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    assert set(indices) == {0, 1}, indices
    calls = streamed_calls(chunks)
    assert [c["name"] for c in calls] == ["get_weather", "get_time"]
    assert [json.loads(c["arguments"]) for c in calls] == [p["input"] for p in PARALLEL]
    assert len({c["id"] for c in calls}) == 2
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Checking both."
    assert finish_of(chunks) == "tool_calls"
    [seen] = standin.requests()
    assert seen["operation"] == ("ConverseStream" if model == CLAUDE else "Converse")


def test_parallel_calls_streamed_with_the_npm_sdk(gateway, standin):
    standin.script({"text": "Checking both.", "tool_use": PARALLEL})
    events = node(gateway, {"model": CLAUDE, "messages": [QUESTION], "tools": TOOLS, "stream": True})
    assert all("chunk" in e for e in events), events
    calls = {}
    for chunk in (e["chunk"] for e in events if e["chunk"]["choices"]):
        for tc in chunk["choices"][0]["delta"].get("tool_calls") or []:
            if tc["index"] not in calls:
                assert tc["id"] and tc["function"]["name"] and tc["type"] == "function", tc
                calls[tc["index"]] = [tc["function"]["name"], tc["function"].get("arguments") or ""]
            else:
                assert "id" not in tc and "name" not in tc["function"], tc
                calls[tc["index"]][1] += tc["function"].get("arguments") or ""
    assert sorted(calls) == [0, 1]
    assert [(calls[i][0], json.loads(calls[i][1])) for i in (0, 1)] == [(p["name"], p["input"]) for p in PARALLEL]
    finishes = [e["chunk"]["choices"][0]["finish_reason"] for e in events if e["chunk"]["choices"]]
    assert finishes[-1] == "tool_calls"


def test_history_with_parallel_calls_and_merged_results(client, standin):
    history = [
        {"role": "system", "content": "Use the tools."},
        QUESTION,
        {"role": "assistant", "content": "Checking both.", "tool_calls": [
            {"id": "call_w", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"location": "Paris", "unit": "celsius"}'}},
            {"id": "call_t", "type": "function", "function": {"name": "get_time", "arguments": ""}}]},
        {"role": "tool", "tool_call_id": "call_w", "content": [
            {"type": "text", "text": "Sunny"}, {"type": "text", "text": "21 °C"}]},
        {"role": "tool", "tool_call_id": "call_t", "content": ""},
        {"role": "user", "content": "Thanks, summarise."},
    ]
    resp = client.chat.completions.create(model=CLAUDE, messages=history, tools=TOOLS)
    assert resp.choices[0].finish_reason == "stop"
    sent = last_converse(standin)["json"]
    assert sent["system"] == [{"text": "Use the tools."}]
    assert sent["messages"] == [
        {"role": "user", "content": [{"text": QUESTION["content"]}]},
        {"role": "assistant", "content": [
            {"text": "Checking both."},
            {"toolUse": {"toolUseId": "call_w", "name": "get_weather",
                         "input": {"location": "Paris", "unit": "celsius"}}},
            {"toolUse": {"toolUseId": "call_t", "name": "get_time", "input": {}}}]},
        # consecutive tool results and the user text that follows are one user turn
        {"role": "user", "content": [
            {"toolResult": {"toolUseId": "call_w", "content": [{"text": "Sunny\n21 °C"}]}},
            {"toolResult": {"toolUseId": "call_t", "content": [{"text": "(empty)"}]}},
            {"text": "Thanks, summarise."}]},
    ]


@pytest.mark.parametrize("choice,expected,called", [
    ("auto", {"auto": {}}, "get_weather"),
    ("required", {"any": {}}, "get_weather"),
    ({"type": "function", "function": {"name": "get_time"}}, {"tool": {"name": "get_time"}}, "get_time"),
], ids=["auto", "required", "function"])
def test_tool_choice(client, standin, choice, expected, called):
    # "Hello" alone does not make the stand-in call a tool; only the choice does (or "auto" + weather).
    text = "What is the weather?" if choice == "auto" else "Hello"
    resp = client.chat.completions.create(model=CLAUDE, messages=[{"role": "user", "content": text}],
                                          tools=TOOLS, tool_choice=choice)
    assert resp.choices[0].finish_reason == "tool_calls"
    assert [t.function.name for t in resp.choices[0].message.tool_calls] == [called]
    assert last_converse(standin)["json"]["toolConfig"] == {"tools": TOOL_SPECS, "toolChoice": expected}


TOOL_HISTORY = [
    {"role": "user", "content": "What is the weather in Paris?"},
    {"role": "assistant", "content": "Let me look.", "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "get_weather", "arguments": '{"location": "Paris", "unit": "celsius"}'}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 21 °C"},
    {"role": "user", "content": "And the weather tomorrow?"},
]


@pytest.mark.parametrize("model,fields", [
    (CLAUDE, {"tools": TOOLS, "tool_choice": "none"}),
    (CLAUDE, {}),
    # a model without tools is fine too: with tool_choice none no tool is in play
    (LLAMA, {"tools": TOOLS, "tool_choice": "none"}),
], ids=["claude-none", "claude-no-tools", "llama-none"])
def test_no_tools_in_play_writes_the_history_as_text(client, standin, model, fields):
    # The last user text says "weather": with a toolConfig the stand-in would call get_weather.
    resp = client.chat.completions.create(model=model, messages=TOOL_HISTORY, **fields)
    assert resp.choices[0].finish_reason == "stop"
    assert resp.choices[0].message.tool_calls is None
    assert resp.choices[0].message.content == f"Hello from the Bedrock stand-in ({model})."
    sent = last_converse(standin)["json"]
    assert "toolConfig" not in sent
    assert sent["messages"] == [
        {"role": "user", "content": [{"text": "What is the weather in Paris?"}]},
        {"role": "assistant", "content": [
            {"text": "Let me look."},
            {"text": '[Called tool get_weather with arguments {"location":"Paris","unit":"celsius"}]'}]},
        {"role": "user", "content": [
            {"text": "[Result of tool call call_1]: Sunny, 21 °C"},
            {"text": "And the weather tomorrow?"}]},
    ]


def test_tool_choice_none_streamed(client, standin):
    chunks = list(client.chat.completions.create(model=MISTRAL_LARGE, messages=TOOL_HISTORY, tools=TOOLS,
                                                 tool_choice="none", stream=True))
    assert streamed_calls(chunks) == []
    assert finish_of(chunks) == "stop"
    [seen] = standin.requests()
    # no tools in play: Mistral Large streams normally
    assert seen["operation"] == "ConverseStream" and "toolConfig" not in seen["json"]


# ---- refusals: 400 with the field, and nothing reaches the stand-in ----

@pytest.mark.parametrize("model", ["meta.llama3-8b-instruct-v1:0", "amazon.titan-text-express-v1",
                                   "mistral.mistral-7b-instruct-v0:2"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_tools_for_a_model_without_tools(gateway, standin, model, stream):
    r = post(gateway, chat_body(model=model, messages=[QUESTION], tools=TOOLS, stream=stream))
    err = assert_openai_error(r, 400, param="tools", kind="invalid_request_error")
    assert model in err["message"]
    assert standin.requests() == []


def bad_request(gateway, standin, body, param):
    r = post(gateway, body)
    err = assert_openai_error(r, 400, param=param, kind="invalid_request_error")
    assert standin.requests() == []
    return err


@pytest.mark.parametrize("name", ["get weather", "x" * 65, "", "wetter-für-paris"])
def test_bad_tool_name(gateway, standin, name):
    tool = {"type": "function", "function": {"name": name, "parameters": WEATHER_PARAMS}}
    bad_request(gateway, standin, chat_body(model=CLAUDE, messages=[QUESTION], tools=[tool, WEATHER]),
                "tools.[0].function.name")


def test_64_character_tool_name_is_fine(client, standin):
    name = "t" * 64
    client.chat.completions.create(model=CLAUDE, messages=[QUESTION], tools=[
        {"type": "function", "function": {"name": name}}])
    assert last_converse(standin)["json"]["toolConfig"]["tools"] == [
        {"toolSpec": {"name": name, "inputSchema": {"json": {"type": "object"}}}}]


def test_tool_call_arguments_must_be_json(gateway, standin):
    messages = [QUESTION, {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}},
        {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{timezone: UTC"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "ok"},
        {"role": "tool", "tool_call_id": "call_2", "content": "ok"}]
    err = bad_request(gateway, standin, chat_body(model=CLAUDE, messages=messages, tools=TOOLS),
                      "messages.[1].tool_calls.[1].function.arguments")
    assert "JSON" in err["message"]


def test_tool_choice_naming_an_unknown_function(gateway, standin):
    err = bad_request(gateway, standin, chat_body(
        model=CLAUDE, messages=[QUESTION], tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_stock_price"}}),
        "tool_choice.function.name")
    assert "get_stock_price" in err["message"]


def test_tool_message_without_tool_call_id(gateway, standin):
    messages = [QUESTION, {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "content": "Sunny"}]
    bad_request(gateway, standin, chat_body(model=CLAUDE, messages=messages, tools=TOOLS),
                "messages.[2].tool_call_id")
