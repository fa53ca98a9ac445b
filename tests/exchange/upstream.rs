//! Upstream answers: Bedrock's and Envoy's errors keep their meaning, bad or
//! missing bodies become 502s, and an answer over the cap is cut off.

use crate::effects::{assert_reply, client_view, resp_set, response_body};
use crate::script::*;
use bedrock_openai_filter::exchange::{BodyProgress, Exchange, Verdict};
use serde_json::Value;

/// An error answer from upstream (Bedrock, or Envoy in front of it) and the
/// OpenAI error the client gets for it.
struct UpstreamCase {
    /// What the row is about, in failure messages.
    name: &'static str,
    /// Upstream's status.
    status: u16,
    /// Upstream's headers.
    headers: Vec<(&'static str, &'static str)>,
    /// Upstream's body.
    body: &'static [u8],
    /// The status the client sees.
    client_status: u16,
    /// The OpenAI error `type` the client sees.
    error_type: &'static str,
}

/// An answer of headers with no body after them, and the local reply it becomes.
struct HeadersOnlyCase {
    /// Upstream's status.
    status: u16,
    /// Upstream's headers.
    headers: Vec<(&'static str, &'static str)>,
    /// The status of the local reply.
    client_status: u16,
    /// The OpenAI error `type` of the local reply.
    error_type: &'static str,
}

#[test]
fn upstream_errors_keep_their_meaning() {
    let cases = vec![
        UpstreamCase {
            name: "throttling",
            status: 429,
            headers: vec![
                (
                    "x-amzn-errortype",
                    "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
                ),
                ("content-type", "application/json"),
            ],
            body: br#"{"message":"Too many requests, please wait before trying again."}"#,
            client_status: 429,
            error_type: "rate_limit_error",
        },
        UpstreamCase {
            name: "validation",
            status: 400,
            headers: vec![("X-Amzn-ErrorType", "ValidationException")],
            body: br#"{"message":"A conversation must start with a user message."}"#,
            client_status: 400,
            error_type: "invalid_request_error",
        },
        UpstreamCase {
            name: "access denied",
            status: 403,
            headers: vec![("x-amzn-errortype", "AccessDeniedException")],
            body:
                br#"{"message":"You don't have access to the model with the specified model ID."}"#,
            client_status: 403,
            error_type: "permission_error",
        },
        UpstreamCase {
            name: "envoy upstream timeout",
            status: 504,
            headers: vec![("content-type", "text/plain")],
            body: b"upstream request timeout",
            client_status: 504,
            error_type: "timeout_error",
        },
        UpstreamCase {
            name: "envoy no healthy upstream",
            status: 503,
            headers: vec![("content-type", "text/plain")],
            body: b"no healthy upstream",
            client_status: 503,
            error_type: "api_error",
        },
    ];
    for UpstreamCase {
        name,
        status,
        headers,
        body,
        client_status,
        error_type,
    } in cases
    {
        let step = upstream_answer(good_headers(), status, &headers, body);
        assert_eq!(step.verdict, Verdict::Continue, "{name}");
        let (got, v) = client_view(&step, status);
        assert_eq!(got, client_status, "{name}: {v}");
        assert_eq!(v["error"]["type"], error_type, "{name}: {v}");
        assert!(v["error"]["message"].is_string(), "{name}: {v}");
        assert_eq!(
            resp_set(&step.effects, "content-type"),
            ["application/json"]
        );
    }
}

#[test]
fn envoy_s_rate_limit_is_not_called_bedrock_s() {
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
fn bad_200_bodies_become_502() {
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
fn envoys_own_answer_before_the_body_phase_is_openai_shaped() {
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
fn arbitrary_response_bodies_never_panic() {
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
fn headers_only_answers_become_local_replies_instead_of_waiting_for_a_body() {
    let cases = [
        HeadersOnlyCase {
            status: 500,
            headers: vec![],
            client_status: 500,
            error_type: "api_error",
        },
        HeadersOnlyCase {
            status: 503,
            headers: vec![("x-amzn-errortype", "ServiceUnavailableException:http://x/")],
            client_status: 503,
            error_type: "api_error",
        },
        HeadersOnlyCase {
            status: 200,
            headers: vec![("x-amzn-requestid", "r-1")],
            client_status: 502,
            error_type: "api_error",
        },
    ];
    for HeadersOnlyCase {
        status,
        headers,
        client_status,
        error_type,
    } in cases
    {
        let mut script = request_script(good_headers(), SEED.as_bytes());
        script.push(Event::RespHeadersOnly(status, owned(&headers)));
        let mut ex = Exchange::new(config());
        let outs = run_on(&mut ex, script);
        let last = outs.last().unwrap();
        let body = assert_reply(&format!("headers-only {status}"), last, client_status, None);
        assert_eq!(body["error"]["type"], error_type, "{status}");
        assert_eq!(last.step().verdict, Verdict::Pause);
        assert_passes_through("after headers-only", &mut ex);
    }
}

#[test]
fn a_stream_without_a_body_is_a_502_local_reply() {
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
fn a_buffered_answer_over_the_cap_is_a_502_before_envoys_limit() {
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
