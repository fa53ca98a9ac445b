//! ConverseStream → SSE: every chunking gives the same bytes; faults end the stream cleanly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use bedrock_openai_filter::api::chat::chunks::StreamContext;
use bedrock_openai_filter::api::chat::stream::StreamTranslator;
use serde_json::{json, Value};

mod support;
use support::{event_frame, frame};

fn event(name: &str, mut payload: Value) -> Vec<u8> {
    payload["p"] = json!("abcdefghijklmnopqrstuvwxyzABCDEF"); // Bedrock's padding field
    event_frame(name, &payload)
}

fn exception(name: &str, message: &str) -> Vec<u8> {
    frame(
        &[
            (":exception-type", name),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        &json!({ "message": message }),
    )
}

fn text_stream() -> Vec<u8> {
    [
        event("messageStart", json!({"role": "assistant"})),
        event("contentBlockDelta", json!({"contentBlockIndex": 0, "delta": {"text": "Héllo, "}})),
        event("contentBlockDelta", json!({"contentBlockIndex": 0, "delta": {"text": "wörld 😀"}})),
        event("contentBlockStop", json!({"contentBlockIndex": 0})),
        event("messageStop", json!({"stopReason": "end_turn"})),
        event("metadata", json!({"usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8}, "metrics": {"latencyMs": 10}})),
    ]
    .concat()
}

fn translator(include_usage: bool) -> StreamTranslator {
    StreamTranslator::new(
        StreamContext {
            id: "chatcmpl-r1".into(),
            model: "anthropic.claude-3-haiku-20240307-v1:0".into(),
            created: 1700000000,
            include_usage,
            answer_tool: None,
        },
        1024 * 1024,
    )
}

fn run(pieces: &[&[u8]], include_usage: bool) -> String {
    let mut tr = translator(include_usage);
    let mut out = Vec::new();
    for p in pieces {
        out.extend(tr.feed(p));
    }
    out.extend(tr.finish());
    String::from_utf8(out).unwrap()
}

/// The `data:` payloads of an SSE body, parsed (`[DONE]` kept as a string).
fn events(sse: &str) -> Vec<Value> {
    assert!(sse.ends_with("\n\n"), "{sse}");
    sse.split("\n\n")
        .filter(|l| !l.is_empty())
        .map(|l| {
            let data = l
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("not a data line: {l}"));
            if data == "[DONE]" {
                json!("[DONE]")
            } else {
                serde_json::from_str(data).unwrap()
            }
        })
        .collect()
}

const HEAD: &str = r#"{"id":"chatcmpl-r1","object":"chat.completion.chunk","created":1700000000,"model":"anthropic.claude-3-haiku-20240307-v1:0","system_fingerprint":null,"choices":"#;

#[test]
fn golden_text_stream() {
    let expected = [
        format!("data: {HEAD}[{{\"index\":0,\"delta\":{{\"role\":\"assistant\",\"content\":\"\"}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n"),
        format!("data: {HEAD}[{{\"index\":0,\"delta\":{{\"content\":\"Héllo, \"}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n"),
        format!("data: {HEAD}[{{\"index\":0,\"delta\":{{\"content\":\"wörld 😀\"}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n"),
        format!("data: {HEAD}[{{\"index\":0,\"delta\":{{}},\"logprobs\":null,\"finish_reason\":\"stop\"}}]}}\n\n"),
        format!("data: {HEAD}[],\"usage\":{{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8}}}}\n\n"),
        "data: [DONE]\n\n".to_string(),
    ]
    .concat();
    assert_eq!(run(&[&text_stream()], true), expected);
}

#[test]
fn every_split_point_and_single_bytes_give_identical_output() {
    let bytes = text_stream();
    let whole = run(&[&bytes], true);
    for i in 0..=bytes.len() {
        assert_eq!(
            run(&[&bytes[..i], &bytes[i..]], true),
            whole,
            "split at {i}"
        );
    }
    let singles: Vec<&[u8]> = bytes.chunks(1).collect();
    assert_eq!(run(&singles, true), whole);
    for size in [7, 100, 500, 1000] {
        let pieces: Vec<&[u8]> = bytes.chunks(size).collect();
        assert_eq!(run(&pieces, true), whole, "chunks of {size}");
    }
}

#[test]
fn output_leaves_with_the_bytes_that_complete_each_frame() {
    let first = event("messageStart", json!({"role": "assistant"}));
    let delta = event(
        "contentBlockDelta",
        json!({"contentBlockIndex": 0, "delta": {"text": "hi"}}),
    );
    let mut tr = translator(false);
    assert!(tr.feed(&first[..first.len() - 1]).is_empty());
    assert!(
        !tr.feed(&first[first.len() - 1..]).is_empty(),
        "role chunk must leave at once"
    );
    assert_eq!(tr.buffered(), 0);
    let out = tr.feed(&delta);
    assert!(String::from_utf8(out)
        .unwrap()
        .contains("\"content\":\"hi\""));
    assert_eq!(tr.buffered(), 0, "nothing is held once a frame is out");
}

#[test]
fn without_include_usage_there_is_no_usage_chunk() {
    let ev = events(&run(&[&text_stream()], false));
    assert_eq!(ev.len(), 5);
    assert!(ev.iter().all(|e| e.get("usage").is_none()));
    assert_eq!(ev[4], json!("[DONE]"));
}

#[test]
fn mid_stream_exceptions_become_one_error_event_then_done() {
    for (name, status_type) in [
        ("throttlingException", "rate_limit_error"),
        ("modelStreamErrorException", "api_error"),
        ("validationException", "invalid_request_error"),
        ("internalServerException", "api_error"),
        ("serviceUnavailableException", "api_error"),
    ] {
        let bytes = [
            event("messageStart", json!({"role": "assistant"})),
            event(
                "contentBlockDelta",
                json!({"contentBlockIndex": 0, "delta": {"text": "partial"}}),
            ),
            exception(name, "it broke"),
            event(
                "contentBlockDelta",
                json!({"contentBlockIndex": 0, "delta": {"text": "never"}}),
            ),
        ]
        .concat();
        let ev = events(&run(&[&bytes], true));
        assert_eq!(ev.len(), 4, "{name}: {ev:?}");
        assert_eq!(ev[2]["error"]["type"], status_type, "{name}");
        assert_eq!(
            ev[2]["error"]["message"],
            format!("Bedrock {name}: it broke")
        );
        assert_eq!(ev[3], json!("[DONE]"));
    }
}

fn ends_with_error(sse: &str, needle: &str) {
    let ev = events(sse);
    let n = ev.len();
    assert!(n >= 2, "{sse}");
    assert_eq!(ev[n - 1], json!("[DONE]"));
    let msg = ev[n - 2]["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no error event: {sse}"));
    assert!(msg.contains(needle), "{msg}");
}

#[test]
fn bad_crc_truncation_and_missing_stop_end_with_an_error_event() {
    let mut bad = text_stream();
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    ends_with_error(&run(&[&bad], true), "malformed");

    let good = text_stream();
    ends_with_error(
        &run(&[&good[..good.len() - 5]], true),
        "ended inside a frame",
    );

    let no_stop = [
        event("messageStart", json!({"role": "assistant"})),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"text": "x"}}),
        ),
    ]
    .concat();
    ends_with_error(&run(&[&no_stop], true), "before messageStop");

    ends_with_error(
        &run(&[b"this is not an event stream at all"], true),
        "malformed",
    );
}

