//! Reasoning: `reasoning_effort` / `thinking` → each family's Converse field,
//! Bedrock's thinking rules, reasoning in answers (buffered, streamed,
//! replayed) and thinking blocks sent back unchanged.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use bedrock_openai_filter::api::chat::chunks::StreamContext;
use bedrock_openai_filter::api::chat::completion::{to_chat_completion, ResponseContext};
use bedrock_openai_filter::api::chat::replay;
use bedrock_openai_filter::api::chat::stream::StreamTranslator;
use bedrock_openai_filter::conversation::converse::{ANSWER_ROOM, BUDGETS};
use serde_json::{json, Value};

mod support;
use support::{event_frame, refused, translated};

const SONNET_45: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const SONNET_46: &str = "us.anthropic.claude-sonnet-4-6";
const NOVA_2: &str = "us.amazon.nova-2-lite-v1:0";
const GPT_OSS: &str = "openai.gpt-oss-120b-1:0";
const R1: &str = "us.deepseek.r1-v1:0";

fn ask(model: &str, extra: Value) -> Value {
    let mut body = json!({"model": model, "messages": [{"role": "user", "content": "Why?"}]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

#[test]
fn each_effort_becomes_the_families_field() {
    for (effort, budget) in [
        ("minimal", 1024),
        ("low", 1024),
        ("medium", 2048),
        ("high", 4096),
        ("xhigh", 8192),
    ] {
        assert!(BUDGETS.iter().any(|(_, b)| *b == budget));
        let c = translated(ask(SONNET_45, json!({"reasoning_effort": effort})));
        assert_eq!(
            c["additionalModelRequestFields"],
            json!({"thinking": {"type": "enabled", "budget_tokens": budget}}),
            "{effort}"
        );
        assert_eq!(
            c["inferenceConfig"]["maxTokens"],
            budget + ANSWER_ROOM,
            "{effort}"
        );
        assert!(c.get("outputConfig").is_none());
    }
    for (effort, want) in [
        ("minimal", "low"),
        ("low", "low"),
        ("medium", "medium"),
        ("high", "high"),
        ("xhigh", "xhigh"),
    ] {
        let c = translated(ask(SONNET_46, json!({"reasoning_effort": effort})));
        assert_eq!(
            c["additionalModelRequestFields"],
            json!({"thinking": {"type": "adaptive", "display": "summarized"}})
        );
        assert_eq!(c["outputConfig"], json!({"effort": want}), "{effort}");
        let nova_level = if effort == "xhigh" { "high" } else { want };
        let c = translated(ask(NOVA_2, json!({"reasoning_effort": effort})));
        assert_eq!(
            c["additionalModelRequestFields"],
            json!({"reasoningConfig": {"type": "enabled", "maxReasoningEffort": nova_level}})
        );
        let c = translated(ask(GPT_OSS, json!({"reasoning_effort": effort})));
        assert_eq!(
            c["additionalModelRequestFields"],
            json!({"reasoning_effort": nova_level})
        );
        // DeepSeek R1 always reasons: nothing is sent.
        let c = translated(ask(R1, json!({"reasoning_effort": effort})));
        assert!(c.get("additionalModelRequestFields").is_none(), "{c}");
    }
}

#[test]
fn none_or_absence_sends_no_thinking() {
    for model in [
        SONNET_45,
        SONNET_46,
        NOVA_2,
        GPT_OSS,
        "anthropic.claude-3-haiku-20240307-v1:0",
    ] {
        for extra in [
            json!({}),
            json!({"reasoning_effort": "none"}),
            json!({"thinking": {"type": "disabled"}}),
        ] {
            let c = translated(ask(model, extra.clone()));
            assert!(
                c.get("additionalModelRequestFields").is_none(),
                "{model} {extra}: {c}"
            );
            assert!(c.get("outputConfig").is_none());
        }
    }
}

#[test]
fn the_anthropic_thinking_extension_is_accepted() {
    let c = translated(ask(
        SONNET_45,
        json!({"thinking": {"type": "enabled", "budget_tokens": 3000}, "max_tokens": 8000}),
    ));
    assert_eq!(
        c["additionalModelRequestFields"]["thinking"]["budget_tokens"],
        3000
    );
    assert_eq!(
        c["inferenceConfig"]["maxTokens"], 8000,
        "a large enough max_tokens is kept"
    );
    let c = translated(ask(
        SONNET_45,
        json!({"thinking": {"type": "enabled", "budget_tokens": 3000}, "max_tokens": 500}),
    ));
    assert_eq!(
        c["inferenceConfig"]["maxTokens"], 3500,
        "raised above the budget, the answer keeps its 500"
    );
    // Adaptive models take a budget as the effort it stands for.
    let c = translated(ask(
        SONNET_46,
        json!({"thinking": {"type": "enabled", "budget_tokens": 4096}}),
    ));
    assert_eq!(c["outputConfig"]["effort"], "high");
    let c = translated(ask(
        SONNET_46,
        json!({"thinking": {"type": "adaptive", "display": "summarized"}}),
    ));
    assert_eq!(
        c["additionalModelRequestFields"]["thinking"]["type"],
        "adaptive"
    );
    assert!(c.get("outputConfig").is_none());
}

#[test]
fn refusals_name_the_field() {
    for (body, param) in [
        (
            ask(
                "anthropic.claude-3-haiku-20240307-v1:0",
                json!({"reasoning_effort": "high"}),
            ),
            "reasoning_effort",
        ),
        (
            ask(
                "meta.llama3-8b-instruct-v1:0",
                json!({"thinking": {"type": "enabled", "budget_tokens": 2048}}),
            ),
            "thinking",
        ),
        (
            ask(SONNET_45, json!({"reasoning_effort": "max"})),
            "reasoning_effort",
        ),
        (
            ask(
                SONNET_45,
                json!({"thinking": {"type": "enabled", "budget_tokens": 512}}),
            ),
            "thinking.budget_tokens",
        ),
        (
            ask(
                SONNET_45,
                json!({"thinking": {"type": "adaptive", "display": "summarized"}}),
            ),
            "thinking.type",
        ),
        (
            ask(
                SONNET_45,
                json!({"reasoning_effort": "low", "thinking": {"type": "disabled"}}),
            ),
            "thinking",
        ),
        (
            ask(
                NOVA_2,
                json!({"thinking": {"type": "enabled", "budget_tokens": 2048}}),
            ),
            "thinking",
        ),
        (
            ask(R1, json!({"reasoning_effort": "none"})),
            "reasoning_effort",
        ),
        (
            ask("deepseek.v3.2", json!({"reasoning_effort": "low"})),
            "reasoning_effort",
        ),
    ] {
        let e = refused(body.clone());
        assert_eq!(
            (e.status, e.param.as_deref()),
            (400, Some(param)),
            "{body}: {e}"
        );
    }
}

fn weather() -> Value {
    json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}])
}

