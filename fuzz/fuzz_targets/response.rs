//! Response side: an arbitrary upstream status, headers and body through
//! `Exchange` after a good request, and the body through
//! `to_chat_completion`, `replay::to_sse` and `from_upstream` directly.
//!
//! Input: `[mode][status][flags][errortype (len+bytes)][request id (len+bytes)]
//! [plan len][plan…][body…]`. `mode` bits 0-1: 0 or 3 JSON, 1 stream, 2 replay (tools on a
//! model that cannot stream them); bit 2 of `mode`: include_usage. `status`
//! indexes a table (0 = 200). `flags` bit 0: send `x-amzn-errortype`; bit 1:
//! send `x-amzn-requestid`; bit 2: the headers end the answer (no body). The plan splits a streamed body (see `chunks`).
#![no_main]

use bedrock_openai_filter::api::chat::chunks::StreamContext;
use bedrock_openai_filter::api::chat::completion::{to_chat_completion, ResponseContext};
use bedrock_openai_filter::api::chat::replay;
use bedrock_openai_filter::error::bedrock::from_upstream;
use bedrock_openai_filter::exchange::{BodyProgress, Effect, Exchange, Step, Verdict};
use bedrock_openai_filter::secret::Redactor;
use fuzz_support::{
    check_error_json, check_no_secret, check_step, check_stream, chunks, config, good_headers, now,
    Input, AKID, AWS_SECRETS, SECRET, TOKEN,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const STATUSES: [u16; 16] = [
    200, 400, 403, 404, 408, 424, 429, 500, 503, 504, 0, 101, 204, 302, 600, 65535,
];

const MODEL: &str = "anthropic.claude-3-haiku-20240307-v1:0";
const REPLAY_MODEL: &str = "mistral.mistral-large-2402-v1:0";

fn request_body(mode: u8) -> String {
    let usage = mode & 4 != 0;
    let tools =
        r#"[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]"#;
    match mode & 3 {
        0 | 3 => format!(r#"{{"model":"{MODEL}","messages":[{{"role":"user","content":"hi"}}]}}"#),
        1 => format!(
            r#"{{"model":"{MODEL}","stream":true,"stream_options":{{"include_usage":{usage}}},"messages":[{{"role":"user","content":"hi"}}]}}"#
        ),
        _ => format!(
            r#"{{"model":"{REPLAY_MODEL}","stream":true,"stream_options":{{"include_usage":{usage}}},"tools":{tools},"messages":[{{"role":"user","content":"hi"}}]}}"#
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let mode = input.byte();
    let status = STATUSES[usize::from(input.byte()) % STATUSES.len()];
    let flags = input.byte();
    let error_type = input.string();
    let request_id = input.string();
    let plan_len = usize::from(input.byte());
    let plan = input.take(plan_len).to_vec();
    let body = input.rest();

    direct(status, &error_type, &request_id, body);

    let mut ex = Exchange::new(config(None));
    let step = ex.on_request_headers(&good_headers(), false);
    assert_eq!(step.verdict, Verdict::Pause);
    let req = request_body(mode);
    assert!(matches!(
        ex.on_request_body_progress(req.len(), true),
        BodyProgress::Ready
    ));
    let step = ex.on_request_body(req.as_bytes(), now());
    assert!(
        check_step(&step, &AWS_SECRETS).is_none(),
        "fixture request refused: {step:?}"
    );

    let mut headers = vec![(":status".to_string(), status.to_string())];
    if flags & 1 != 0 {
        headers.push(("x-amzn-ErrorType".to_string(), error_type.clone()));
    }
    if flags & 2 != 0 {
        headers.push(("x-amzn-RequestId".to_string(), request_id.clone()));
    }
    let streaming = mode & 3 == 1 && status == 200;
    let no_body = flags & 4 != 0;
    let step = ex.on_response_headers(status, &headers, no_body);
    if no_body {
        // Nothing to rewrite (or, streaming, nothing to stream): the answer becomes a local reply.
        let reply = check_step(&step, &AWS_SECRETS);
        let Some((_, message)) = reply else {
            panic!("bodiless answer not turned into a local reply: {step:?}");
        };
        if status != 200 {
            check_no_secret(&message, &AWS_SECRETS, "upstream error");
        }
        return;
    }
    assert!(check_step(&step, &AWS_SECRETS).is_none());
    let id = match flags & 2 != 0 {
        true => format!("chatcmpl-{request_id}"),
        false => "chatcmpl-req-1".to_string(),
    };
    if streaming {
        assert_eq!(step.verdict, Verdict::Continue);
        let mut out = Vec::new();
        let pieces = chunks(body, &plan);
        let last = pieces.len() - 1;
        for (i, piece) in pieces.into_iter().enumerate() {
            assert_eq!(
                ex.on_response_body_progress(piece.len(), i == last),
                BodyProgress::Ready
            );
            let step = ex.on_response_body(piece, i == last);
            assert!(check_step(&step, &AWS_SECRETS).is_none());
            assert_eq!(step.verdict, Verdict::Continue);
            for e in step.effects {
                match e {
                    Effect::ReplaceResponseBody(b) => out.extend(b),
                    other => panic!("unexpected streaming effect {other:?}"),
                }
            }
        }
        check_stream(&out, &id);
        return;
    }
    assert_eq!(step.verdict, Verdict::Pause);
    let half = body.len() / 2;
    assert!(matches!(
        ex.on_response_body_progress(half, false),
        BodyProgress::Wait(Step {
            verdict: Verdict::Pause,
            ..
        })
    ));
    assert_eq!(
        ex.on_response_body_progress(body.len(), true),
        BodyProgress::Ready
    );
    let step = ex.on_response_body(body, true);
    assert!(check_step(&step, &AWS_SECRETS).is_none());
    check_buffered(&step, status, mode, &id);
    let again = ex.on_response_body(b"more", true);
    assert!(
        again.effects.is_empty(),
        "effects after the answer: {again:?}"
    );
});

/// The rewrite of a buffered answer: a consistent content-length, and a
/// completion, an SSE replay or an OpenAI error without credentials.
fn check_buffered(step: &Step, upstream_status: u16, mode: u8, id: &str) {
    let mut status = upstream_status;
    let mut length = None;
    let mut content_type = None;
    let mut body = None;
    for e in &step.effects {
        match e {
            Effect::SetResponseHeader(n, v) if n == ":status" => {
                status = v.parse().unwrap_or_else(|_| panic!(":status {v:?}"))
            }
            Effect::SetResponseHeader(n, v) if n == "content-length" => length = Some(v.clone()),
            Effect::SetResponseHeader(n, v) if n == "content-type" => {
                content_type = Some(v.clone())
            }
            Effect::SetResponseHeader(..) => {}
            Effect::ReplaceResponseBody(b) => body = Some(b.clone()),
            other => panic!("unexpected buffered effect {other:?}"),
        }
    }
    let Some(body) = body else {
        panic!("buffered answer not rewritten: {step:?}")
    };
    assert_eq!(
        length,
        Some(body.len().to_string()),
        "content-length mismatch"
    );
    assert!(
        status == 200 || (400..600).contains(&status),
        "client status {status}"
    );
    if content_type.as_deref() == Some("text/event-stream") {
        assert_eq!((upstream_status, mode & 3), (200, 2), "SSE outside replay");
        assert_eq!(status, 200);
        check_stream(&body, id);
        return;
    }
    assert_eq!(content_type.as_deref(), Some("application/json"));
    if status == 200 {
        assert_eq!(upstream_status, 200);
        let v: Value =
            serde_json::from_slice(&body).unwrap_or_else(|e| panic!("completion is not JSON: {e}"));
        assert_eq!(v["object"], "chat.completion", "{v}");
    } else {
        let message = check_error_json(&body);
        if upstream_status != 200 {
            check_no_secret(&message, &AWS_SECRETS, "upstream error");
        }
    }
}

/// The pure functions on the same body.
fn direct(status: u16, error_type: &str, request_id: &str, body: &[u8]) {
    let ctx = ResponseContext {
        id: "chatcmpl-x",
        model: MODEL,
        created: 1,
        answer_tool: None,
    };
    // Both return the body and a summary (usage, finish reason) for logs.
    let completion = to_chat_completion(body, &ctx).map(|(json, _)| json);
    match &completion {
        Ok(json) => {
            let v: Value = serde_json::from_slice(json)
                .unwrap_or_else(|e| panic!("completion is not JSON: {e}"));
            assert_eq!(v["choices"][0]["message"]["role"], "assistant");
        }
        Err(e) => {
            check_error_json(&e.to_json());
        }
    }
    for include_usage in [false, true] {
        let sctx = StreamContext {
            id: format!("chatcmpl-{request_id}"),
            model: MODEL.into(),
            created: 1,
            include_usage,
            answer_tool: None,
        };
        match replay::to_sse(body, &sctx).map(|(sse, _)| sse) {
            Ok(sse) => {
                assert!(
                    completion.is_ok(),
                    "replay accepts what the completion refuses"
                );
                let events = check_stream(&sse, &sctx.id);
                assert!(
                    !events
                        .iter()
                        .any(|e| matches!(e, fuzz_support::Event::Error(_))),
                    "replay of a good answer has an error event"
                );
            }
            Err(_) => assert!(
                completion.is_err(),
                "replay refuses what the completion accepts"
            ),
        }
    }
    let e = from_upstream(
        status,
        Some(error_type),
        body,
        &Redactor::new([AKID, SECRET, TOKEN]),
    );
    assert!(
        (400..600).contains(&e.status),
        "upstream error status {}",
        e.status
    );
    let message = check_error_json(&e.to_json());
    check_no_secret(&message, &AWS_SECRETS, "from_upstream");
    let e = from_upstream(status, None, body, &Redactor::default());
    check_error_json(&e.to_json());
}
