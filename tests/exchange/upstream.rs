//! Upstream answers: Bedrock's and Envoy's errors keep their meaning, bad or
//! missing bodies become 502s, and an answer over the cap is cut off.

use crate::effects::{assert_reply, client_view, resp_set, response_body};
use crate::script::*;
use bedrock_openai_filter::exchange::{BodyProgress, Exchange, Verdict};
use serde_json::Value;

/// (name, upstream status, upstream headers, upstream body, client status, error type).
pub type UpstreamCase = (
    &'static str,
    u16,
    Vec<(&'static str, &'static str)>,
    Vec<u8>,
    u16,
    &'static str,
);

#[test]
pub fn upstream_errors_keep_their_meaning() {
    let cases: Vec<UpstreamCase> = vec![
        (
            "throttling",
            429,
            vec![
                (
                    "x-amzn-errortype",
                    "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
                ),
                ("content-type", "application/json"),
            ],
            br#"{"message":"Too many requests, please wait before trying again."}"#.to_vec(),
            429,
            "rate_limit_error",
        ),
        (
            "validation",
            400,
            vec![("X-Amzn-ErrorType", "ValidationException")],
            br#"{"message":"A conversation must start with a user message."}"#.to_vec(),
            400,
            "invalid_request_error",
        ),
        (
            "access denied",
            403,
            vec![("x-amzn-errortype", "AccessDeniedException")],
            br#"{"message":"You don't have access to the model with the specified model ID."}"#
                .to_vec(),
            403,
            "permission_error",
        ),
        (
            "envoy upstream timeout",
            504,
            vec![("content-type", "text/plain")],
            b"upstream request timeout".to_vec(),
            504,
            "timeout_error",
        ),
        (
            "envoy no healthy upstream",
            503,
            vec![("content-type", "text/plain")],
            b"no healthy upstream".to_vec(),
            503,
            "api_error",
        ),
    ];
    for (name, status, headers, body, want_status, want_type) in cases {
        let step = upstream_answer(good_headers(), status, &headers, &body);
        assert_eq!(step.verdict, Verdict::Continue, "{name}");
        let (got, v) = client_view(&step, status);
        assert_eq!(got, want_status, "{name}: {v}");
        assert_eq!(v["error"]["type"], want_type, "{name}: {v}");
        assert!(v["error"]["message"].is_string(), "{name}: {v}");
        assert_eq!(
            resp_set(&step.effects, "content-type"),
            ["application/json"]
        );
    }
}

#[test]
pub fn envoy_s_rate_limit_is_not_called_bedrock_s() {
    let step = upstream_answer(
        good_headers(),
        429,
        &[("x-envoy-ratelimited", "true"), ("content-length", "0")],
        b"",
    );
    let (status, v) = client_view(&step, 429);
    assert_eq!(status, 429);
    assert_eq!(v["error"]["code"], "rate_limit_exceeded");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("shared by the gateways"), "{message}");
    assert!(!message.contains("Upstream"), "{message}");
}

#[test]
pub fn bad_200_bodies_become_502() {
    for (name, body) in [
        ("html", b"<html>gateway</html>".to_vec()),
        ("empty", Vec::new()),
        (
            "no output message",
            br#"{"output":{},"stopReason":"end_turn"}"#.to_vec(),
        ),
    ] {
        let step = upstream_answer(
            good_headers(),
            200,
            &[("content-type", "application/json")],
            &body,
        );
        assert_eq!(resp_set(&step.effects, ":status"), ["502"], "{name}");
        let (status, v) = client_view(&step, 200);
        assert_eq!(status, 502);
        assert_eq!(v["error"]["type"], "api_error", "{name}");
    }
}

#[test]
pub fn envoys_own_answer_before_the_body_phase_is_openai_shaped() {
    // Envoy answering by itself (e.g. a route error) before our body phase:
    // the client gets an OpenAI error with Envoy's status, not its text.
    let mut ex = Exchange::new(config());
    let outs = run_on(
        &mut ex,
        vec![
            Event::ReqHeaders(good_headers(), false),
            Event::RespHeaders(503, owned(&[("content-type", "text/plain")])),
            Event::RespBodyProgress(5, true),
            Event::RespBody(b"oops!".to_vec(), true),
        ],
    );
    assert_eq!(outs[1].step().verdict, Verdict::Continue);
    assert_eq!(outs[2], Out::Ready);
    let v: Value = serde_json::from_slice(response_body(&outs[3].step().effects)).unwrap();
    assert_eq!(v["error"]["code"], "gateway_misconfigured");
    assert_eq!(ex.record().status, Some(503));
    assert_passes_through("after Envoy's answer", &mut ex);
}

