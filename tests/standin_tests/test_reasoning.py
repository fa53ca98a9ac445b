"""Reasoning: each model kind's request fields and their misuse, the answer's reasoning
block (Converse and ConverseStream, read by botocore's own client and event-stream
parser), and the round trip of signed and redacted blocks through a tool loop."""

import base64
import copy
import json

import pytest
from botocore.eventstream import EventStreamBuffer

from standin import reasoning, testing

SONNET4 = "us.anthropic.claude-sonnet-4-20250514-v1:0"        # budget thinking, any sampling, prefill
SONNET45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"     # budget thinking
SONNET37 = "apac.anthropic.claude-3-7-sonnet-20250219-v1:0"   # budget thinking, Claude 3 validator
SONNET46 = "us.anthropic.claude-sonnet-4-6"                   # adaptive, and a budget still accepted
OPUS47 = "us.anthropic.claude-opus-4-7"                       # adaptive only, display omitted by default; profile only
HAIKU3 = "anthropic.claude-3-haiku-20240307-v1:0"             # no reasoning
NOVA2 = "us.amazon.nova-2-lite-v1:0"
GPTOSS = "openai.gpt-oss-120b-1:0"
R1 = "us.deepseek.r1-v1:0"
V3 = "deepseek.v3-v1:0"
LLAMA = "meta.llama3-70b-instruct-v1:0"

HI = [{"role": "user", "content": [{"text": "Hello there"}]}]
WEATHER_Q = [{"role": "user", "content": [{"text": "What's the weather in Paris?"}]}]
TOOLS = {"tools": [{"toolSpec": {"name": "get_weather", "description": "Weather in a city",
                                 "inputSchema": {"json": {"type": "object"}}}}]}
ENABLED = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
ADAPTIVE = {"thinking": {"type": "adaptive"}}
ROOM = {"maxTokens": 4096}
PREFIX = "The model returned the following errors: "


def client(url, model):
    return testing.client(url, region="ap-southeast-1" if model.startswith("apac.") else testing.REGION)


def converse(url, model, messages=HI, **kwargs):
    return client(url, model).converse(modelId=model, messages=messages, **kwargs)


def refused(url, model, messages=HI, stream=False, **kwargs):
    """The ValidationException message of a call that must be refused."""
    return testing.refused(client(url, model), model, messages, stream, **kwargs)


def script(url, behaviour):
    assert testing.control(url, "POST", "/_standin/script", behaviour)[0] == 200


def content_of(out):
    return out["output"]["message"]["content"]


def words(text):
    return len(text.split())


# -- requests -------------------------------------------------------------------------------


@pytest.mark.parametrize("model, kwargs", [
    (SONNET4, dict(additionalModelRequestFields=ENABLED, inferenceConfig=ROOM)),
    (SONNET4, dict(additionalModelRequestFields={"thinking": {"type": "disabled"}})),
    (SONNET4, dict(additionalModelRequestFields={**ENABLED, "anthropic_beta": ["interleaved-thinking-2025-05-14"]},
                   inferenceConfig={"maxTokens": 1025, "temperature": 1, "topP": 0.95})),
    (SONNET4, dict(additionalModelRequestFields={"top_k": 20}, inferenceConfig={"temperature": 0.2})),
    (SONNET45, dict(additionalModelRequestFields={"thinking": {"type": "enabled", "budget_tokens": 30000}},
                    inferenceConfig={"maxTokens": 64000})),
    (SONNET37, dict(additionalModelRequestFields=ENABLED, inferenceConfig=ROOM)),
    (SONNET46, dict(additionalModelRequestFields=ADAPTIVE)),
    (SONNET46, dict(additionalModelRequestFields={"thinking": {"type": "adaptive", "display": "summarized"}},
                    outputConfig={"effort": "max"})),
    (SONNET46, dict(additionalModelRequestFields=ENABLED, inferenceConfig=ROOM)),
    (SONNET46, dict(outputConfig={"effort": "high"})),
    (SONNET46, dict(additionalModelRequestFields={"thinking": {"type": "disabled"}}, outputConfig={"effort": "low"})),
    (OPUS47, dict(additionalModelRequestFields=ADAPTIVE, outputConfig={"effort": "xhigh"})),
    (OPUS47, dict(additionalModelRequestFields={"thinking": {"type": "adaptive", "display": "omitted"}})),
    (NOVA2, dict(additionalModelRequestFields={"reasoningConfig": {"type": "enabled", "maxReasoningEffort": "low"}})),
    (NOVA2, dict(additionalModelRequestFields={"reasoningConfig": {"type": "enabled",
                                                                   "maxReasoningEffort": "high"}})),
    (NOVA2, dict(additionalModelRequestFields={"reasoningConfig": {"type": "disabled"}})),
    (NOVA2, dict(additionalModelRequestFields={"inferenceConfig": {"topK": 20}})),
    (GPTOSS, dict(additionalModelRequestFields={"reasoning_effort": "low"})),
    (GPTOSS, dict(additionalModelRequestFields={"reasoning_effort": "high"})),
    (V3, dict(additionalModelRequestFields={"reasoning_config": "medium"})),
    (V3, dict(additionalModelRequestFields={"reasoning_effort": "high"})),
    (R1, dict()),
])
def test_each_kind_takes_its_reasoning_fields(url, model, kwargs):
    out = converse(url, model, **kwargs)
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert any("text" in b for b in content_of(out))


