//! Inputs the fuzz targets (fuzz/, `scripts/fuzz.sh`) found, replayed as plain tests.
//!
//! Each test names its target and holds the exact bytes that broke an
//! invariant, so the bug stays fixed without a nightly toolchain.
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
use support::event_frame;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// SSE of `bytes` fed whole, then finished.
fn translate(bytes: &[u8]) -> String {
    let mut tr = StreamTranslator::new(
        StreamContext {
            id: "chatcmpl-fuzz".into(),
            model: "anthropic.claude-3-haiku-20240307-v1:0".into(),
            created: 1_700_000_000,
            include_usage: false,
            answer_tool: None,
        },
        1024 * 1024,
    );
    let mut out = tr.feed(bytes);
    out.extend(tr.finish());
    String::from_utf8(out).unwrap()
}

/// The `choices[0]` of every chunk event, in order.
fn choices(sse: &str) -> Vec<Value> {
    sse.split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .filter_map(|v| v["choices"].get(0).cloned())
        .collect()
}

/// The finish-reason chunk closes the choice: nothing may add to it afterwards.
fn assert_finish_is_last(sse: &str) {
    let choices = choices(sse);
    let finishes: Vec<usize> = (0..choices.len())
        .filter(|i| !choices[*i]["finish_reason"].is_null())
        .collect();
    assert!(
        finishes.len() <= 1,
        "{} finish_reason chunks:\n{sse}",
        finishes.len()
    );
    if let Some(at) = finishes.first() {
        for c in &choices[at + 1..] {
            let d = &c["delta"];
            let adds = d.get("content").is_some_and(|t| t != "") || d.get("tool_calls").is_some();
            assert!(!adds, "content after finish_reason:\n{sse}");
        }
    }
}

/// One `messageStop {"stopReason":"end_turn"}` frame, byte for byte.
const MESSAGE_STOP: &str = "0000007a00000051ca2c46650b3a6576656e742d7479706507000b6d65737361676553746f700d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d747970650700056576656e747b2273746f70526561736f6e223a22656e645f7475726e227d5fbf09fc";

/// Target `eventstream_frames`, input `00 00 06 00 00 00 7e` (two
/// `messageStop` frames): the translator emitted two finish_reason chunks,
/// so OpenAI clients see the choice finish twice.
#[test]
fn eventstream_frames_second_message_stop() {
    let stop = hex(MESSAGE_STOP);
    assert_eq!(
        stop,
        event_frame("messageStop", &json!({"stopReason": "end_turn"}))
    );
    let sse = translate(&[stop.clone(), stop].concat());
    assert!(sse.ends_with("data: [DONE]\n\n"), "{sse}");
    assert_finish_is_last(&sse);
}

/// Same target, same root: a text delta after `messageStop` was sent as
/// content after the finish_reason chunk.
#[test]
fn eventstream_frames_text_after_message_stop() {
    let bytes = [
        hex(MESSAGE_STOP),
        event_frame(
            "contentBlockDelta",
            &json!({"contentBlockIndex": 0, "delta": {"text": "late"}}),
        ),
    ]
    .concat();
    let sse = translate(&bytes);
    assert!(sse.ends_with("data: [DONE]\n\n"), "{sse}");
    assert_finish_is_last(&sse);
}
