//! The passthrough's answers through the exchange: a buffered answer kept
//! byte for byte but `model`, Bedrock's errors with their status, a stream
//! forwarded event by event at every split point, usage read for metrics and
//! token budgets.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use bedrock_openai_filter::api::openai_compat::stream::CompatStream;
use bedrock_openai_filter::api::openai_compat::CompatApi;
use bedrock_openai_filter::exchange::{Effect, Exchange};
use serde_json::{json, Value};
use std::rc::Rc;

mod compat_support;
use compat_support::*;

const COMPLETION: &str = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"openai.gpt-5.5","choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10,"prompt_tokens_details":{"cached_tokens":2}}}"#;

#[test]
fn a_buffered_answer_keeps_its_bytes_but_model_and_tells_its_usage() {
    let mut ex = Exchange::with_limiter(budget(), Spent::default());
    let declared = chat("openai.gpt-5.5");
    let _ = send(&mut ex, SIGV4, &declared);
    let ct = [("content-type", "application/json")];
    let s1 = ex.on_response_headers(200, &ct, false);
    let s2 = ex.on_response_body(COMPLETION.as_bytes(), true);
    assert_eq!(body_out(&[s1, s2]), COMPLETION.as_bytes());
    let usage = ex.record().usage.unwrap();
    assert_eq!(
        (usage.input, usage.output, usage.total, usage.cache_read),
        (7, 3, 10, 2)
    );
    assert_eq!(ex.record().finish_reason, Some("stop"));
    // An alias is put back.
    let cfg = config(
        r#","policy":{"tokens_per_minute":1000}"#,
        r#","models":[{"id":"gpt","target":"openai.gpt-5.5"}]"#,
    );
    let mut ex = Exchange::with_limiter(cfg, Spent::default());
    let _ = send(&mut ex, SIGV4, &chat("gpt"));
    let _ = ex.on_response_headers(200, &ct, false);
    let out = body_out(&[ex.on_response_body(COMPLETION.as_bytes(), true)]);
    assert_eq!(
        out,
        COMPLETION
            .replace(r#""model":"openai.gpt-5.5""#, r#""model":"gpt""#)
            .as_bytes()
    );
}

#[test]
fn errors_keep_their_status_in_openais_shape() {
    // (upstream status, its extra headers, its body, status to the caller, error code).
    type Case = (
        u16,
        &'static [(&'static str, &'static str)],
        &'static str,
        u16,
        &'static str,
    );
    let cases: [Case; 4] = [
        (
            400,
            &[],
            r#"{"error":{"code":"validation_error","message":"The model 'openai.gpt-5.5' does not support the '/v1/chat/completions' API","param":null,"type":"invalid_request_error"}}"#,
            400,
            "validation_error",
        ),
        (404, &[], r#"{"error":{"message":"The model 'openai.gpt-5.5' does not exist","type":"invalid_request_error","code":"model_not_found"}}"#, 404, "model_not_found"),
        (
            403,
            &[("x-amzn-errortype", "InvalidSignatureException:http://internal.amazon.com/coral/com.amazon.coral.service/")],
            r#"{"message":"The request signature we calculated does not match"}"#,
            403,
            "invalid_aws_credentials",
        ),
        // bedrock-runtime's answer on a path it does not serve.
        (
            200,
            &[],
            r#"{"Output":{"__type":"com.amazon.coral.service#UnknownOperationException"},"Version":"1.0"}"#,
            502,
            "bad_upstream_response",
        ),
    ];
    for (status, extra, body, want, code) in cases {
        let mut ex = Exchange::new(config("", ""));
        let _ = send(&mut ex, SIGV4, &chat("openai.gpt-5.5"));
        let mut h = vec![("content-type", "application/json")];
        h.extend_from_slice(extra);
        let _ = ex.on_response_headers(status, &h, false);
        let step = ex.on_response_body(body.as_bytes(), true);
        let out: Value = serde_json::from_slice(&body_out(std::slice::from_ref(&step))).unwrap();
        assert_eq!(out["error"]["code"], code, "{body}: {out}");
        let sent_status = step.effects.iter().find_map(|e| match e {
            Effect::SetResponseHeader(k, v) if k == ":status" => Some(v.parse::<u16>().unwrap()),
            _ => None,
        });
        assert_eq!(sent_status.unwrap_or(status), want, "{body}");
        assert!(!out.to_string().contains(SECRET));
    }
}

const CHUNKS: [&str; 4] = [
    r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"openai.gpt-5.5","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}],"usage":null}"#,
    r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"openai.gpt-5.5","choices":[{"index":0,"delta":{"content":"lo ✓"},"finish_reason":null}],"usage":null}"#,
    r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"openai.gpt-5.5","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}"#,
    r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"openai.gpt-5.5","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":4,"total_tokens":9}}"#,
];

fn sse(events: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        out.extend_from_slice(format!("data: {e}\n\n").as_bytes());
    }
    out.extend_from_slice(b"data: [DONE]\n\n");
    out
}

/// Streams `upstream` split at `cut` through a fresh exchange for `model`;
/// the bytes out, the tokens spent.
fn stream_once(
    model: &str,
    include_usage: bool,
    upstream: &[u8],
    cut: usize,
) -> (Vec<u8>, Vec<u64>, Value) {
    let mut ex = Exchange::with_limiter(budget(), Spent::default());
    let mut body = chat(model);
    body["stream"] = json!(true);
    if include_usage {
        body["stream_options"] = json!({"include_usage": true});
    }
    let sent = sent_body(&send(&mut ex, SIGV4, &body));
    let first = ex.on_response_headers(
        200,
        &[("content-type", "text/event-stream; charset=utf-8")],
        false,
    );
    assert!(first.effects.contains(&Effect::SetResponseHeader(
        "content-type".into(),
        "text/event-stream".into()
    )));
    let (a, b) = upstream.split_at(cut);
    let steps = [ex.on_response_body(a, false), ex.on_response_body(b, true)];
    let record = ex.record().clone();
    assert_eq!(record.usage.map(|u| u.total), Some(9));
    assert_eq!(record.finish_reason, Some("stop"));
    (body_out(&steps), vec![record.usage.unwrap().total], sent)
}