def test_adaptive_thinking_allows_forced_tool_choice(url):
    for choice in ({"any": {}}, {"tool": {"name": "get_weather"}}):
        out = converse(url, SONNET46, additionalModelRequestFields=ADAPTIVE, toolConfig=dict(TOOLS, toolChoice=choice))
        assert out["stopReason"] == "tool_use"


@pytest.mark.parametrize("model, kwargs, message", [
    # Claude with a budget (Anthropic's own messages, passed back by Bedrock)
    (SONNET4, dict(additionalModelRequestFields={"thinking": {"type": "enabled", "budget_tokens": 1023}},
                   inferenceConfig=ROOM),
     "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"),
    (SONNET4, dict(additionalModelRequestFields={"thinking": {"type": "enabled", "budget_tokens": "2048"}},
                   inferenceConfig=ROOM), "thinking.enabled.budget_tokens: Input should be a valid integer"),
    (SONNET4, dict(additionalModelRequestFields={"thinking": {"type": "enabled", "budget_tokens": 2048.0}},
                   inferenceConfig=ROOM), "thinking.enabled.budget_tokens: Input should be a valid integer"),
    (SONNET4, dict(additionalModelRequestFields={"thinking": {"type": "enabled"}}, inferenceConfig=ROOM),
     "thinking.enabled.budget_tokens: Field required"),
    (SONNET4, dict(additionalModelRequestFields={"thinking": {"type": "enabled", "budget_tokens": 2048}},
                   inferenceConfig={"maxTokens": 2048}),
     "`max_tokens` must be greater than `thinking.budget_tokens`"),
    (SONNET4, dict(additionalModelRequestFields=ENABLED),
     "`max_tokens` must be greater than `thinking.budget_tokens`"),
    (SONNET4, dict(additionalModelRequestFields=ADAPTIVE),
     "thinking: Input tag 'adaptive' found using 'type' does not match any of the expected tags: "
     "'enabled', 'disabled'"),
    (SONNET4, dict(additionalModelRequestFields={"thinking": {"budget_tokens": 2048}}, inferenceConfig=ROOM),
     "thinking: Unable to extract tag using discriminator 'type'"),
    (SONNET4, dict(additionalModelRequestFields={"thinking": "enabled"}),
     "thinking: Input should be a valid dictionary"),
    (SONNET4, dict(additionalModelRequestFields={"thinking": {**ENABLED["thinking"], "budget": 9}},
                   inferenceConfig=ROOM), "thinking.enabled.budget: Extra inputs are not permitted"),
    (SONNET4, dict(additionalModelRequestFields={"thinking": {"type": "disabled", "budget_tokens": 2048}}),
     "thinking.disabled.budget_tokens: Extra inputs are not permitted"),
    (SONNET4, dict(additionalModelRequestFields=ENABLED, inferenceConfig=ROOM,
                   toolConfig=dict(TOOLS, toolChoice={"any": {}})),
     "Thinking may not be enabled when tool_choice forces tool use."),
    (SONNET4, dict(additionalModelRequestFields=ENABLED, inferenceConfig=ROOM,
                   toolConfig=dict(TOOLS, toolChoice={"tool": {"name": "get_weather"}})),
     "Thinking may not be enabled when tool_choice forces tool use."),
    (SONNET4, dict(additionalModelRequestFields=ENABLED, inferenceConfig={**ROOM, "temperature": 0.5}),
     "`temperature` may only be set to 1 when thinking is enabled"),
    (SONNET4, dict(additionalModelRequestFields=ENABLED, inferenceConfig={**ROOM, "topP": 0.9}),
     "`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled"),
    (SONNET4, dict(additionalModelRequestFields={**ENABLED, "top_k": 5}, inferenceConfig=ROOM),
     "`top_k` may not be set when thinking is enabled"),
    (SONNET46, dict(additionalModelRequestFields=ADAPTIVE, inferenceConfig={"temperature": 0.3}),
     "`temperature` may only be set to 1 when thinking is enabled"),
    # adaptive models
    (OPUS47, dict(additionalModelRequestFields=ENABLED, inferenceConfig=ROOM),
     "`thinking.type.enabled` is not supported for this model. Use `thinking.type.adaptive`"),
    (SONNET46, dict(additionalModelRequestFields={"thinking": {"type": "adaptive", "display": "full"}}),
     "thinking.adaptive.display: Input should be 'summarized' or 'omitted'"),
    (SONNET46, dict(additionalModelRequestFields={"thinking": {"type": "adaptive", "budget_tokens": 2048}}),
     "thinking.adaptive.budget_tokens: Extra inputs are not permitted"),
    (SONNET46, dict(outputConfig={"effort": "xhigh"}), "the effort level is capped at `high`"),
    (OPUS47, dict(additionalModelRequestFields={"thinking": {"type": "disabled"}}, outputConfig={"effort": "max"}),
     "the effort level is capped at `high`"),
    (SONNET46, dict(additionalModelRequestFields=ADAPTIVE, outputConfig={"effort": "extreme"}),
     "output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'"),
    (SONNET4, dict(outputConfig={"effort": "high"}), "output_config.effort: Extra inputs are not permitted"),
    # reasoning keys a model's kind does not take, and unknown keys
    (SONNET4, dict(additionalModelRequestFields={"reasoningConfig": {"type": "enabled"}}),
     "reasoningConfig: Extra inputs are not permitted"),
    (SONNET45, dict(additionalModelRequestFields={"reasoning_effort": "high"}),
     "reasoning_effort: Extra inputs are not permitted"),
    (SONNET45, dict(additionalModelRequestFields={"nested": [1, {"a": None}]}),
     "nested: Extra inputs are not permitted"),
    (SONNET37, dict(additionalModelRequestFields={"reasoning_config": {"type": "enabled", "budget_tokens": 1024}},
                    inferenceConfig=ROOM), "#: extraneous key [reasoning_config] is not permitted"),
    (OPUS47, dict(additionalModelRequestFields={"reasoning_effort": "high"}),
     "reasoning_effort: Extra inputs are not permitted"),
    (NOVA2, dict(additionalModelRequestFields=ENABLED), "#: extraneous key [thinking] is not permitted"),
    (NOVA2, dict(additionalModelRequestFields={"reasoning_effort": "low"}),
     "#: extraneous key [reasoning_effort] is not permitted"),
    (GPTOSS, dict(additionalModelRequestFields={"reasoningConfig": {"type": "enabled"}}),
     "#: extraneous key [reasoningConfig] is not permitted"),
    (GPTOSS, dict(additionalModelRequestFields={"reasoning_config": "high"}),
     "#: extraneous key [reasoning_config] is not permitted"),
    (R1, dict(additionalModelRequestFields={"reasoning_effort": "high"}),
     "#: extraneous key [reasoning_effort] is not permitted"),
    (R1, dict(additionalModelRequestFields={"reasoning_config": "high"}),
     "#: extraneous key [reasoning_config] is not permitted"),
    (R1, dict(additionalModelRequestFields={"thinking": {"type": "enabled", "budget_tokens": 1024}}),
     "#: extraneous key [thinking] is not permitted"),
    (LLAMA, dict(additionalModelRequestFields={"reasoning_effort": "low", "thinking": {}}),
     "#: extraneous key [reasoning_effort] is not permitted#: extraneous key [thinking] is not permitted"),
    # each kind's own field, misused
    (NOVA2, dict(additionalModelRequestFields={"reasoningConfig": {"type": "enabled"}}),
     "#/reasoningConfig: required key [maxReasoningEffort] not found"),
    (NOVA2, dict(additionalModelRequestFields={"reasoningConfig": {"type": "enabled", "maxReasoningEffort": "max"}}),
     "#/reasoningConfig/maxReasoningEffort: max is not a valid enum value"),
    (NOVA2, dict(additionalModelRequestFields={"reasoningConfig": {"type": "on"}}),
     "#/reasoningConfig/type: on is not a valid enum value"),
    (NOVA2, dict(additionalModelRequestFields={"reasoningConfig": {"maxReasoningEffort": "low"}}),
     "#/reasoningConfig: required key [type] not found"),
    (NOVA2, dict(additionalModelRequestFields={"reasoningConfig": {"type": "enabled", "maxReasoningEffort": "low",
                                                                   "budget_tokens": 10}}),
     "#/reasoningConfig: extraneous key [budget_tokens] is not permitted"),
    (NOVA2, dict(additionalModelRequestFields={"reasoningConfig": "high"}),
     "#/reasoningConfig: expected type: JSONObject, found: String"),
    (GPTOSS, dict(additionalModelRequestFields={"reasoning_effort": "max"}),
     "#/reasoning_effort: max is not a valid enum value"),
    (GPTOSS, dict(additionalModelRequestFields={"reasoning_effort": 3}),
     "#/reasoning_effort: expected type: String, found: Integer"),
    (V3, dict(additionalModelRequestFields={"reasoning_config": {"type": "enabled"}}),
     "#/reasoning_config: expected type: String, found: JSONObject"),
])
def test_misused_reasoning_fields_are_refused(url, model, kwargs, message):
    got = refused(url, model, **kwargs)
    assert got.startswith(PREFIX), got
    assert message in got


