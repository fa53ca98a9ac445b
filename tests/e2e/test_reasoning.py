"""Reasoning end to end: each effort level becomes each family's Converse field, the
reasoning comes back as `reasoning_content` and `thinking_blocks` (streamed and not), and a
Claude tool loop sends its signed blocks back as the client got them.

Real clients (the official OpenAI SDKs, Python and npm) → Envoy + filter → the stand-in,
which validates each family's reasoning fields as Bedrock does, answers with reasoning
blocks in Bedrock's shapes (Claude's signed, Nova's redacted, R1's after its text) and
refuses a tool loop whose signed blocks are missing, moved or modified.
"""

import json

import pytest

from e2e.helpers import assert_openai_error, chat_body, node, post

SONNET_45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"  # a thinking budget
SONNET_46 = "us.anthropic.claude-sonnet-4-6"                 # adaptive thinking + effort
OPUS_47 = "us.anthropic.claude-opus-4-7"                     # adaptive, display omitted by default (profile only)
NOVA_2 = "us.amazon.nova-2-lite-v1:0"                        # reasoningConfig
GPT_OSS = "openai.gpt-oss-120b-1:0"                          # reasoning_effort
R1 = "us.deepseek.r1-v1:0"                                   # always reasons
V32 = "deepseek.v3.2"                                        # no documented field
HAIKU_3 = "anthropic.claude-3-haiku-20240307-v1:0"           # cannot reason

THOUGHT = "The user greets me. A short, friendly answer will do."
QUESTION = {"role": "user", "content": "What is the weather in Paris?"}
WEATHER = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]