#[test]
fn a_stream_is_forwarded_with_model_put_back_at_every_split_point() {
    let upstream = sse(&CHUNKS);
    // The caller did not ask for usage: the gateway did, and drops that chunk.
    let want_without: Vec<u8> = sse(&CHUNKS[..3]);
    let want_with: Vec<u8> = sse(&CHUNKS);
    for cut in 0..=upstream.len() {
        let (out, spent, sent) = stream_once("openai.gpt-5.5", false, &upstream, cut);
        assert_eq!(sent["stream_options"], json!({"include_usage": true}));
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&want_without),
            "cut {cut}"
        );
        assert_eq!(spent, [9]);
        let (out, _, _) = stream_once("openai.gpt-5.5", true, &upstream, cut);
        assert_eq!(out, want_with, "cut {cut}");
    }
}

#[test]
fn a_stream_names_the_callers_model_and_reads_responses_usage() {
    let cfg = config("", r#","models":[{"id":"gpt","target":"openai.gpt-5.5"}]"#);
    let mut ex = Exchange::new(cfg);
    let mut body = chat("gpt");
    body["stream"] = json!(true);
    let _ = send(&mut ex, SIGV4, &body);
    let _ = ex.on_response_headers(200, &[("content-type", "text/event-stream")], false);
    let mut events: Vec<String> = CHUNKS.iter().map(|c| c.to_string()).collect();
    events.insert(
        1,
        r#"{"error":{"message":"throttled for AKIDEXAMPLE","type":"rate_limit_error"}}"#.into(),
    );
    let refs: Vec<&str> = events.iter().map(String::as_str).collect();
    let out = String::from_utf8(body_out(&[ex.on_response_body(&sse(&refs), true)])).unwrap();
    assert!(!out.contains("openai.gpt-5.5"), "{out}");
    assert_eq!(out.matches(r#""model":"gpt""#).count(), 3);
    assert!(!out.contains(AKID), "{out}");

    // The Responses API: `response.model` put back, usage from `response.completed`.
    let mut s = CompatStream::new(
        CompatApi::Responses,
        Rc::from("gpt"),
        false,
        Default::default(),
    );
    let created = r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","model":"openai.gpt-5.5","status":"in_progress","error":null,"usage":null}}"#;
    let delta = r#"{"type":"response.output_text.delta","sequence_number":1,"delta":"Hi"}"#;
    let done = r#"{"type":"response.completed","sequence_number":2,"response":{"id":"resp_1","object":"response","model":"openai.gpt-5.5","status":"completed","error":null,"usage":{"input_tokens":11,"input_tokens_details":{"cached_tokens":0,"cache_write_tokens":4},"output_tokens":2,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":13}}}"#;
    let upstream = format!("event: response.created\ndata: {created}\n\nevent: response.output_text.delta\ndata: {delta}\n\nevent: response.completed\ndata: {done}\n\n");
    let mut out = Vec::new();
    for byte in upstream.as_bytes() {
        out.extend(s.feed(std::slice::from_ref(byte)));
    }
    out.extend(s.finish());
    let out = String::from_utf8(out).unwrap();
    assert_eq!(
        out,
        upstream.replace(r#""model":"openai.gpt-5.5""#, r#""model":"gpt""#)
    );
    let usage = s.outcome().usage.unwrap();
    assert_eq!(
        (usage.input, usage.output, usage.total, usage.cache_write),
        (11, 2, 13, 4)
    );
    assert_eq!(s.outcome().finish_reason, Some("stop"));
}

#[test]
fn a_json_answer_to_a_streamed_request_is_buffered_and_checked() {
    let mut ex = Exchange::new(config("", ""));
    let mut body = chat("us.openai.gpt-5.6-sol");
    body["stream"] = json!(true);
    let _ = send(&mut ex, SIGV4, &body);
    let first = ex.on_response_headers(200, &[("content-type", "application/json")], false);
    assert!(!first.effects.contains(&Effect::SetResponseHeader(
        "content-type".into(),
        "text/event-stream".into()
    )));
    let coral = br#"{"Output":{"__type":"com.amazon.coral.service#UnknownOperationException"},"Version":"1.0"}"#;
    let step = ex.on_response_body(coral, true);
    let out: Value = serde_json::from_slice(&body_out(&[step])).unwrap();
    assert_eq!(out["error"]["code"], "bad_upstream_response");
    assert_eq!(ex.record().status, Some(502));
}

#[test]
fn never_panics_on_arbitrary_stream_bytes() {
    let mut seed = 0x00C0_FFEE_u64;
    for _ in 0..2000 {
        let mut s = CompatStream::new(
            CompatApi::ChatCompletions,
            Rc::from("m"),
            true,
            Default::default(),
        );
        let len = (seed % 300) as usize;
        let mut bytes = Vec::with_capacity(len);
        for _ in 0..len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let alphabet = b"data: {}\"model\":[]\n\r,:usage";
            bytes.push(alphabet[(seed % alphabet.len() as u64) as usize]);
        }
        let _ = s.feed(&bytes);
        let _ = s.finish();
    }
}