def test_extraneous_key_message_is_bedrocks_whole_sentence(url):
    assert refused(url, HAIKU3, additionalModelRequestFields={"thinking": {"type": "enabled"}}) == (
        "The model returned the following errors: Malformed input request: #: extraneous key [thinking] is "
        "not permitted, please reformat your input and try again.")
    assert refused(url, SONNET4, additionalModelRequestFields={"foo": 1}) == (
        "The model returned the following errors: foo: Extra inputs are not permitted")


def test_effort_on_a_model_without_it_is_bedrocks_own_refusal(url):
    assert refused(url, NOVA2, outputConfig={"effort": "high"}) == (
        "This model doesn't support the outputConfig.effort field. Remove outputConfig.effort and try again.")


def test_additional_fields_must_be_an_object(url, recorded):
    status, _, data = testing.call(url, LLAMA, {"messages": HI, "additionalModelRequestFields": ["top_k"]})
    assert status == 400
    assert "#: expected type: JSONObject, found: JSONArray" in json.loads(data)["message"]


def test_stream_requests_are_checked_alike(url):
    assert "`max_tokens` must be greater" in refused(url, SONNET4, stream=True,
                                                     additionalModelRequestFields=ENABLED)


# -- answers --------------------------------------------------------------------------------


def thinking_answer(url, model=SONNET4, extra=None, **kwargs):
    fields = dict(ENABLED, **(extra or {}))
    return converse(url, model, additionalModelRequestFields=fields, inferenceConfig=ROOM, **kwargs)