#[test]
fn thinking_rules_before_anything_leaves() {
    // A forced tool choice is refused with budgeted thinking on...
    for choice in [
        json!("required"),
        json!({"type": "function", "function": {"name": "get_weather"}}),
    ] {
        let e = refused(ask(
            SONNET_45,
            json!({"reasoning_effort": "low", "tools": weather(), "tool_choice": choice}),
        ));
        assert_eq!(e.param.as_deref(), Some("tool_choice"), "{e}");
    }
    // ...and fine without it, or with auto.
    translated(ask(
        SONNET_45,
        json!({"tools": weather(), "tool_choice": "required"}),
    ));
    translated(ask(
        SONNET_45,
        json!({"reasoning_effort": "low", "tools": weather(), "tool_choice": "auto"}),
    ));
    // temperature is dropped, top_p below 0.95 too; top_p at 0.95 or above stays.
    let c = translated(ask(
        SONNET_45,
        json!({"reasoning_effort": "low", "temperature": 0.2, "max_tokens": 9000}),
    ));
    assert_eq!(c["inferenceConfig"], json!({"maxTokens": 9000}));
    let c = translated(ask(
        NOVA_2.replace("nova-2-lite", "nova-pro").as_str(),
        json!({"temperature": 0.2, "top_p": 0.5}),
    ));
    assert_eq!(
        c["inferenceConfig"],
        json!({"temperature": 0.2, "topP": 0.5}),
        "no thinking, nothing dropped"
    );
    let c = translated(ask(
        SONNET_46,
        json!({"reasoning_effort": "low", "top_p": 0.97}),
    ));
    assert_eq!(c["inferenceConfig"], json!({"topP": 0.97}));
    let c = translated(ask(
        SONNET_46,
        json!({"reasoning_effort": "low", "top_p": 0.9}),
    ));
    assert!(c.get("inferenceConfig").is_none(), "{c}");
}

