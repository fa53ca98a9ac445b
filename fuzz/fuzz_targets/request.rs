//! Request side: arbitrary header edits and an arbitrary body through
//! `Exchange`, and the same body through `parse` + `to_converse` directly.
//!
//! Input: `[ops][flags][ops × (kind, index, len, bytes…)][body…]`.
//! `ops` (mod 8) header edits of the good header set; `flags` bit 0: headers
//! end the stream; bits 1-2: body progress calls; bit 3: a 1 KiB body cap.
//! With two zero bytes in front, the rest is a request body sent by a good client.
#![no_main]

use bedrock_openai_filter::api::chat::request::parse;
use bedrock_openai_filter::catalog::resolve::Models;
use bedrock_openai_filter::conversation::converse::to_converse;
use bedrock_openai_filter::error::ApiError;
use bedrock_openai_filter::exchange::{BodyProgress, Effect, Exchange, Verdict};
use bedrock_openai_filter::header::withheld::{is_withheld, upstream_headers};
use fuzz_support::{check_header, check_step, config, good_headers, now, Input, CALLER_SECRETS};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let ops = input.byte() % 8;
    let flags = input.byte();
    let mut headers = good_headers();
    for _ in 0..ops {
        let kind = input.byte() % 5;
        let at = usize::from(input.byte()) % headers.len().max(1);
        let text = input.string();
        match kind {
            0 if !headers.is_empty() => {
                headers.remove(at);
            }
            1 => {
                if let Some(h) = headers.get_mut(at) {
                    h.1 = text;
                }
            }
            2 => {
                if let Some(h) = headers.get(at).cloned() {
                    headers.push(h);
                }
            }
            3 => {
                if let Some(h) = headers.get_mut(at) {
                    h.0 = h.0.to_ascii_uppercase();
                }
            }
            _ => {
                let (name, value) = text.split_once(':').unwrap_or((&text, ""));
                headers.push((name.to_string(), value.to_string()));
            }
        }
    }
    let body = input.rest();
    // A credential the caller also put in its body may come back quoted in an
    // error about that body (it is the caller's own text); from the headers, never.
    let secrets: Vec<&str> = CALLER_SECRETS
        .into_iter()
        .filter(|s| !String::from_utf8_lossy(body).contains(s))
        .collect();

    direct(body);

    let cap = (flags & 8 != 0).then_some(1024);
    let mut ex = Exchange::new(config(cap));
    let step = ex.on_request_headers(&headers, flags & 1 != 0);
    if check_step(&step, &secrets).is_some() || step.verdict == Verdict::Continue {
        // Refused (or passed through): later callbacks must pass through quietly.
        let later = ex.on_request_body(body, now());
        assert!(
            later.effects.is_empty(),
            "effects after a refusal: {later:?}"
        );
        return;
    }
    // An accepted request withholds the caller's secrets at once.
    assert_eq!(
        step.effects,
        vec![Effect::RewriteRequestHeaders { set: Vec::new() }],
        "unexpected header-phase effects"
    );
    let kept = upstream_headers(&headers, &[]);
    for (n, _) in &kept {
        assert!(!is_withheld(n), "{n} kept by the header rewrite");
    }
    let calls = usize::from((flags >> 1) & 3);
    for i in 0..calls {
        let size = body.len() * i / calls.max(1);
        match ex.on_request_body_progress(size, false) {
            BodyProgress::Ready => panic!("Ready before end of stream"),
            BodyProgress::Wait(s) => {
                if check_step(&s, &secrets).is_some() {
                    return;
                }
            }
        }
    }
    match ex.on_request_body_progress(body.len(), true) {
        BodyProgress::Ready => {}
        BodyProgress::Wait(s) => {
            let reply = check_step(&s, &secrets);
            assert!(
                matches!(reply, Some((413, _))),
                "end of body not Ready and not 413: {s:?}"
            );
            assert!(body.len() > cap.unwrap_or(4 * 1024 * 1024));
            return;
        }
    }
    let step = ex.on_request_body(body, now());
    if check_step(&step, &secrets).is_some() {
        return;
    }
    if let [Effect::Dispatch { calls }] = step.effects.as_slice() {
        // The header edits made it an embeddings request: its calls are
        // checked by check_step; the request itself is never forwarded.
        assert_eq!(step.verdict, Verdict::Pause);
        assert!(!calls.is_empty(), "a dispatch of no call");
        return;
    }
    assert_eq!(step.verdict, Verdict::Continue);
    let [Effect::RewriteRequestHeaders { set }, Effect::ReplaceRequestBody(sent)] =
        step.effects.as_slice()
    else {
        panic!("forward step is not one header rewrite then the body: {step:?}");
    };
    for (n, v) in set {
        check_header(n, v);
    }
    let value = |name: &str| set.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let (sent, length, path) = (Some(sent.clone()), value("content-length"), value(":path"));
    let (Some(sent), Some(length), Some(path)) = (sent, length, path) else {
        panic!("forwarded without body, content-length or :path: {step:?}");
    };
    assert_eq!(
        length,
        sent.len().to_string(),
        "content-length does not match the body"
    );
    assert!(path.starts_with("/model/"), "upstream path {path:?}");
    let v: Value = match serde_json::from_slice(&sent) {
        Ok(v) => v,
        Err(e) => panic!("Converse body is not JSON: {e}"),
    };
    assert!(
        v["messages"].is_array(),
        "Converse body without messages: {v}"
    );
});

/// `parse` then `to_converse`: errors are OpenAI errors, successes serialize.
fn direct(body: &[u8]) {
    let req = match parse(body, &Models::default()) {
        Ok(r) => r,
        Err(e) => return check_client_error("parse", &e),
    };
    match to_converse(req.conversation) {
        Ok(c) => {
            if let Err(e) = serde_json::to_vec(&c) {
                panic!("Converse request does not serialize: {e}");
            }
        }
        Err(e) => check_client_error("to_converse", &e),
    }
}

/// A refusal of the caller's body: a 4xx with an OpenAI error body.
fn check_client_error(stage: &str, e: &ApiError) {
    assert!(
        (400..500).contains(&e.status),
        "{stage} error status {}",
        e.status
    );
    fuzz_support::check_error_json(&e.to_json());
}