#[test]
fn oversized_frame_is_refused_without_buffering_it() {
    let mut tr = StreamTranslator::new(
        StreamContext {
            id: "x".into(),
            model: "m".into(),
            created: 0,
            include_usage: false,
            answer_tool: None,
        },
        64,
    );
    let big = event(
        "contentBlockDelta",
        json!({"contentBlockIndex": 0, "delta": {"text": "y".repeat(500)}}),
    );
    let out = String::from_utf8(tr.feed(&big[..200])).unwrap();
    assert!(out.contains("larger than 64 bytes"), "{out}");
    assert!(tr.feed(&big[200..]).is_empty());
    assert!(tr.finish().is_empty());
}

#[test]
fn tool_calls_get_dense_indices() {
    let bytes = [
        event("messageStart", json!({"role": "assistant"})),
        event("contentBlockDelta", json!({"contentBlockIndex": 0, "delta": {"text": "Let me check."}})),
        event("contentBlockStop", json!({"contentBlockIndex": 0})),
        event("contentBlockStart", json!({"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "tooluse_a", "name": "get_weather"}}})),
        event("contentBlockDelta", json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "{\"location\":"}}})),
        event("contentBlockStart", json!({"contentBlockIndex": 2, "start": {"toolUse": {"toolUseId": "tooluse_b", "name": "get_time"}}})),
        event("contentBlockDelta", json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "\"Paris\"}"}}})),
        event("contentBlockDelta", json!({"contentBlockIndex": 2, "delta": {"toolUse": {"input": "{}"}}})),
        event("messageStop", json!({"stopReason": "tool_use"})),
        event("metadata", json!({"usage": {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3}})),
    ]
    .concat();
    let ev = events(&run(&[&bytes], false));
    let calls: Vec<&Value> = ev
        .iter()
        .filter_map(|e| e["choices"][0]["delta"].get("tool_calls"))
        .collect();
    assert_eq!(calls.len(), 5);
    assert_eq!(
        calls[0][0],
        json!({"index": 0, "id": "tooluse_a", "type": "function", "function": {"name": "get_weather", "arguments": ""}})
    );
    assert_eq!(
        calls[1][0],
        json!({"index": 0, "function": {"arguments": "{\"location\":"}})
    );
    assert_eq!(calls[2][0]["index"], 1);
    assert_eq!(
        calls[3][0],
        json!({"index": 0, "function": {"arguments": "\"Paris\"}"}})
    );
    assert_eq!(
        calls[4][0],
        json!({"index": 1, "function": {"arguments": "{}"}})
    );
    let finish: Vec<&Value> = ev
        .iter()
        .filter_map(|e| e["choices"][0].get("finish_reason"))
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finish, [&json!("tool_calls")]);
}