fn tool_loop(with_blocks: bool) -> Value {
    let mut assistant = json!({"role": "assistant", "content": "Let me look.", "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]});
    if with_blocks {
        assistant["thinking_blocks"] = json!([
            {"type": "thinking", "thinking": "I should call the tool.", "signature": "c2lnbmF0dXJl"},
            {"type": "redacted_thinking", "data": "cmVkYWN0ZWQ="}]);
        assistant["reasoning_content"] = json!("I should call the tool.");
    }
    json!({"model": SONNET_45, "reasoning_effort": "low", "tools": weather(), "messages": [
        {"role": "user", "content": "Weather?"}, assistant,
        {"role": "tool", "tool_call_id": "call_1", "content": "Sunny"}]})
}

#[test]
fn thinking_blocks_go_back_first_and_unchanged() {
    let c = translated(tool_loop(true));
    let turn = &c["messages"][1];
    assert_eq!(turn["role"], "assistant");
    assert_eq!(
        turn["content"][0],
        json!({"reasoningContent": {"reasoningText": {
        "text": "I should call the tool.", "signature": "c2lnbmF0dXJl"}}})
    );
    assert_eq!(
        turn["content"][1],
        json!({"reasoningContent": {"redactedContent": "cmVkYWN0ZWQ="}})
    );
    assert_eq!(turn["content"][2], json!({"text": "Let me look."}));
    assert!(turn["content"][3].get("toolUse").is_some());
    assert_eq!(
        c["additionalModelRequestFields"]["thinking"]["type"],
        "enabled"
    );
}

#[test]
fn a_tool_loop_without_its_blocks_goes_without_thinking() {
    let c = translated(tool_loop(false));
    assert!(c.get("additionalModelRequestFields").is_none(), "{c}");
    assert!(c["messages"][1]["content"][0].get("text").is_some());
    // Earlier turns may lack blocks: a finished loop followed by a new question keeps thinking.
    let mut body = tool_loop(false);
    body["messages"].as_array_mut().unwrap().extend([
        json!({"role": "assistant", "content": "It is sunny."}),
        json!({"role": "user", "content": "And tomorrow?"}),
    ]);
    assert_eq!(
        translated(body)["additionalModelRequestFields"]["thinking"]["type"],
        "enabled"
    );
}

#[test]
fn a_two_round_tool_loop_is_judged_by_its_first_round() {
    // The second assistant turn of the loop carries no thinking (Claude thinks
    // once per turn): with the first round's blocks, thinking stays on.
    let second_round = |body: &mut Value| {
        body["messages"].as_array_mut().unwrap().extend([
            json!({"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]}),
            json!({"role": "tool", "tool_call_id": "call_2", "content": "Rain"}),
        ]);
    };
    let mut body = tool_loop(true);
    second_round(&mut body);
    let c = translated(body);
    assert_eq!(
        c["additionalModelRequestFields"]["thinking"]["type"], "enabled",
        "{c}"
    );
    assert!(
        c["messages"][3]["content"][0].get("toolUse").is_some(),
        "{c}"
    );
    // Without the first round's blocks it goes without thinking.
    let mut body = tool_loop(false);
    second_round(&mut body);
    assert!(translated(body)
        .get("additionalModelRequestFields")
        .is_none());
}

#[test]
fn thinking_blocks_are_dropped_for_models_that_do_not_take_them_back() {
    let mut body = tool_loop(true);
    body["model"] = json!(NOVA_2);
    let c = translated(body);
    let content = &c["messages"][1]["content"];
    assert_eq!(content[0], json!({"text": "Let me look."}), "{c}");
    for bad in [
        json!([{"type": "other"}]),
        json!([{"type": "redacted_thinking", "data": "not base64!"}]),
        json!({}),
    ] {
        let mut body = tool_loop(true);
        body["messages"][1]["thinking_blocks"] = bad.clone();
        let e = refused(body);
        assert!(
            e.param
                .as_deref()
                .unwrap()
                .starts_with("messages.[1].thinking_blocks"),
            "{bad}: {e}"
        );
    }
}

// ---------------------------------------------------------------- answers

const CTX: ResponseContext<'static> = ResponseContext {
    id: "chatcmpl-r",
    model: SONNET_45,
    created: 1_704_164_645,
    answer_tool: None,
};

fn answer(content: Value) -> Vec<u8> {
    json!({"output": {"message": {"role": "assistant", "content": content}}, "stopReason": "end_turn",
           "usage": {"inputTokens": 5, "outputTokens": 50, "totalTokens": 55}, "metrics": {"latencyMs": 1}})
    .to_string()
    .into_bytes()
}

fn reasoning_answer() -> Vec<u8> {
    answer(json!([
        {"reasoningContent": {"reasoningText": {"text": "First, ", "signature": "c2ln"}}},
        {"reasoningContent": {"redactedContent": "cmVk"}},
        {"reasoningContent": {"reasoningText": {"text": "then."}}},
        {"text": "Because."}]))
}

#[test]
fn non_streamed_reasoning_is_reasoning_content_and_thinking_blocks() {
    let (out, _) = to_chat_completion(&reasoning_answer(), &CTX).unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let message = &v["choices"][0]["message"];
    assert_eq!(message["content"], "Because.");
    assert_eq!(message["reasoning_content"], "First, then.");
    assert_eq!(
        message["thinking_blocks"],
        json!([
        {"type": "thinking", "thinking": "First, ", "signature": "c2ln"},
        {"type": "redacted_thinking", "data": "cmVk"},
        {"type": "thinking", "thinking": "then."}])
    );
    assert!(
        v["usage"].get("completion_tokens_details").is_none(),
        "no estimate passed off as a count"
    );
    // Without reasoning, neither field appears.
    let (out, _) = to_chat_completion(&answer(json!([{"text": "Hi"}])), &CTX).unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        v["choices"][0]["message"],
        json!({"role": "assistant", "content": "Hi", "refusal": null})
    );
}

fn ctx() -> StreamContext {
    StreamContext {
        id: "chatcmpl-r".into(),
        model: SONNET_45.into(),
        created: 1,
        include_usage: false,
        answer_tool: None,
    }
}

fn deltas(sse: &[u8]) -> Vec<Value> {
    String::from_utf8(sse.to_vec())
        .unwrap()
        .split("\n\n")
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|l| *l != "[DONE]")
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["choices"][0]["delta"].clone())
        .collect()
}

