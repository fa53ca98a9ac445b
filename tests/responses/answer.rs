//! A buffered answer as a `response` object: what the SDKs require, items
//! in Bedrock's order, ids that carry their item, reasoning that goes back.

use super::harness::*;
use serde_json::{json, Value};

fn respond(body: Value, converse_answer: &[u8]) -> Value {
    let mut run = send(&body);
    let (status, out) = answer(&mut run, 200, converse_answer);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&out));
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn a_text_answer_has_every_field_the_sdks_require() {
    let r = respond(
        json!({"model": HAIKU, "input": "Hi", "temperature": 0.5, "metadata": {"k": "v"}}),
        &converse(json!([{"text": "Hello!"}]), "end_turn"),
    );
    for key in [
        "id",
        "object",
        "created_at",
        "model",
        "output",
        "parallel_tool_calls",
        "tool_choice",
        "tools",
    ] {
        assert!(r.get(key).is_some(), "missing {key}: {r}");
    }
    assert_eq!(r["id"], "resp_req-42");
    assert_eq!(r["object"], "response");
    assert_eq!(r["created_at"], 1_704_164_645);
    assert_eq!(r["status"], "completed");
    assert_eq!(r["model"], HAIKU);
    assert_eq!(r["error"], Value::Null);
    assert_eq!(r["temperature"], 0.5);
    assert_eq!(r["metadata"], json!({"k": "v"}));
    assert_eq!(r["tools"], json!([]));
    assert_eq!(r["tool_choice"], "auto");
    assert_eq!(r["store"], true);
    assert_eq!(r["background"], false);
    let msg = &r["output"][0];
    assert_eq!(msg["type"], "message");
    assert_eq!(msg["role"], "assistant");
    assert_eq!(msg["status"], "completed");
    assert_eq!(
        msg["content"],
        json!([{"type": "output_text", "text": "Hello!", "annotations": [], "logprobs": []}])
    );
    assert_eq!(
        r["usage"],
        json!({
        "input_tokens": 27, "input_tokens_details": {"cached_tokens": 5, "cache_write_tokens": 2},
        "output_tokens": 9, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 36})
    );
}

#[test]
fn stops_map_to_status_and_incomplete_details() {
    for (stop, status, reason) in [
        ("end_turn", "completed", Value::Null),
        ("tool_use", "completed", Value::Null),
        ("stop_sequence", "completed", Value::Null),
        (
            "max_tokens",
            "incomplete",
            json!({"reason": "max_output_tokens"}),
        ),
        (
            "model_context_window_exceeded",
            "incomplete",
            json!({"reason": "max_output_tokens"}),
        ),
        (
            "guardrail_intervened",
            "incomplete",
            json!({"reason": "content_filter"}),
        ),
        (
            "content_filtered",
            "incomplete",
            json!({"reason": "content_filter"}),
        ),
    ] {
        let r = respond(
            json!({"model": HAIKU, "input": "Hi"}),
            &converse(json!([{"text": "x"}]), stop),
        );
        assert_eq!(
            (r["status"].as_str().unwrap(), &r["incomplete_details"]),
            (status, &reason),
            "{stop}"
        );
    }
}

#[test]
fn calls_come_back_as_the_kind_offered_and_namespaces_apart() {
    let body = json!({"model": HAIKU, "input": "Go", "tools": [
        {"type": "function", "name": "get_weather", "parameters": {"type": "object"}},
        {"type": "custom", "name": "apply_patch"},
        {"type": "namespace", "name": "multi_agent_v1", "description": "", "tools": [{"type": "function", "name": "spawn_agent"}]}
    ]});
    let r = respond(
        body,
        &converse(
            json!([
                {"text": "Working."},
                {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Paris"}}},
                {"toolUse": {"toolUseId": "t2", "name": "apply_patch", "input": {"input": "*** Begin Patch\n"}}},
                {"toolUse": {"toolUseId": "t3", "name": "multi_agent_v1__spawn_agent", "input": {}}}
            ]),
            "tool_use",
        ),
    );
    let out = r["output"].as_array().unwrap();
    let kinds: Vec<&str> = out.iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "message",
            "function_call",
            "custom_tool_call",
            "function_call"
        ]
    );
    assert_eq!(
        (
            out[1]["call_id"].as_str(),
            out[1]["name"].as_str(),
            out[1]["arguments"].as_str()
        ),
        (
            Some("t1"),
            Some("get_weather"),
            Some("{\"city\":\"Paris\"}")
        )
    );
    assert!(out[1].get("namespace").is_none());
    assert_eq!(
        (out[2]["name"].as_str(), out[2]["input"].as_str()),
        (Some("apply_patch"), Some("*** Begin Patch\n"))
    );
    assert_eq!(
        (out[3]["name"].as_str(), out[3]["namespace"].as_str()),
        (Some("spawn_agent"), Some("multi_agent_v1"))
    );
    for item in out {
        assert_eq!(item["status"], "completed");
        assert!(item["id"].as_str().unwrap().len() > 4);
    }
}