#[test]
pub fn arbitrary_response_bodies_never_panic() {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut rand = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let seed = converse_ok("hello");
    for round in 0..300 {
        let status = [200, 400, 403, 429, 500, 504, 302, 100][round % 8];
        let mut body = seed.clone();
        if round % 3 == 0 {
            body = (0..(rand() % 64)).map(|_| rand() as u8).collect();
        } else {
            for _ in 0..3 {
                let at = (rand() as usize) % body.len();
                body[at] = rand() as u8;
            }
        }
        let mut ex = Exchange::new(config());
        let _ = run_on(&mut ex, request_script(good_headers(), SEED.as_bytes()));
        let outs = run_on(
            &mut ex,
            response_script(status, owned(&[("x-amzn-errortype", "X:y")]), &body),
        );
        let step = outs[4].step();
        let (got, v) = client_view(step, status);
        assert!(got == 200 || (400..600).contains(&got), "{status} → {got}");
        if got != 200 {
            assert!(v["error"]["message"].is_string(), "{v}");
        }
    }
}

#[test]
pub fn headers_only_answers_become_local_replies_instead_of_waiting_for_a_body() {
    let cases = [
        (500, vec![], 500, "api_error"),
        (
            503,
            vec![("x-amzn-errortype", "ServiceUnavailableException:http://x/")],
            503,
            "api_error",
        ),
        (200, vec![("x-amzn-requestid", "r-1")], 502, "api_error"),
    ];
    for (status, headers, want, kind) in cases {
        let mut script = request_script(good_headers(), SEED.as_bytes());
        script.push(Event::RespHeadersOnly(status, owned(&headers)));
        let mut ex = Exchange::new(config());
        let outs = run_on(&mut ex, script);
        let last = outs.last().unwrap();
        let body = assert_reply(&format!("headers-only {status}"), last, want, None);
        assert_eq!(body["error"]["type"], kind, "{status}");
        assert_eq!(last.step().verdict, Verdict::Pause);
        assert_passes_through("after headers-only", &mut ex);
    }
}

#[test]
pub fn a_stream_without_a_body_is_a_502_local_reply() {
    let body = SEED.replace("\"stream\": false", "\"stream\": true");
    assert!(
        body.contains("\"stream\": true"),
        "seed fixture changed shape"
    );
    let mut script = request_script(good_headers(), body.as_bytes());
    script.push(Event::RespHeadersOnly(
        200,
        owned(&[("x-amzn-requestid", "r-2")]),
    ));
    let mut ex = Exchange::new(config());
    let outs = run_on(&mut ex, script);
    let body = assert_reply("stream headers-only", outs.last().unwrap(), 502, None);
    assert_eq!(body["error"]["code"], "bad_upstream_stream");
}

#[test]
pub fn a_buffered_answer_over_the_cap_is_a_502_before_envoys_limit() {
    let cfg = config_with(r#","limits":{"max_response_bytes":2048}"#);
    let mut ex = Exchange::new(cfg);
    run_on(&mut ex, request_script(good_headers(), SEED.as_bytes()));
    let h = ex.on_response_headers(200, &owned(&[("content-type", "application/json")]), false);
    assert_eq!(h.verdict, Verdict::Pause);
    assert_eq!(
        ex.on_response_body_progress(2048, false),
        BodyProgress::Wait(pause().step().clone())
    );
    let BodyProgress::Wait(over) = ex.on_response_body_progress(3000, false) else {
        panic!("over the cap must not ask for the body");
    };
    assert_eq!(over.verdict, Verdict::Continue);
    assert_eq!(resp_set(&over.effects, ":status"), ["502"]);
    let body = response_body(&over.effects);
    assert_eq!(
        resp_set(&over.effects, "content-length"),
        [body.len().to_string()]
    );
    let v: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(v["error"]["code"], "response_too_large");
    assert_eq!(ex.record().status, Some(502));
    // The rest of Bedrock's answer is dropped.
    assert_eq!(
        ex.on_response_body_progress(5000, true),
        BodyProgress::Ready
    );
    let rest = ex.on_response_body(&[b'x'; 5000], true);
    assert_eq!(response_body(&rest.effects), b"");
}
