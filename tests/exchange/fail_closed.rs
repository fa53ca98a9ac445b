//! Failing closed: a write the host refuses ends the exchange with an error
//! (never with the caller's request forwarded half-rewritten), and an
//! exchange stuck waiting for its body says what to fix.

use crate::effects::{assert_reply, haystack, resp_set, response_body};
use crate::script::*;
use bedrock_openai_filter::exchange::{BodyProgress, Effect, Exchange, Verdict};
use serde_json::{json, Value};

#[test]
fn a_refused_request_write_ends_the_request_with_a_500_and_forwards_nothing() {
    // Header phase: the rewrite that withholds the secrets is refused.
    let mut ex = Exchange::new(config());
    let step = ex.on_request_headers(&good_headers(), false);
    let instead = ex.on_host_refused(&step.effects[0]);
    let body = assert_reply("header rewrite", &Out::Step(instead), 500, None);
    assert_eq!(body["error"]["code"], "gateway_misconfigured");
    assert_eq!(ex.record().status, Some(500));
    assert_passes_through("header rewrite refused", &mut ex);

    // Body phase: each of the two request effects refused in turn.
    for which in 0..2 {
        let mut ex = Exchange::new(config());
        let outs = run_on(&mut ex, request_script(good_headers(), SEED.as_bytes()));
        let fwd = outs[3].step();
        assert_eq!(fwd.verdict, Verdict::Continue);
        let refused = &fwd.effects[which];
        assert!(refused.is_request_side());
        let instead = ex.on_host_refused(refused);
        let body = assert_reply("body phase", &Out::Step(instead.clone()), 500, None);
        assert_eq!(body["error"]["code"], "gateway_misconfigured");
        let message = body["error"]["message"].as_str().unwrap();
        if which == 0 {
            assert!(
                message.contains("allow_on_headers_stop_iteration: true"),
                "{message}"
            );
        }
        assert!(!haystack(&[Out::Step(instead)]).contains(SECRET));
        // The request never reaches the answer phase.
        let later = run_on(
            &mut ex,
            response_script(
                200,
                owned(&[("content-type", "application/json")]),
                &converse_ok("x"),
            ),
        );
        assert!(later.iter().all(|o| *o == go()), "{later:?}");
    }
}

#[test]
fn a_refused_answer_write_is_an_error_until_the_answer_has_started() {
    // Buffered: the rewritten body is refused, so the client gets a 500, not Bedrock's bytes.
    let mut ex = Exchange::new(config());
    let outs = run_on(&mut ex, seed_script(good_headers()));
    let rewrite = outs[8].step();
    let refused = rewrite
        .effects
        .iter()
        .find(|e| matches!(e, Effect::ReplaceResponseBody(_)))
        .unwrap();
    assert!(!refused.is_request_side());
    let instead = ex.on_host_refused(refused);
    assert_reply("buffered answer", &Out::Step(instead), 500, None);
    assert_eq!(ex.record().status, Some(500));
    assert_eq!(ex.record().usage, None, "a failed answer counts no tokens");

    // Streamed: the headers have gone out; nothing can replace the answer.
    let mut body: Value = serde_json::from_str(SEED).unwrap();
    body["stream"] = json!(true);
    let mut ex = Exchange::new(config());
    run_on(
        &mut ex,
        request_script(good_headers(), body.to_string().as_bytes()),
    );
    let _ = ex.on_response_headers(200, &owned(&[]), false);
    let step = ex.on_response_body(b"", false);
    assert_eq!(ex.on_host_refused(&step.effects[0]), go().step().clone());
}

#[test]
fn an_exchange_that_ends_waiting_for_its_body_says_what_to_fix() {
    let mut ex = Exchange::new(config());
    assert_eq!(ex.diagnosis(), None);
    let _ = ex.on_request_headers(&good_headers(), false);
    let hint = ex.diagnosis().unwrap();
    assert!(
        hint.contains("allow_on_headers_stop_iteration: true"),
        "{hint}"
    );
    run_on(
        &mut ex,
        vec![
            Event::ReqBodyProgress(SEED.len(), true),
            Event::ReqBody(SEED.as_bytes().to_vec()),
        ],
    );
    assert_eq!(ex.diagnosis(), None);
    // A refused request ends with no hint either.
    let mut ex = Exchange::new(config());
    let _ = ex.on_request_headers(&good_headers().without("project-api-key"), false);
    assert_eq!(ex.diagnosis(), None);
}

#[test]
fn envoys_own_reply_before_the_body_arrived_becomes_an_openai_error() {
    // With `allow_on_headers_stop_iteration` off, the body never comes and
    // Envoy's request_timeout answers 504 in plain text.
    for (status, code) in [
        (504, "gateway_misconfigured"),
        (408, "request_timeout"),
        (413, "request_too_large"),
    ] {
        let mut ex = Exchange::new(config());
        let _ = ex.on_request_headers(&good_headers(), false);
        let h = ex.on_response_headers(
            status,
            &owned(&[("content-type", "text/plain"), ("content-length", "15")]),
            false,
        );
        assert_eq!(
            h.verdict,
            Verdict::Continue,
            "a paused answer would hang too"
        );
        assert_eq!(
            resp_set(&h.effects, "content-type"),
            ["application/json"],
            "{status}"
        );
        assert!(h
            .effects
            .contains(&Effect::RemoveResponseHeader("content-length".into())));
        assert_eq!(ex.on_response_body_progress(10, false), BodyProgress::Ready);
        let mid = ex.on_response_body(b"request ", false);
        assert_eq!(response_body(&mid.effects), b"", "Envoy's text is dropped");
        let end = ex.on_response_body(b"timeout", true);
        let v: Value = serde_json::from_slice(response_body(&end.effects)).unwrap();
        assert_eq!(v["error"]["code"], code, "{status}: {v}");
        assert_eq!(ex.record().status, Some(status));
        if status == 504 {
            let message = v["error"]["message"].as_str().unwrap();
            assert!(message.contains("allow_on_headers_stop_iteration: true"));
            assert!(ex
                .diagnosis()
                .unwrap()
                .contains("allow_on_headers_stop_iteration"));
        } else {
            assert_eq!(ex.diagnosis(), None, "{status}");
        }
        assert!(!haystack(&[Out::Step(end)]).contains(SECRET));
    }
}