def test_claude_thinking_answers_a_signed_reasoning_block_first(url):
    out = thinking_answer(url)
    first, second = content_of(out)
    text = first["reasoningContent"]["reasoningText"]
    assert set(text) == {"text", "signature"} and text["text"] == reasoning.DEFAULT_THOUGHT
    assert reasoning.signature_ok(text["text"], text["signature"])
    assert second["text"].startswith("Hello from the Bedrock stand-in")
    assert out["usage"]["outputTokens"] == words(second["text"]) + words(reasoning.DEFAULT_THOUGHT)
    assert out["usage"]["totalTokens"] == out["usage"]["inputTokens"] + out["usage"]["outputTokens"]


def test_no_reasoning_block_without_thinking(url):
    for model, fields in ((SONNET4, {}), (SONNET4, {"thinking": {"type": "disabled"}}), (SONNET46, {}),
                          (NOVA2, {"reasoningConfig": {"type": "disabled"}}), (NOVA2, {}), (V3, {}), (HAIKU3, {})):
        blocks = content_of(converse(url, model, additionalModelRequestFields=fields))
        assert [list(b) for b in blocks] == [["text"]], (model, fields)


def test_script_sets_the_reasoning_text(url):
    script(url, {"reasoning": "First I consider the question, then the answer."})
    out = thinking_answer(url)
    text = content_of(out)[0]["reasoningContent"]["reasoningText"]
    assert text["text"] == "First I consider the question, then the answer."
    assert reasoning.signature_ok(text["text"], text["signature"])
    assert out["usage"]["outputTokens"] == words(content_of(out)[1]["text"]) + 8


def test_script_redacted_gives_an_opaque_blob(url):
    script(url, {"redacted": True})
    first = content_of(thinking_answer(url))[0]
    assert list(first["reasoningContent"]) == ["redactedContent"]
    blob = first["reasoningContent"]["redactedContent"]
    assert isinstance(blob, bytes) and reasoning.redacted_ok(blob)
    assert not reasoning.redacted_ok(blob[:-2] + b"AA")


def test_redacted_blob_is_base64_in_the_json_body(url):
    script(url, {"redacted": True})
    status, _, data = testing.call(url, SONNET4, {"messages": HI, "additionalModelRequestFields": ENABLED,
                                                  "inferenceConfig": ROOM})
    assert status == 200
    blob = json.loads(data)["output"]["message"]["content"][0]["reasoningContent"]["redactedContent"]
    assert isinstance(blob, str) and reasoning.redacted_ok(base64.b64decode(blob, validate=True))