fn reasoning_stream() -> Vec<u8> {
    let e = |name: &str, payload: Value| event_frame(name, &payload);
    [
        e("messageStart", json!({"role": "assistant"})),
        e("contentBlockDelta", json!({"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "First, "}}})),
        e("contentBlockDelta", json!({"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "then."}}})),
        e("contentBlockDelta", json!({"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "c2ln"}}})),
        e("contentBlockStop", json!({"contentBlockIndex": 0})),
        e("contentBlockDelta", json!({"contentBlockIndex": 1, "delta": {"reasoningContent": {"redactedContent": "cmVk"}}})),
        e("contentBlockStop", json!({"contentBlockIndex": 1})),
        e("contentBlockDelta", json!({"contentBlockIndex": 2, "delta": {"text": "Because."}})),
        e("contentBlockStop", json!({"contentBlockIndex": 2})),
        e("messageStop", json!({"stopReason": "end_turn"})),
        e("metadata", json!({"usage": {"inputTokens": 5, "outputTokens": 50, "totalTokens": 55}})),
    ]
    .concat()
}

#[test]
fn streamed_reasoning_deltas_as_they_arrive() {
    let bytes = reasoning_stream();
    let mut tr = StreamTranslator::new(ctx(), 1 << 20);
    let mut out = tr.feed(&bytes);
    out.extend(tr.finish());
    let d = deltas(&out);
    assert_eq!(d[0], json!({"role": "assistant", "content": ""}));
    assert_eq!(
        d[1],
        json!({"reasoning_content": "First, ", "thinking_blocks": [
        {"type": "thinking", "thinking": "First, ", "index": 0}]})
    );
    assert_eq!(d[2]["reasoning_content"], "then.");
    assert_eq!(
        d[3],
        json!({"reasoning_content": "", "thinking_blocks": [
        {"type": "thinking", "thinking": "", "signature": "c2ln", "index": 0}]})
    );
    assert_eq!(
        d[4],
        json!({"reasoning_content": "", "thinking_blocks": [
        {"type": "redacted_thinking", "data": "cmVk", "index": 1}]})
    );
    assert_eq!(d[5], json!({"content": "Because."}));
    assert!(d.iter().all(|x| x
        .get("content")
        .is_none_or(|c| !c.as_str().unwrap().contains("First"))));
    // Each event leaves with the bytes that completed it: one frame at a time.
    let mut tr = StreamTranslator::new(ctx(), 1 << 20);
    let frames = support::split_frames(&bytes);
    let per_frame: Vec<usize> = frames.iter().map(|f| deltas(&tr.feed(f)).len()).collect();
    assert_eq!(per_frame, [1, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0]);
}

#[test]
fn a_replayed_answer_carries_its_reasoning_too() {
    let (sse, _) = replay::to_sse(&reasoning_answer(), &ctx()).unwrap();
    let d = deltas(&sse);
    assert_eq!(d[1]["reasoning_content"], "First, ");
    assert_eq!(d[2]["thinking_blocks"][0]["signature"], "c2ln");
    assert_eq!(
        d[3]["thinking_blocks"][0],
        json!({"type": "redacted_thinking", "data": "cmVk", "index": 1})
    );
    assert_eq!(
        d[4]["thinking_blocks"][0],
        json!({"type": "thinking", "thinking": "then.", "index": 2})
    );
    assert_eq!(d[5], json!({"content": "Because."}));
}