#[test]
fn ids_carry_their_items_and_item_references_resolve_them() {
    let tools =
        json!([{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}]);
    let r = respond(
        json!({"model": HAIKU, "input": "Weather?", "tools": tools.clone()}),
        &converse(
            json!([
                {"text": "Let me check."},
                {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Paris"}}}
            ]),
            "tool_use",
        ),
    );
    let msg_id = r["output"][0]["id"].as_str().unwrap();
    let call_id = r["output"][1]["id"].as_str().unwrap();
    assert!(msg_id.starts_with("msg_") && call_id.starts_with("fc_"));
    // The AI SDK's default tool loop: earlier output by reference, then the result.
    let next = json!({"model": HAIKU, "tools": tools, "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "Weather?"}]},
        {"type": "item_reference", "id": msg_id},
        {"type": "item_reference", "id": call_id},
        {"type": "function_call_output", "call_id": "t1", "output": "sunny"}
    ]});
    let c = converse_body(&send(&next).body_step);
    assert_eq!(
        c["messages"][1],
        json!({"role": "assistant", "content": [
        {"text": "Let me check."},
        {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Paris"}}}]})
    );
    // Another gateway with the same key resolves them; one with another key, or none, refuses.
    let other = send_with(
        config_with(Some("a different key, also thirty-two characters")),
        &next,
    );
    let (status, e) = refusal(&other.body_step);
    assert_eq!(
        (status, e["error"]["param"].as_str()),
        (400, Some("input.[1]"))
    );
    let keyless = send_with(config_with(None), &next);
    assert_eq!(refusal(&keyless.body_step).0, 400);
    // A forged id: refused.
    let forged = msg_id.replacen("msg_", "msg_x", 1);
    let (status, _) = refusal(
        &send(&json!({"model": HAIKU, "input": [{"type": "item_reference", "id": forged}]}))
            .body_step,
    );
    assert_eq!(status, 400);
}

#[test]
fn reasoning_comes_back_as_summary_and_goes_back_byte_for_byte() {
    let thinking = json!([
        {"reasoningContent": {"reasoningText": {"text": "The user wants weather.", "signature": "EqQBsig=="}}},
        {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Paris"}}}
    ]);
    let tools = json!([{"type": "function", "name": "get_weather"}]);
    let r = respond(
        json!({"model": SONNET, "input": "Weather?", "tools": tools.clone(),
               "reasoning": {"effort": "low", "summary": "auto"}, "include": ["reasoning.encrypted_content"]}),
        &converse(thinking.clone(), "tool_use"),
    );
    let rs = &r["output"][0];
    assert_eq!(rs["type"], "reasoning");
    assert_eq!(
        rs["summary"],
        json!([{"type": "summary_text", "text": "The user wants weather."}])
    );
    let carried = rs["encrypted_content"].as_str().unwrap();
    assert!(
        !rs["id"].as_str().unwrap().contains("weather"),
        "a reasoning id carries no text"
    );
    // Without `include` or `summary`: neither.
    let bare = respond(
        json!({"model": SONNET, "input": "Weather?", "tools": tools.clone(), "reasoning": {"effort": "low"}}),
        &converse(thinking, "tool_use"),
    );
    assert_eq!(bare["output"][0]["summary"], json!([]));
    assert!(bare["output"][0].get("encrypted_content").is_none());
    // The second round of the tool loop (store: false): the block goes back first, as Bedrock signed it.
    let c = converse_body(&send(&json!({
        "model": SONNET, "store": false, "tools": tools, "reasoning": {"effort": "low"},
        "input": [
            {"role": "user", "content": "Weather?"},
            {"type": "reasoning", "id": rs["id"], "summary": rs["summary"], "encrypted_content": carried},
            {"type": "function_call", "call_id": "t1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
            {"type": "function_call_output", "call_id": "t1", "output": "sunny"}
        ]})).body_step);
    assert_eq!(
        c["messages"][1]["content"][0],
        json!({"reasoningContent": {"reasoningText":
        {"text": "The user wants weather.", "signature": "EqQBsig=="}}})
    );
    assert_eq!(c["messages"][1]["content"][1]["toolUse"]["toolUseId"], "t1");
    assert_eq!(
        c["additionalModelRequestFields"]["thinking"]["type"], "enabled",
        "thinking stays on"
    );
}

#[test]
fn bedrock_errors_are_openai_errors_with_their_status() {
    let mut run = send(&json!({"model": HAIKU, "input": "Hi"}));
    let h = [
        (":status".to_string(), "429".to_string()),
        (
            "x-amzn-errortype".to_string(),
            "ThrottlingException:x".to_string(),
        ),
    ];
    let _ = run.ex.on_response_headers(429, &h, false);
    let body = br#"{"message":"Too many requests"}"#;
    let _ = run.ex.on_response_body_progress(body.len(), true);
    let step = run.ex.on_response_body(body, true);
    let out = step
        .effects
        .iter()
        .find_map(|e| match e {
            bedrock_openai_filter::exchange::Effect::ReplaceResponseBody(b) => Some(b.clone()),
            _ => None,
        })
        .unwrap();
    let e: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(e["error"]["type"], "rate_limit_error");
    assert_eq!(run.ex.record().endpoint, Some("responses"));
}