def test_adaptive_display_omitted_by_default_from_opus_4_7(url):
    text = content_of(converse(url, OPUS47, additionalModelRequestFields=ADAPTIVE))[0]
    text = text["reasoningContent"]["reasoningText"]
    assert text["text"] == "" and reasoning.signature_ok("", text["signature"])
    shown = content_of(converse(url, OPUS47, additionalModelRequestFields={
        "thinking": {"type": "adaptive", "display": "summarized"}}))[0]["reasoningContent"]["reasoningText"]
    assert shown["text"] == reasoning.DEFAULT_THOUGHT
    four_six = content_of(converse(url, SONNET46, additionalModelRequestFields=ADAPTIVE))[0]
    assert four_six["reasoningContent"]["reasoningText"]["text"] == reasoning.DEFAULT_THOUGHT


def test_nova2_reasoning_is_redacted_text_without_signature(url):
    out = converse(url, NOVA2, additionalModelRequestFields={
        "reasoningConfig": {"type": "enabled", "maxReasoningEffort": "medium"}})
    first, second = content_of(out)
    assert first == {"reasoningContent": {"reasoningText": {"text": "[REDACTED]"}}}
    assert out["usage"]["outputTokens"] == words(second["text"]) + words(reasoning.DEFAULT_THOUGHT)


@pytest.mark.parametrize("model, fields", [(GPTOSS, {}), (GPTOSS, {"reasoning_effort": "medium"}),
                                           (V3, {"reasoning_config": "low"})])
def test_open_models_reason_first_without_signature(url, model, fields):
    first, second = content_of(converse(url, model, additionalModelRequestFields=fields))
    assert first == {"reasoningContent": {"reasoningText": {"text": reasoning.DEFAULT_THOUGHT}}}
    assert "text" in second


def test_deepseek_r1_answers_text_then_reasoning(url):
    out = converse(url, R1)
    first, second = content_of(out)
    assert first["text"].startswith("Hello from the Bedrock stand-in")
    assert second == {"reasoningContent": {"reasoningText": {"text": reasoning.DEFAULT_THOUGHT}}}


def test_reasoning_then_tool_use(url):
    out = thinking_answer(url, messages=WEATHER_Q, toolConfig=TOOLS)
    kinds = [next(iter(b)) for b in content_of(out)]
    assert kinds == ["reasoningContent", "toolUse"] and out["stopReason"] == "tool_use"


# -- streamed answers -----------------------------------------------------------------------


def stream_events(url, model, messages=HI, **kwargs):
    out = client(url, model).converse_stream(modelId=model, messages=messages, **kwargs)
    return list(out["stream"])


def deltas(evs, index):
    return [e["contentBlockDelta"]["delta"] for e in evs
            if "contentBlockDelta" in e and e["contentBlockDelta"]["contentBlockIndex"] == index]


def test_streamed_thinking_text_pieces_then_signature(url):
    evs = stream_events(url, SONNET4, additionalModelRequestFields=ENABLED, inferenceConfig=ROOM)
    names = [next(iter(e)) for e in evs]
    assert names[0] == "messageStart" and names[-2:] == ["messageStop", "metadata"]
    block0 = deltas(evs, 0)
    pieces = [d["reasoningContent"]["text"] for d in block0[:-1]]
    assert len(pieces) >= 2 and "".join(pieces) == reasoning.DEFAULT_THOUGHT
    assert list(block0[-1]["reasoningContent"]) == ["signature"]
    assert reasoning.signature_ok("".join(pieces), block0[-1]["reasoningContent"]["signature"])
    stops = [e["contentBlockStop"]["contentBlockIndex"] for e in evs if "contentBlockStop" in e]
    assert stops == [0, 1]
    # the signature comes last, right before the block's stop
    sig_at = next(i for i, e in enumerate(evs) if "signature" in e.get("contentBlockDelta", {})
                  .get("delta", {}).get("reasoningContent", {}))
    assert "contentBlockStop" in evs[sig_at + 1]
    assert "".join(d["text"] for d in deltas(evs, 1)).startswith("Hello from the Bedrock stand-in")
    usage = evs[-1]["metadata"]["usage"]
    assert usage["outputTokens"] == words("".join(d["text"] for d in deltas(evs, 1))) + words(reasoning.DEFAULT_THOUGHT)


def test_streamed_redacted_is_one_delta(url):
    script(url, {"redacted": True})
    evs = stream_events(url, SONNET4, additionalModelRequestFields=ENABLED, inferenceConfig=ROOM)
    [delta] = deltas(evs, 0)
    blob = delta["reasoningContent"]["redactedContent"]
    assert isinstance(blob, bytes) and reasoning.redacted_ok(blob)


def test_streamed_redacted_payload_carries_base64(url):
    script(url, {"redacted": True})
    status, _, data = testing.call(url, SONNET4, {"messages": HI, "additionalModelRequestFields": ENABLED,
                                                  "inferenceConfig": ROOM}, operation="converse-stream")
    assert status == 200
    buf = EventStreamBuffer()
    buf.add_data(data)
    payloads = [json.loads(m.payload) for m in buf if m.headers[":event-type"] == "contentBlockDelta"]
    blob = payloads[0]["delta"]["reasoningContent"]["redactedContent"]
    assert isinstance(blob, str) and reasoning.redacted_ok(base64.b64decode(blob, validate=True))