#[test]
fn unknown_events_are_skipped() {
    let bytes = [
        event("messageStart", json!({"role": "assistant"})),
        event("somethingNew", json!({"x": 1})),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"somethingElse": {"x": "hmm"}}}),
        ),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 1, "delta": {"reasoningContent": {"text": "hmm"}}}),
        ),
        event("messageStop", json!({"stopReason": "max_tokens"})),
    ]
    .concat();
    let ev = events(&run(&[&bytes], false));
    assert_eq!(ev.len(), 4);
    // Reasoning is reasoning_content, never content.
    let reasoning = &ev[1]["choices"][0]["delta"];
    assert_eq!(reasoning["reasoning_content"], "hmm");
    assert!(reasoning.get("content").is_none(), "{reasoning}");
    assert_eq!(ev[2]["choices"][0]["finish_reason"], "length");
}

#[test]
fn nothing_follows_the_finish_chunk_but_usage() {
    let bytes = [
        event("messageStart", json!({"role": "assistant"})),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"text": "a"}}),
        ),
        event("messageStop", json!({"stopReason": "end_turn"})),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"text": "late"}}),
        ),
        event("messageStop", json!({"stopReason": "max_tokens"})),
        event(
            "metadata",
            json!({"usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}}),
        ),
    ]
    .concat();
    let ev = events(&run(&[&bytes], true));
    let finishes: Vec<&Value> = ev
        .iter()
        .filter_map(|e| e["choices"].get(0))
        .map(|c| &c["finish_reason"])
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finishes, [&json!("stop")]);
    assert!(!serde_json::to_string(&ev).unwrap().contains("late"));
    assert_eq!(ev[ev.len() - 2]["usage"]["total_tokens"], 2);
}

#[test]
fn the_usage_chunk_says_which_service_tier_served() {
    let stream = [
        event("messageStart", json!({"role": "assistant"})),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"text": "ok"}}),
        ),
        event("messageStop", json!({"stopReason": "end_turn"})),
        event(
            "metadata",
            json!({"usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8},
                                 "metrics": {"latencyMs": 10}, "serviceTier": {"type": "flex"}}),
        ),
    ]
    .concat();
    let out = events(&run(&[&stream], true));
    let usage = &out[out.len() - 2];
    assert_eq!(usage["service_tier"], "flex");
    assert!(out[..out.len() - 2]
        .iter()
        .all(|c| c.get("service_tier").is_none()));
    // A tier Bedrock does not document is not passed on.
    let stream = [
        event("messageStart", json!({"role": "assistant"})),
        event("messageStop", json!({"stopReason": "end_turn"})),
        event(
            "metadata",
            json!({"usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8},
                                 "serviceTier": {"type": "turbo"}}),
        ),
    ]
    .concat();
    let out = events(&run(&[&stream], true));
    assert!(out[out.len() - 2].get("service_tier").is_none());
}