BUDGET = {"minimal": 1024, "low": 1024, "medium": 2048, "high": 4096, "xhigh": 8192}
EFFORT_46 = {"minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "xhigh"}
THREE_LEVELS = {"minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "high"}


def converse_of(standin):
    [seen] = standin.requests()
    assert seen["status"] == 200, seen
    return seen["json"]


def extra(message, name):
    """A field the OpenAI SDK keeps beside its own (reasoning_content, thinking_blocks)."""
    return (message.model_extra or {}).get(name)


def streamed(client, **kw):
    """The chunks of a streamed answer and what they add up to."""
    chunks = list(client.chat.completions.create(stream=True, stream_options={"include_usage": True}, **kw))
    reasoning, text, blocks, calls = "", "", {}, {}
    for c in chunks:
        if not c.choices:
            continue
        d = c.choices[0].delta
        text += d.content or ""
        reasoning += extra(d, "reasoning_content") or ""
        for b in extra(d, "thinking_blocks") or []:
            slot = blocks.setdefault(b["index"], {"type": b["type"]})
            if b["type"] == "thinking":
                slot["thinking"] = slot.get("thinking", "") + b["thinking"]
                if b.get("signature"):
                    slot["signature"] = b["signature"]
            else:
                slot["data"] = b["data"]
        for t in d.tool_calls or []:
            slot = calls.setdefault(t.index, {"id": None, "name": None, "arguments": ""})
            slot["id"] = t.id or slot["id"]
            if t.function:
                slot["name"] = t.function.name or slot["name"]
                slot["arguments"] += t.function.arguments or ""
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    return {"chunks": chunks, "reasoning": reasoning, "text": text,
            "blocks": [blocks[i] for i in sorted(blocks)], "calls": [calls[i] for i in sorted(calls)],
            "finish": finish, "usage": chunks[-1].usage}


# --- each effort level → each family's field ---------------------------------------------

@pytest.mark.parametrize("effort", list(BUDGET))
def test_a_budget_claude_thinks_with_the_effort_s_budget(client, standin, effort):
    standin.script({"reasoning": THOUGHT})
    resp = client.chat.completions.create(model=SONNET_45, reasoning_effort=effort,
                                          messages=[{"role": "user", "content": "Hi"}])
    c = converse_of(standin)
    budget = BUDGET[effort]
    assert c["additionalModelRequestFields"] == {"thinking": {"type": "enabled", "budget_tokens": budget}}
    assert c["inferenceConfig"]["maxTokens"] == budget + 4096
    msg = resp.choices[0].message
    assert extra(msg, "reasoning_content") == THOUGHT
    [block] = extra(msg, "thinking_blocks")
    assert block["type"] == "thinking" and block["thinking"] == THOUGHT and block["signature"]
    assert msg.content and resp.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("effort", list(EFFORT_46))
def test_an_adaptive_claude_gets_output_config_effort(client, standin, effort):
    resp = client.chat.completions.create(model=SONNET_46, reasoning_effort=effort,
                                          messages=[{"role": "user", "content": "Hi"}])
    c = converse_of(standin)
    assert c["additionalModelRequestFields"] == {"thinking": {"type": "adaptive", "display": "summarized"}}
    assert c["outputConfig"] == {"effort": EFFORT_46[effort]}
    assert "maxTokens" not in c.get("inferenceConfig", {})
    assert extra(resp.choices[0].message, "reasoning_content")


def test_opus_4_7_shows_its_reasoning_although_its_default_is_omitted(client, standin):
    # Bedrock's Opus 4.7 returns a signature and no text unless display is "summarized".
    standin.script({"reasoning": THOUGHT})
    resp = client.chat.completions.create(model=OPUS_47, reasoning_effort="high",
                                          messages=[{"role": "user", "content": "Hi"}])
    assert converse_of(standin)["additionalModelRequestFields"]["thinking"]["display"] == "summarized"
    assert extra(resp.choices[0].message, "reasoning_content") == THOUGHT


@pytest.mark.parametrize("effort", list(THREE_LEVELS))
def test_nova_2_gets_a_reasoning_config(client, standin, effort):
    resp = client.chat.completions.create(model=NOVA_2, reasoning_effort=effort,
                                          messages=[{"role": "user", "content": "Hi"}])
    c = converse_of(standin)
    assert c["additionalModelRequestFields"] == {
        "reasoningConfig": {"type": "enabled", "maxReasoningEffort": THREE_LEVELS[effort]}}
    # Nova shows no reasoning text: Bedrock answers "[REDACTED]", passed on as it is.
    assert extra(resp.choices[0].message, "reasoning_content") == "[REDACTED]"


@pytest.mark.parametrize("effort", list(THREE_LEVELS))
def test_gpt_oss_gets_reasoning_effort(client, standin, effort):
    standin.script({"reasoning": THOUGHT})
    resp = client.chat.completions.create(model=GPT_OSS, reasoning_effort=effort,
                                          messages=[{"role": "user", "content": "Hi"}])
    assert converse_of(standin)["additionalModelRequestFields"] == {"reasoning_effort": THREE_LEVELS[effort]}
    msg = resp.choices[0].message
    assert extra(msg, "reasoning_content") == THOUGHT
    # Unsigned reasoning has no signature to send back.
    assert extra(msg, "thinking_blocks") == [{"type": "thinking", "thinking": THOUGHT}]


def test_r1_always_reasons_and_its_reasoning_comes_out_of_its_answer(client, standin):
    standin.script({"reasoning": THOUGHT})
    resp = client.chat.completions.create(model=R1, reasoning_effort="high",
                                          messages=[{"role": "user", "content": "Hi"}])
    assert "additionalModelRequestFields" not in converse_of(standin)
    msg = resp.choices[0].message
    # R1 puts its reasoning block after the text: the content is the text alone.
    assert extra(msg, "reasoning_content") == THOUGHT
    assert THOUGHT not in msg.content and msg.content


def test_without_reasoning_effort_nothing_is_asked(client, standin):
    resp = client.chat.completions.create(model=SONNET_45, messages=[{"role": "user", "content": "Hi"}])
    c = converse_of(standin)
    assert "additionalModelRequestFields" not in c and "outputConfig" not in c
    assert extra(resp.choices[0].message, "reasoning_content") is None


def test_the_anthropic_thinking_extension_is_taken_as_it_is(client, standin):
    resp = client.chat.completions.create(
        model=SONNET_45, messages=[{"role": "user", "content": "Hi"}], max_tokens=3000,
        extra_body={"thinking": {"type": "enabled", "budget_tokens": 2000}})
    c = converse_of(standin)
    assert c["additionalModelRequestFields"] == {"thinking": {"type": "enabled", "budget_tokens": 2000}}
    assert c["inferenceConfig"]["maxTokens"] == 3000
    assert extra(resp.choices[0].message, "thinking_blocks")


def test_sampling_the_model_refuses_while_thinking_is_dropped(client, standin):
    client.chat.completions.create(model=SONNET_45, reasoning_effort="low", temperature=0.2, top_p=0.5,
                                   messages=[{"role": "user", "content": "Hi"}])
    config = converse_of(standin)["inferenceConfig"]
    assert "temperature" not in config and "topP" not in config


# --- streamed ------------------------------------------------------------------------------

@pytest.mark.parametrize("model", [SONNET_45, SONNET_46, GPT_OSS])
def test_streamed_reasoning_arrives_before_the_answer(client, standin, model):
    standin.script({"reasoning": THOUGHT})
    s = streamed(client, model=model, reasoning_effort="medium", messages=[{"role": "user", "content": "Hi"}])
    assert standin.requests()[0]["operation"] == "ConverseStream"
    assert s["reasoning"] == THOUGHT and s["text"]
    first_text = next(i for i, c in enumerate(s["chunks"]) if c.choices and c.choices[0].delta.content)
    last_reasoning = max(i for i, c in enumerate(s["chunks"])
                         if c.choices and extra(c.choices[0].delta, "reasoning_content"))
    assert last_reasoning < first_text
    [block] = s["blocks"]
    assert block["thinking"] == THOUGHT
    assert bool(block.get("signature")) == model.startswith("us.anthropic")
    assert s["finish"] == ["stop"] and s["usage"].completion_tokens > 0


def test_a_redacted_block_reaches_the_client_as_it_came(client, standin):
    standin.script({"redacted": True})
    resp = client.chat.completions.create(model=SONNET_45, reasoning_effort="low",
                                          messages=[{"role": "user", "content": "Hi"}])
    [block] = extra(resp.choices[0].message, "thinking_blocks")
    assert block["type"] == "redacted_thinking" and block["data"]
    standin.reset()
    standin.script({"redacted": True})
    s = streamed(client, model=SONNET_45, reasoning_effort="low", messages=[{"role": "user", "content": "Hi"}])
    [sblock] = s["blocks"]
    assert sblock["type"] == "redacted_thinking" and sblock["data"]


def test_the_npm_sdk_streams_reasoning(gateway, standin):
    standin.script({"reasoning": THOUGHT})
    events = node(gateway, {"model": SONNET_45, "reasoning_effort": "low", "stream": True,
                            "messages": [{"role": "user", "content": "Hi"}]})
    deltas = [e["chunk"]["choices"][0]["delta"] for e in events if e["chunk"]["choices"]]
    assert "".join(d.get("reasoning_content") or "" for d in deltas) == THOUGHT
    signatures = [b["signature"] for d in deltas for b in d.get("thinking_blocks", []) if b.get("signature")]
    assert len(signatures) == 1
    # The same thought signs the same: the buffered answer carries the signature whole.
    standin.script({"reasoning": THOUGHT})
    events = node(gateway, {"model": SONNET_45, "reasoning_effort": "low",
                            "messages": [{"role": "user", "content": "Hi"}]})
    [done] = events
    assert done["completion"]["choices"][0]["message"]["thinking_blocks"][0]["signature"] == signatures[0]


# --- a Claude tool loop sends its signed blocks back ---------------------------------------

def as_history(message):
    """The assistant message as a client appends it: the SDK's own dict, extras included."""
    return message.model_dump(exclude_none=True)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_a_two_round_tool_loop_keeps_thinking(client, standin, stream):
    def round_trip(history):
        if stream:
            s = streamed(client, model=SONNET_45, reasoning_effort="low", tools=WEATHER, messages=history)
            msg = {"role": "assistant", "content": s["text"] or None,
                   "tool_calls": [{"id": c["id"], "type": "function",
                                   "function": {"name": c["name"], "arguments": c["arguments"]}}
                                  for c in s["calls"]] or None}
            if s["blocks"]:
                msg["thinking_blocks"] = s["blocks"]
            return {k: v for k, v in msg.items() if v is not None}, s["finish"][0]
        resp = client.chat.completions.create(model=SONNET_45, reasoning_effort="low", tools=WEATHER,
                                              messages=history)
        return as_history(resp.choices[0].message), resp.choices[0].finish_reason

    # 1. Claude thinks, then asks for a tool.
    standin.script({"reasoning": THOUGHT, "tool_use": [{"name": "get_weather", "input": {"city": "Paris"}}]})
    first, finish = round_trip([QUESTION])
    assert finish == "tool_calls" and first["thinking_blocks"][0]["signature"]
    history = [QUESTION, first, {"role": "tool", "tool_call_id": first["tool_calls"][0]["id"],
                                 "content": "Sunny, 21 °C"}]
    # 2. It asks for another (no new thinking mid-loop); the first round's blocks go back first.
    standin.reset()
    standin.script({"tool_use": [{"name": "get_weather", "input": {"city": "Lyon"}}]})
    second, finish = round_trip(history)
    assert finish == "tool_calls" and "thinking_blocks" not in second
    c = converse_of(standin)
    assert c["additionalModelRequestFields"]["thinking"]["type"] == "enabled"
    assert c["messages"][1]["content"][0]["reasoningContent"]["reasoningText"]["text"] == THOUGHT
    history += [second, {"role": "tool", "tool_call_id": second["tool_calls"][0]["id"], "content": "Rain"}]
    # 3. The final answer, still thinking: the stand-in checked the signature each time.
    standin.reset()
    final, finish = round_trip(history)
    assert finish == "stop" and final["content"]
    assert converse_of(standin)["additionalModelRequestFields"]["thinking"]["type"] == "enabled"


def test_a_modified_thinking_block_is_refused_by_bedrock(gateway, client, standin):
    standin.script({"reasoning": THOUGHT, "tool_use": [{"name": "get_weather", "input": {"city": "Paris"}}]})
    resp = client.chat.completions.create(model=SONNET_45, reasoning_effort="low", tools=WEATHER,
                                          messages=[QUESTION])
    first = as_history(resp.choices[0].message)
    first["thinking_blocks"][0]["thinking"] += " (edited)"
    history = [QUESTION, first, {"role": "tool", "tool_call_id": first["tool_calls"][0]["id"], "content": "Sunny"}]
    standin.reset()
    r = post(gateway, chat_body(model=SONNET_45, messages=history, tools=WEATHER, reasoning_effort="low"))
    err = assert_openai_error(r, 400, kind="invalid_request_error")
    assert "signature" in err["message"]


def test_a_tool_loop_without_its_blocks_goes_without_thinking(client, standin):
    # A client that drops the extra fields (most do) still gets its answer, without thinking.
    standin.script({"reasoning": THOUGHT, "tool_use": [{"name": "get_weather", "input": {"city": "Paris"}}]})
    resp = client.chat.completions.create(model=SONNET_45, reasoning_effort="low", tools=WEATHER,
                                          messages=[QUESTION])
    call = resp.choices[0].message.tool_calls[0]
    history = [QUESTION, {"role": "assistant", "content": None, "tool_calls": [
        {"id": call.id, "type": "function", "function": {"name": call.function.name,
                                                         "arguments": call.function.arguments}}]},
               {"role": "tool", "tool_call_id": call.id, "content": "Sunny"}]
    standin.reset()
    resp = client.chat.completions.create(model=SONNET_45, reasoning_effort="low", tools=WEATHER,
                                          messages=history)
    assert resp.choices[0].finish_reason == "stop"
    assert "additionalModelRequestFields" not in converse_of(standin)


# --- refusals ------------------------------------------------------------------------------

REFUSALS = [
    ("no-reasoning-model", dict(model=HAIKU_3, reasoning_effort="low"), "reasoning_effort"),
    ("deepseek-v3-no-field", dict(model=V32, reasoning_effort="low"), "reasoning_effort"),
    ("r1-cannot-stop", dict(model=R1, reasoning_effort="none"), "reasoning_effort"),
    ("unknown-effort", dict(model=SONNET_45, reasoning_effort="extreme"), "reasoning_effort"),
    ("forced-tool-while-thinking", dict(model=SONNET_45, reasoning_effort="low", tools=WEATHER,
                                        tool_choice="required"), "tool_choice"),
    ("budget-below-minimum", dict(model=SONNET_45, thinking={"type": "enabled", "budget_tokens": 100}),
     "thinking.budget_tokens"),
    ("adaptive-on-a-budget-model", dict(model=SONNET_45, thinking={"type": "adaptive"}), "thinking.type"),
    ("thinking-on-nova", dict(model=NOVA_2, thinking={"type": "enabled", "budget_tokens": 2048}), "thinking"),
]


@pytest.mark.parametrize("fields,param", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_refusals_never_reach_bedrock(gateway, standin, fields, param):
    body = chat_body(messages=[{"role": "user", "content": "Hi"}], **fields)
    r = post(gateway, body)
    assert_openai_error(r, 400, param=param, kind="invalid_request_error")
    assert standin.requests() == []


def test_reasoning_requests_are_valid_json_for_botocore(client, standin):
    # Every body above was validated by the stand-in against botocore's service model;
    # this one also checks that the effort levels serialize as the strings Bedrock wants.
    client.chat.completions.create(model=SONNET_46, reasoning_effort="xhigh", messages=[{"role": "user",
                                                                                       "content": "Hi"}])
    assert json.dumps(converse_of(standin)["outputConfig"]) == '{"effort": "xhigh"}'