def test_streamed_indexes_count_reasoning_text_and_tools(url):
    script(url, {"text": "Let me look.", "tool_use": [{"name": "get_weather", "input": {"city": "Rome"}}]})
    evs = stream_events(url, SONNET4, messages=WEATHER_Q, toolConfig=TOOLS,
                        additionalModelRequestFields=ENABLED, inferenceConfig=ROOM)
    assert "reasoningContent" in deltas(evs, 0)[0]
    assert "".join(d["text"] for d in deltas(evs, 1)) == "Let me look."
    [start] = [e["contentBlockStart"] for e in evs if "contentBlockStart" in e]
    assert start["contentBlockIndex"] == 2 and start["start"]["toolUse"]["name"] == "get_weather"
    assert [e["contentBlockStop"]["contentBlockIndex"] for e in evs if "contentBlockStop" in e] == [0, 1, 2]


def test_streamed_omitted_display_sends_only_the_signature(url):
    evs = stream_events(url, OPUS47, additionalModelRequestFields=ADAPTIVE)
    [delta] = deltas(evs, 0)
    assert list(delta["reasoningContent"]) == ["signature"]
    assert reasoning.signature_ok("", delta["reasoningContent"]["signature"])


def test_streamed_open_models(url):
    evs = stream_events(url, R1)
    assert "".join(d["text"] for d in deltas(evs, 0)).startswith("Hello from")
    r1 = deltas(evs, 1)
    assert r1 and all(list(d) == ["reasoningContent"] and list(d["reasoningContent"]) == ["text"] for d in r1)
    assert "".join(d["reasoningContent"]["text"] for d in r1) == reasoning.DEFAULT_THOUGHT
    evs = stream_events(url, NOVA2, additionalModelRequestFields={
        "reasoningConfig": {"type": "enabled", "maxReasoningEffort": "low"}})
    assert deltas(evs, 0) == [{"reasoningContent": {"text": "[REDACTED]"}}]
    evs = stream_events(url, GPTOSS)
    assert "".join(d["reasoningContent"]["text"] for d in deltas(evs, 0)) == reasoning.DEFAULT_THOUGHT
    assert not any("signature" in d["reasoningContent"] for d in deltas(evs, 0))


# -- the round trip -------------------------------------------------------------------------


def tool_loop(url, model=SONNET4, fields=ENABLED, turns=None):
    """Round 1 of a tool loop: returns (messages so far, ending with the tool result, kwargs)."""
    kwargs = dict(additionalModelRequestFields=fields, inferenceConfig=ROOM, toolConfig=TOOLS)
    out = converse(url, model, messages=WEATHER_Q, **kwargs)
    assistant = out["output"]["message"]
    [use] = [b["toolUse"] for b in assistant["content"] if "toolUse" in b]
    result = {"role": "user", "content": [{"toolResult": {"toolUseId": use["toolUseId"],
                                                          "content": [{"text": "sunny, 21C"}]}}]}
    return [*WEATHER_Q, assistant, result], kwargs


def test_signed_block_echoed_through_a_tool_loop_passes(url):
    messages, kwargs = tool_loop(url)
    assert "reasoningContent" in messages[1]["content"][0]
    out = converse(url, SONNET4, messages=messages, **kwargs)
    # Without interleaved thinking Claude thinks once per assistant turn: no new block mid-loop.
    assert [next(iter(b)) for b in content_of(out)] == ["text"]
    # The turn goes on: the next user question starts a new turn that thinks again.
    messages += [out["output"]["message"], {"role": "user", "content": [{"text": "And tomorrow?"}]}]
    again = converse(url, SONNET4, messages=messages, **kwargs)
    assert "reasoningContent" in content_of(again)[0]


def test_a_second_tool_round_needs_the_first_block_only(url):
    messages, kwargs = tool_loop(url)
    script(url, {"tool_use": [{"name": "get_weather", "input": {"city": "Lyon"}}]})
    second = converse(url, SONNET4, messages=messages, **kwargs)["output"]["message"]
    assert [next(iter(b)) for b in second["content"]] == ["toolUse"]
    use_id = second["content"][0]["toolUse"]["toolUseId"]
    messages += [second, {"role": "user", "content": [{"toolResult": {"toolUseId": use_id,
                                                                      "content": [{"text": "rain"}]}}]}]
    assert converse(url, SONNET4, messages=messages, **kwargs)["stopReason"] == "end_turn"
    dropped = copy.deepcopy(messages)
    dropped[1]["content"] = dropped[1]["content"][1:]
    assert "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`" in refused(
        url, SONNET4, messages=dropped, **kwargs)


