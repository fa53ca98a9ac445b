//! ConverseStream translation on frames with valid CRCs, so the fuzzer works
//! on event sequences and payloads instead of on checksums.
//!
//! Input: `[flags][plan len][plan…]` then frame specs until the input ends:
//! `[kind][block][string a][string b]` (strings are one length byte + bytes).
//! `kind` % 12 picks the event (see `frame`); `kind` bit 7 flips one byte of
//! the encoded frame (at `block`). Same checks as `eventstream`, plus: at most
//! one `finish_reason`, and no content after it.
#![no_main]

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use fuzz_support::{check_chunking, Event, Input};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

const CAPS: [usize; 4] = [1024 * 1024, 64, 256, 4096];
const STOP_REASONS: [&str; 6] = [
    "end_turn",
    "tool_use",
    "max_tokens",
    "stop_sequence",
    "content_filtered",
    "guardrail_intervened",
];

fn encode(headers: &[(&str, HeaderValue)], payload: Vec<u8>) -> Vec<u8> {
    let mut m = Message::new(payload);
    for (k, v) in headers {
        m = m.add_header(Header::new(k.to_string(), v.clone()));
    }
    let mut out = Vec::new();
    // Only fails for oversized headers, which the strings here cannot reach.
    let _ = write_message_to(&m, &mut out);
    out
}

fn s(v: &str) -> HeaderValue {
    HeaderValue::String(v.to_string().into())
}

fn event(name: &str, payload: &Value) -> Vec<u8> {
    encode(
        &[
            (":event-type", s(name)),
            (":content-type", s("application/json")),
            (":message-type", s("event")),
        ],
        serde_json::to_vec(payload).unwrap_or_default(),
    )
}

fn frame(kind: u8, block: u8, a: &str, b: &str) -> Vec<u8> {
    let index = u32::from(block % 4);
    match kind % 12 {
        0 => event("messageStart", &json!({"role": "assistant", "p": a})),
        1 => event(
            "contentBlockStart",
            &json!({"contentBlockIndex": index, "start": {"toolUse": {"toolUseId": a, "name": b}}}),
        ),
        2 => event(
            "contentBlockStart",
            &json!({"contentBlockIndex": index, "start": {}}),
        ),
        3 => event(
            "contentBlockDelta",
            &json!({"contentBlockIndex": index, "delta": {"text": a}, "p": b}),
        ),
        4 => event(
            "contentBlockDelta",
            &json!({"contentBlockIndex": index, "delta": {"toolUse": {"input": a}}}),
        ),
        5 => event("contentBlockStop", &json!({"contentBlockIndex": index})),
        6 => {
            let reason = match block as usize {
                n if n < STOP_REASONS.len() * 32 => STOP_REASONS[n % STOP_REASONS.len()],
                _ => a,
            };
            event("messageStop", &json!({"stopReason": reason}))
        }
        7 => event(
            "metadata",
            &json!({"usage": {"inputTokens": block, "outputTokens": a.len(), "totalTokens": usize::from(block) + a.len()}, "metrics": {"latencyMs": 1}}),
        ),
        8 => encode(
            &[
                (":exception-type", s(a)),
                (":content-type", s("application/json")),
                (":message-type", s("exception")),
            ],
            serde_json::to_vec(&json!({"message": b})).unwrap_or_default(),
        ),
        9 => encode(
            &[
                (":message-type", s("error")),
                (":error-code", s(a)),
                (":error-message", s(b)),
            ],
            Vec::new(),
        ),
        10 => encode(
            &[(":message-type", s("event")), (":event-type", s(a))],
            b.as_bytes().to_vec(),
        ),
        _ => {
            let value = match block % 5 {
                0 => s(b),
                1 => HeaderValue::Bool(true),
                2 => HeaderValue::Int32(i32::from(block)),
                3 => HeaderValue::ByteArray(b.as_bytes().to_vec().into()),
                _ => HeaderValue::Int64(-1),
            };
            encode(
                &[(":message-type", s("event")), (a, value)],
                b.as_bytes().to_vec(),
            )
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let flags = input.byte();
    let plan_len = usize::from(input.byte());
    let plan = input.take(plan_len).to_vec();
    let mut rest = input.rest();
    let mut bytes = Vec::new();
    for _ in 0..64 {
        if rest.is_empty() {
            break;
        }
        let mut spec = Input::new(rest);
        let kind = spec.byte();
        let block = spec.byte();
        let a = spec.string();
        let b = spec.string();
        rest = spec.rest();
        let mut f = frame(kind, block, &a, &b);
        if kind & 0x80 != 0 && !f.is_empty() {
            let at = usize::from(block) % f.len();
            f[at] ^= 0x5a;
        }
        bytes.extend(f);
    }
    let cap = CAPS[usize::from(flags >> 1) % CAPS.len()];
    let events = check_chunking(&bytes, &plan, cap, flags & 1 != 0);

    let mut finished = false;
    for e in &events {
        let Event::Chunk(v) = e else { continue };
        let Some(choice) = v["choices"].get(0) else {
            continue; // the usage chunk
        };
        let delta = &choice["delta"];
        let adds =
            delta.get("content").is_some_and(|c| c != "") || delta.get("tool_calls").is_some();
        assert!(!(finished && adds), "content after finish_reason: {v}");
        if !choice["finish_reason"].is_null() {
            assert!(!finished, "a second finish_reason: {v}");
            finished = true;
        }
    }
});