def test_missing_block_is_refused(url):
    messages, kwargs = tool_loop(url)
    messages[1]["content"] = [b for b in messages[1]["content"] if "reasoningContent" not in b]
    got = refused(url, SONNET4, messages=messages, **kwargs)
    assert got == (
        "The model returned the following errors: messages.1.content.0.type: Expected `thinking` or "
        "`redacted_thinking`, but found `tool_use`. When `thinking` is enabled, a final `assistant` message "
        "must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` "
        "blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, "
        "disable `thinking`. Please consult our documentation at "
        "https://docs.claude.com/en/docs/build-with-claude/extended-thinking")


def test_block_replaced_by_text_is_refused(url):
    messages, kwargs = tool_loop(url)
    messages[1]["content"][0] = {"text": messages[1]["content"][0]["reasoningContent"]["reasoningText"]["text"]}
    assert "but found `text`" in refused(url, SONNET4, messages=messages, **kwargs)


def test_moved_block_is_refused(url):
    messages, kwargs = tool_loop(url)
    messages[1]["content"].reverse()
    assert "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`" in refused(
        url, SONNET4, messages=messages, **kwargs)


@pytest.mark.parametrize("field, change", [("text", lambda t: t + " "), ("text", lambda t: t.upper()),
                                           ("signature", lambda s: s[:-4] + "AAA="),
                                           ("signature", lambda s: reasoning.sign("something else"))])
def test_modified_block_is_refused(url, field, change):
    messages, kwargs = tool_loop(url)
    text = messages[1]["content"][0]["reasoningContent"]["reasoningText"]
    text[field] = change(text[field])
    assert refused(url, SONNET4, messages=messages, **kwargs) == (
        "The model returned the following errors: messages.1.content.0: Invalid `signature` in `thinking` block")


def test_block_without_signature_is_refused(url):
    messages, kwargs = tool_loop(url)
    del messages[1]["content"][0]["reasoningContent"]["reasoningText"]["signature"]
    assert refused(url, SONNET4, messages=messages, **kwargs) == (
        "The model returned the following errors: messages.1.content.0.thinking.signature: Field required")


def test_redacted_block_round_trip(url):
    script(url, {"redacted": True, "tool_use": [{"name": "get_weather", "input": {"city": "Paris"}}]})
    messages, kwargs = tool_loop(url)
    assert list(messages[1]["content"][0]["reasoningContent"]) == ["redactedContent"]
    assert converse(url, SONNET4, messages=messages, **kwargs)["stopReason"] == "end_turn"
    forged = copy.deepcopy(messages)
    forged[1]["content"][0]["reasoningContent"]["redactedContent"] = base64.b64encode(b"SRED" + b"x" * 56)
    assert "messages.1.content.0: `thinking` or `redacted_thinking` blocks in the latest assistant message cannot " \
           "be modified" in refused(url, SONNET4, messages=forged, **kwargs)


def test_streamed_blocks_assembled_and_echoed_pass(url):
    kwargs = dict(additionalModelRequestFields=ENABLED, inferenceConfig=ROOM, toolConfig=TOOLS)
    evs = stream_events(url, SONNET4, messages=WEATHER_Q, **kwargs)
    block0 = deltas(evs, 0)
    thought = {"text": "".join(d["reasoningContent"].get("text", "") for d in block0),
               "signature": block0[-1]["reasoningContent"]["signature"]}
    [start] = [e["contentBlockStart"]["start"]["toolUse"] for e in evs if "contentBlockStart" in e]
    args = json.loads("".join(d["toolUse"]["input"] for d in deltas(evs, 1)))
    assistant = {"role": "assistant", "content": [
        {"reasoningContent": {"reasoningText": thought}},
        {"toolUse": {"toolUseId": start["toolUseId"], "name": start["name"], "input": args}}]}
    result = {"role": "user", "content": [{"toolResult": {"toolUseId": start["toolUseId"],
                                                          "content": [{"text": "sunny"}]}}]}
    out = converse(url, SONNET4, messages=[*WEATHER_Q, assistant, result], **kwargs)
    assert out["stopReason"] == "end_turn"


def test_adaptive_round_trip_thinks_again_mid_loop(url):
    messages, kwargs = tool_loop(url, SONNET46, ADAPTIVE)
    out = converse(url, SONNET46, messages=messages, **kwargs)
    assert "reasoningContent" in content_of(out)[0]  # adaptive thinking interleaves
    messages[1]["content"] = messages[1]["content"][1:]
    assert "but found `tool_use`" in refused(url, SONNET46, messages=messages, **kwargs)


def test_omitted_display_block_round_trip(url):
    messages, kwargs = tool_loop(url, OPUS47, ADAPTIVE)
    assert messages[1]["content"][0]["reasoningContent"]["reasoningText"]["text"] == ""
    assert converse(url, OPUS47, messages=messages, **kwargs)["ResponseMetadata"]["HTTPStatusCode"] == 200
    messages[1]["content"][0]["reasoningContent"]["reasoningText"]["text"] = "made up"
    assert "Invalid `signature`" in refused(url, OPUS47, messages=messages, **kwargs)


def test_earlier_turns_may_drop_reasoning(url):
    messages, kwargs = tool_loop(url)
    history = [{"role": "user", "content": [{"text": "Hi"}]},
               {"role": "assistant", "content": [{"text": "Hello! How can I help?"}]}]
    assert converse(url, SONNET4, messages=history + messages, **kwargs)["stopReason"] == "end_turn"
    # ... but a block kept in an earlier turn must still be the one issued
    earlier = copy.deepcopy(messages[1]["content"][0])
    earlier["reasoningContent"]["reasoningText"]["text"] += "!"
    history[1]["content"].insert(0, earlier)
    assert "messages.1.content.0: Invalid `signature`" in refused(url, SONNET4, messages=history + messages, **kwargs)


def test_thinking_off_accepts_reasoning_in_history(url):
    messages, _ = tool_loop(url)
    messages[1]["content"][0]["reasoningContent"]["reasoningText"]["text"] = "edited, and nobody checks"
    for fields in ({}, {"thinking": {"type": "disabled"}}):
        out = converse(url, SONNET4, messages=messages, toolConfig=TOOLS, additionalModelRequestFields=fields)
        assert out["stopReason"] == "end_turn"
    messages[1]["content"] = messages[1]["content"][1:]
    assert converse(url, SONNET4, messages=messages, toolConfig=TOOLS)["stopReason"] == "end_turn"


def test_prefill_and_thinking(url):
    signed = {"reasoningContent": {"reasoningText": {"text": "Hmm.", "signature": reasoning.sign("Hmm.")}}}
    prefill = [*HI, {"role": "assistant", "content": [{"text": "Well,"}]}]
    assert "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `text`" in refused(
        url, SONNET4, messages=prefill, additionalModelRequestFields=ENABLED, inferenceConfig=ROOM)
    prefill[1]["content"].insert(0, signed)
    assert converse(url, SONNET4, messages=prefill, additionalModelRequestFields=ENABLED, inferenceConfig=ROOM)
    assert refused(url, SONNET4, messages=prefill) == (
        "The model returned the following errors: messages.1.content.0: When thinking is disabled, an "
        "`assistant` message in the final position cannot contain `thinking`. To use thinking blocks, enable "
        "`thinking` in your request.")


def test_reasoning_blocks_only_in_assistant_turns_of_reasoning_models(url):
    signed = {"reasoningContent": {"reasoningText": {"text": "Hmm.", "signature": reasoning.sign("Hmm.")}}}
    in_user = [{"role": "user", "content": [{"text": "Hi"}, signed]}]
    assert refused(url, SONNET4, messages=in_user) == (
        "The reasoningContent block at messages.0.content.1 must be in an assistant message.")
    history = [*HI, {"role": "assistant", "content": [signed, {"text": "Hello"}]},
               {"role": "user", "content": [{"text": "Again"}]}]
    assert "doesn't support the reasoningContent content block (at messages.1.content.0)" in refused(
        url, LLAMA, messages=history)
    assert "doesn't support the reasoningContent content block" in refused(url, HAIKU3, messages=history)
    plain = copy.deepcopy(history)
    del plain[1]["content"][0]["reasoningContent"]["reasoningText"]["signature"]
    for model in (GPTOSS, R1, NOVA2, V3):
        assert converse(url, model, messages=plain)["ResponseMetadata"]["HTTPStatusCode"] == 200
    redacted = copy.deepcopy(history)
    redacted[1]["content"][0] = {"reasoningContent": {"redactedContent": b"opaque"}}
    for model in (GPTOSS, R1, NOVA2):
        assert refused(url, model, messages=redacted) == (
            "This model doesn't support redactedContent in the reasoningContent block (at messages.1.content.0).")


def test_script_keys_are_checked(url):
    for bad, fragment in (({"reasoning": 3}, "reasoning must be a string"),
                          ({"redacted": "yes"}, "redacted must be true or false")):
        status, body = testing.control(url, "POST", "/_standin/script", bad)
        assert status == 400 and fragment in body["message"]
    script(url, {"reasoning": "scripted thought", "text": "plain"})
    # a script forces the block even where the request asked no reasoning
    first, second = content_of(converse(url, LLAMA))
    assert first == {"reasoningContent": {"reasoningText": {"text": "scripted thought"}}}
    assert second == {"text": "plain"}
