//! Exchange scripts (quinn `Pair` style): host events in, effects out, no host mocks.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use bedrock_openai_filter::aws::sigv4::{sign_request, Credentials, SignRequest, SigningKeys};
use bedrock_openai_filter::config::Config;
use bedrock_openai_filter::exchange::{BodyProgress, Effect, Exchange, Step, Verdict};
use bedrock_openai_filter::header::withheld::upstream_headers;
use serde_json::{json, Value};
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The project key callers send; `KEY_SHA256` is `printf %s test-project-key | sha256sum`.
const KEY: &str = "test-project-key";
const KEY_SHA256: &str = "d749661188e7505ba96c87f623991d468dbbb04222ad81bcc7f5f5c110fb598e";
const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const TOKEN: &str = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN";
const PATH: &str = "/v1/amazon-bedrock/chat/completions";
const SEED_MODEL: &str = "meta.llama3-8b-instruct-v1:0";
const SEED: &str = include_str!("fixtures/seed.openai.json");
const SEED_CONVERSE: &str = include_str!("fixtures/seed.converse.json");
/// 2024-01-02T03:04:05Z.
const NOW_SECS: u64 = 1_704_164_645;

// ---------------------------------------------------------------- helpers

/// (name, request headers, end_of_stream, expected status, expected param).
type HeaderCase = (
    &'static str,
    Vec<(String, String)>,
    bool,
    u16,
    Option<&'static str>,
);
/// (name, upstream status, upstream headers, upstream body, client status, error type).
type UpstreamCase = (
    &'static str,
    u16,
    Vec<(&'static str, &'static str)>,
    Vec<u8>,
    u16,
    &'static str,
);

/// A config with one project for `KEY`; `extra` is spliced in as more top-level fields.
fn config_with(extra: &str) -> Rc<Config> {
    let json = format!(
        r#"{{"version":1,"projects":[{{"name":"team-a","key_sha256":"{KEY_SHA256}"}}]{extra}}}"#
    );
    Rc::new(Config::from_json(json.as_bytes()).unwrap())
}

fn config() -> Rc<Config> {
    config_with("")
}

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// What a well-behaved client sends, with a few bystander headers.
fn good_headers() -> Vec<(String, String)> {
    owned(&[
        (":method", "POST"),
        (":path", PATH),
        (":authority", "gateway.local:10000"),
        (":scheme", "http"),
        ("content-type", "application/json"),
        ("content-length", "150"),
        ("Project-Api-Key", KEY),
        ("aws-access-key-id", AKID),
        ("aws-secret-access-key", SECRET),
        ("aws-region-name", "us-east-1"),
        ("user-agent", "OpenAI/Python 1.0"),
        ("x-request-id", "envoy-rid-1"),
        ("accept", "application/json"),
    ])
}

/// `h` with `name` (any case) replaced by `value`, or removed when `value` is `None`.
fn set(mut h: Vec<(String, String)>, name: &str, value: Option<&str>) -> Vec<(String, String)> {
    h.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    if let Some(v) = value {
        h.push((name.to_string(), v.to_string()));
    }
    h
}

fn add(mut h: Vec<(String, String)>, name: &str, value: &str) -> Vec<(String, String)> {
    h.push((name.to_string(), value.to_string()));
    h
}

/// One host callback.
#[derive(Debug, Clone)]
enum Event {
    ReqHeaders(Vec<(String, String)>, bool),
    ReqBodyProgress(usize, bool),
    ReqBody(Vec<u8>),
    RespHeaders(u16, Vec<(String, String)>),
    /// Response headers with no body after them.
    RespHeadersOnly(u16, Vec<(String, String)>),
    RespBodyProgress(usize, bool),
    RespBody(Vec<u8>, bool),
}

/// What the exchange answered to one event.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Out {
    Step(Step),
    Ready,
}

impl Out {
    fn step(&self) -> &Step {
        match self {
            Out::Step(s) => s,
            Out::Ready => panic!("expected a step, got Ready"),
        }
    }
}

fn feed(ex: &mut Exchange, event: Event) -> Out {
    let progress = |p: BodyProgress| match p {
        BodyProgress::Ready => Out::Ready,
        BodyProgress::Wait(s) => Out::Step(s),
    };
    match event {
        Event::ReqHeaders(h, end) => Out::Step(ex.on_request_headers(&h, end)),
        Event::ReqBodyProgress(n, end) => progress(ex.on_request_body_progress(n, end)),
        Event::ReqBody(b) => Out::Step(ex.on_request_body(&b, now())),
        Event::RespHeaders(s, h) => Out::Step(ex.on_response_headers(s, &h, false)),
        Event::RespHeadersOnly(s, h) => Out::Step(ex.on_response_headers(s, &h, true)),
        Event::RespBodyProgress(n, end) => progress(ex.on_response_body_progress(n, end)),
        Event::RespBody(b, end) => Out::Step(ex.on_response_body(&b, end)),
    }
}

fn run_on(ex: &mut Exchange, script: Vec<Event>) -> Vec<Out> {
    script.into_iter().map(|e| feed(ex, e)).collect()
}

fn run(config: Rc<Config>, script: Vec<Event>) -> Vec<Out> {
    run_on(&mut Exchange::new(config), script)
}

fn pause() -> Out {
    Out::Step(Step {
        effects: Vec::new(),
        verdict: Verdict::Pause,
    })
}

fn go() -> Out {
    Out::Step(Step {
        effects: Vec::new(),
        verdict: Verdict::Continue,
    })
}

/// Request side up to and including `on_request_body`, body in two chunks.
fn request_script(headers: Vec<(String, String)>, body: &[u8]) -> Vec<Event> {
    let half = body.len() / 2;
    vec![
        Event::ReqHeaders(headers, false),
        Event::ReqBodyProgress(half, false),
        Event::ReqBodyProgress(body.len(), true),
        Event::ReqBody(body.to_vec()),
    ]
}

/// Response side: headers, `body` in three progress events, then the whole body.
fn response_script(status: u16, headers: Vec<(String, String)>, body: &[u8]) -> Vec<Event> {
    let n = body.len();
    vec![
        Event::RespHeaders(status, headers),
        Event::RespBodyProgress(n / 3, false),
        Event::RespBodyProgress(2 * n / 3, false),
        Event::RespBodyProgress(n, true),
        Event::RespBody(body.to_vec(), true),
    ]
}

/// Values of request headers set by `effects` under `name` (any case).
fn req_set<'a>(effects: &'a [Effect], name: &str) -> Vec<&'a str> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::RewriteRequestHeaders { set } => Some(set),
            _ => None,
        })
        .flatten()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

fn req_set_one<'a>(effects: &'a [Effect], name: &str) -> &'a str {
    let v = req_set(effects, name);
    assert_eq!(v.len(), 1, "{name} set {} times: {effects:?}", v.len());
    v[0]
}

fn resp_set<'a>(effects: &'a [Effect], name: &str) -> Vec<&'a str> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::SetResponseHeader(k, v) if k.eq_ignore_ascii_case(name) => Some(v.as_str()),
            _ => None,
        })
        .collect()
}

/// The request header map as the host holds it after `steps` were applied to
/// the `caller`'s headers (each rewrite starts from the caller's headers, as
/// the shell's does).
fn host_request_headers(caller: &[(String, String)], steps: &[&Step]) -> Vec<(String, String)> {
    let mut map = caller.to_vec();
    for step in steps {
        for e in &step.effects {
            if let Effect::RewriteRequestHeaders { set } = e {
                map = upstream_headers(caller, set)
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
            }
        }
    }
    map
}

/// Names of the `caller`'s headers that the host no longer holds after `steps`.
fn removed_req(caller: &[(String, String)], steps: &[&Step]) -> Vec<String> {
    let after = host_request_headers(caller, steps);
    caller
        .iter()
        .filter(|(k, _)| !after.iter().any(|(a, _)| a.eq_ignore_ascii_case(k)))
        .map(|(k, _)| k.clone())
        .collect()
}

fn request_body(effects: &[Effect]) -> &[u8] {
    let bodies: Vec<&[u8]> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::ReplaceRequestBody(b) => Some(b.as_slice()),
            _ => None,
        })
        .collect();
    assert_eq!(bodies.len(), 1, "{effects:?}");
    bodies[0]
}

fn response_body(effects: &[Effect]) -> &[u8] {
    let bodies: Vec<&[u8]> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::ReplaceResponseBody(b) => Some(b.as_slice()),
            _ => None,
        })
        .collect();
    assert_eq!(bodies.len(), 1, "{effects:?}");
    bodies[0]
}

/// Asserts `out` is exactly one local reply (and Pause); returns (status, headers, body JSON).
fn local_reply(out: &Out) -> (u16, Vec<(&'static str, String)>, Value) {
    let step = out.step();
    assert_eq!(step.verdict, Verdict::Pause, "{step:?}");
    assert_eq!(step.effects.len(), 1, "more than the reply: {step:?}");
    match &step.effects[0] {
        Effect::LocalReply {
            status,
            headers,
            body,
        } => (
            *status,
            headers.clone(),
            serde_json::from_slice(body).unwrap(),
        ),
        other => panic!("expected LocalReply, got {other:?}"),
    }
}

/// Asserts a local reply with `status` and OpenAI error `param`.
fn assert_reply(name: &str, out: &Out, status: u16, param: Option<&str>) -> Value {
    let (got, _, body) = local_reply(out);
    assert_eq!(got, status, "{name}: {body}");
    assert_eq!(
        body["error"]["param"],
        param.map_or(Value::Null, |p| json!(p)),
        "{name}: {body}"
    );
    assert!(body["error"]["message"].is_string(), "{name}: {body}");
    assert!(body["error"]["type"].is_string(), "{name}: {body}");
    body
}

/// After a local reply every later callback passes through with no effects.
fn assert_passes_through(name: &str, ex: &mut Exchange) {
    let rest = vec![
        Event::ReqHeaders(good_headers(), false),
        Event::ReqBodyProgress(10, false),
        Event::ReqBodyProgress(10, true),
        Event::ReqBody(SEED.as_bytes().to_vec()),
        Event::RespHeaders(200, owned(&[("content-type", "application/json")])),
        Event::RespBodyProgress(10, false),
        Event::RespBodyProgress(10, true),
        Event::RespBody(b"{}".to_vec(), true),
    ];
    for (i, out) in run_on(ex, rest).into_iter().enumerate() {
        assert_eq!(out, go(), "{name}: callback {i} after the local reply");
    }
}

/// Everything the effects would show the host or the wire, as one string.
fn haystack(outs: &[Out]) -> String {
    let mut s = String::new();
    for out in outs {
        let Out::Step(step) = out else { continue };
        for e in &step.effects {
            match e {
                Effect::RewriteRequestHeaders { set } => {
                    for (k, v) in set {
                        s.push_str(&format!("{k}: {v}\n"));
                    }
                }
                Effect::SetResponseHeader(k, v) => {
                    s.push_str(&format!("{k}: {v}\n"));
                }
                Effect::RemoveResponseHeader(k) => {
                    s.push_str(&format!("-{k}\n"));
                }
                Effect::ReplaceRequestBody(b) | Effect::ReplaceResponseBody(b) => {
                    s.push_str(&String::from_utf8_lossy(b));
                    s.push('\n');
                }
                Effect::Dispatch { calls } => {
                    for c in calls {
                        for (k, v) in &c.headers {
                            s.push_str(&format!("{k}: {v}\n"));
                        }
                        s.push_str(&String::from_utf8_lossy(&c.body));
                        s.push('\n');
                    }
                }
                Effect::LocalReply {
                    status,
                    headers,
                    body,
                } => {
                    s.push_str(&format!("{status} {headers:?} "));
                    s.push_str(&String::from_utf8_lossy(body));
                    s.push('\n');
                }
            }
        }
    }
    s
}

/// A Converse answer body.
fn converse_ok(text: &str) -> Vec<u8> {
    json!({
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 25, "outputTokens": 60, "totalTokens": 85},
        "metrics": {"latencyMs": 100}
    })
    .to_string()
    .into_bytes()
}

/// The full seed exchange with a 200 answer.
fn seed_script(headers: Vec<(String, String)>) -> Vec<Event> {
    let mut script = request_script(headers, SEED.as_bytes());
    script.extend(response_script(
        200,
        owned(&[
            ("content-type", "application/json"),
            ("content-length", "999"),
            ("x-amzn-RequestId", "4b1c-aws-req"),
        ]),
        &converse_ok("Hello! How can I help?"),
    ));
    script
}

#[test]
fn key_hash_constant_matches_the_key() {
    use sha2::{Digest, Sha256};
    let hex: String = Sha256::digest(KEY.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(hex, KEY_SHA256);
}

// ---------------------------------------------------------------- happy path

#[test]
fn seed_request_round_trip() {
    let outs = run(config(), seed_script(good_headers()));
    assert_eq!(outs.len(), 9);

    // Headers: wait for the body; the secrets are withheld at once, so no
    // later failure can forward them.
    let headers = outs[0].step();
    assert_eq!(headers.verdict, Verdict::Pause);
    assert_eq!(
        headers.effects,
        vec![Effect::RewriteRequestHeaders { set: Vec::new() }]
    );
    let caller = good_headers();
    let withheld = removed_req(&caller, &[headers]);
    for name in [
        "Project-Api-Key",
        "aws-secret-access-key",
        "aws-access-key-id",
    ] {
        assert!(withheld.iter().any(|r| r == name), "{name}: {withheld:?}");
    }
    assert_eq!(outs[1], pause(), "body progress, not end");
    assert_eq!(outs[2], Out::Ready, "body end");

    // Body: translated, signed, forwarded.
    let fwd = outs[3].step();
    assert_eq!(fwd.verdict, Verdict::Continue);
    let e = &fwd.effects;
    assert_eq!(
        req_set_one(e, ":path"),
        "/model/meta.llama3-8b-instruct-v1%3A0/converse"
    );
    assert_eq!(
        req_set_one(e, ":authority"),
        "bedrock-runtime.us-east-1.amazonaws.com"
    );
    let body = request_body(e);
    assert_eq!(req_set_one(e, "content-length"), body.len().to_string());
    assert_eq!(req_set_one(e, "content-type"), "application/json");
    let mut sent: Value = serde_json::from_slice(body).unwrap();
    // The project goes to Bedrock's invocation logs; the rest is the translation's golden.
    assert_eq!(
        sent.as_object_mut().unwrap().remove("requestMetadata"),
        Some(serde_json::json!({"project": "team-a"}))
    );
    let want: Value = serde_json::from_str(SEED_CONVERSE).unwrap();
    assert_eq!(sent, want);
    assert_eq!(req_set_one(e, "x-amz-date"), "20240102T030405Z");
    let auth = req_set_one(e, "authorization");
    assert!(
        auth.starts_with(&format!(
            "AWS4-HMAC-SHA256 Credential={AKID}/20240102/us-east-1/bedrock/aws4_request"
        )),
        "{auth}"
    );
    assert!(req_set(e, "x-amz-security-token").is_empty());
    assert_eq!(req_set_one(e, "x-envoy-upstream-rq-timeout-ms"), "600000");
    // The body, path and authority sent are exactly what was signed.
    let resigned = sign_request(
        &SignRequest {
            authority: "bedrock-runtime.us-east-1.amazonaws.com",
            path: "/model/meta.llama3-8b-instruct-v1%3A0/converse",
            body,
            region: "us-east-1",
        },
        &Credentials {
            access_key_id: AKID.into(),
            secret_access_key: SECRET.into(),
            session_token: None,
        },
        now(),
        &SigningKeys::new(),
    )
    .unwrap();
    let resigned_auth = resigned
        .iter()
        .find(|(k, _)| *k == "authorization")
        .unwrap();
    assert_eq!(auth, resigned_auth.1);
    // One header rewrite, then the body: no request effect after the body
    // replacement would be lost.
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(matches!(e[0], Effect::RewriteRequestHeaders { .. }));
    assert!(matches!(e[1], Effect::ReplaceRequestBody(_)));
    // The forwarded request still holds none of the caller's secrets.
    assert!(removed_req(&caller, &[headers, fwd])
        .iter()
        .any(|r| r.eq_ignore_ascii_case("aws-secret-access-key")));

    // Response headers: drop content-length, hold the headers.
    let rh = outs[4].step();
    assert_eq!(rh.verdict, Verdict::Pause);
    assert_eq!(
        rh.effects,
        vec![Effect::RemoveResponseHeader("content-length".into())]
    );
    assert_eq!(outs[5], pause());
    assert_eq!(outs[6], pause());
    assert_eq!(outs[7], Out::Ready);

    // Response body: rewritten into a chat.completion.
    let rb = outs[8].step();
    assert_eq!(rb.verdict, Verdict::Continue);
    let out = response_body(&rb.effects);
    assert_eq!(
        resp_set(&rb.effects, "content-length"),
        [out.len().to_string()]
    );
    assert!(resp_set(&rb.effects, ":status").is_empty());
    let v: Value = serde_json::from_slice(out).unwrap();
    assert_eq!(v["id"], "chatcmpl-4b1c-aws-req");
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["created"], NOW_SECS);
    assert_eq!(v["model"], SEED_MODEL);
    assert_eq!(
        v["choices"][0]["message"],
        json!({"role": "assistant", "content": "Hello! How can I help?", "refusal": null})
    );
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        v["usage"],
        json!({"prompt_tokens": 25, "completion_tokens": 60, "total_tokens": 85})
    );
}

#[test]
fn no_secret_or_project_key_in_any_effect() {
    for headers in [
        good_headers(),
        add(good_headers(), "aws-session-token", TOKEN),
    ] {
        let outs = run(config(), seed_script(headers));
        let all = haystack(&outs);
        assert!(!all.contains(SECRET), "secret leaked:\n{all}");
        assert!(!all.contains(KEY), "project key leaked:\n{all}");
    }
}

#[test]
fn session_token_is_sent_only_when_given() {
    let outs = run(
        config(),
        request_script(
            add(good_headers(), "aws-session-token", TOKEN),
            SEED.as_bytes(),
        ),
    );
    let e = &outs[3].step().effects;
    assert_eq!(req_set_one(e, "x-amz-security-token"), TOKEN);
    assert!(req_set_one(e, "authorization").contains("x-amz-security-token"));

    let outs = run(config(), request_script(good_headers(), SEED.as_bytes()));
    let e = &outs[3].step().effects;
    assert!(req_set(e, "x-amz-security-token").is_empty(), "{e:?}");
    assert!(!req_set_one(e, "authorization").contains("x-amz-security-token"));
}

#[test]
fn upstream_timeout_is_capped_by_config() {
    let cases: Vec<(&str, &str, Option<u64>, &str)> = vec![
        ("default", "", None, "600000"),
        ("request timeout", "", Some(30), "30000"),
        ("request over default cap", "", Some(100_000), "600000"),
        (
            "config cap",
            r#","limits":{"max_timeout_seconds":60}"#,
            None,
            "60000",
        ),
        (
            "request over config cap",
            r#","limits":{"max_timeout_seconds":60}"#,
            Some(120),
            "60000",
        ),
        (
            "request under config cap",
            r#","limits":{"max_timeout_seconds":60}"#,
            Some(5),
            "5000",
        ),
    ];
    for (name, extra, timeout, want) in cases {
        let mut body: Value = serde_json::from_str(SEED).unwrap();
        if let Some(t) = timeout {
            body["timeout"] = json!(t);
        }
        let outs = run(
            config_with(extra),
            request_script(good_headers(), body.to_string().as_bytes()),
        );
        let e = &outs[3].step().effects;
        assert_eq!(
            req_set_one(e, "x-envoy-upstream-rq-timeout-ms"),
            want,
            "{name}"
        );
    }
}

#[test]
fn credential_headers_are_stripped_in_any_case_and_nothing_else() {
    let must_go = [
        "Project-Api-Key",
        "AWS-Access-Key-Id",
        "aws-secret-access-key",
        "Aws-Region-Name",
        "aws-session-token",
        "aws-anything-else",
        "Authorization",
        "X-Amz-Date",
        "x-amz-security-token",
        "X-AMZ-Content-Sha256",
        "Accept-Encoding",
    ];
    let must_stay = [
        ":method",
        ":path",
        ":authority",
        ":scheme",
        "content-type",
        "user-agent",
        "x-request-id",
        "accept",
        "awsome-header",
        "x-project-api-key",
        "authorization-hint",
        "x-forwarded-for",
        "openai-organization",
    ];
    let mut headers = owned(&[
        (":method", "POST"),
        (":path", PATH),
        (":authority", "gateway.local"),
        (":scheme", "http"),
        ("content-type", "application/json"),
        ("Project-Api-Key", KEY),
        ("AWS-Access-Key-Id", AKID),
        ("aws-secret-access-key", SECRET),
        ("Aws-Region-Name", "us-east-1"),
        ("aws-session-token", TOKEN),
        ("aws-anything-else", "x"),
        ("Authorization", "Bearer sk-openai"),
        ("X-Amz-Date", "20200101T000000Z"),
        ("x-amz-security-token", "old"),
        ("X-AMZ-Content-Sha256", "abc"),
        ("Accept-Encoding", "gzip, br"),
    ]);
    for name in &must_stay[4..] {
        if !headers.iter().any(|(k, _)| k == name) {
            headers.push((name.to_string(), "v".to_string()));
        }
    }
    let outs = run(config(), request_script(headers.clone(), SEED.as_bytes()));
    // Withheld in the header step already, before anything is set.
    let removed = removed_req(&headers, &[outs[0].step()]);
    for name in must_go {
        let n = removed
            .iter()
            .filter(|r| r.eq_ignore_ascii_case(name))
            .count();
        assert_eq!(n, 1, "{name} removed {n} times: {removed:?}");
    }
    for name in must_stay {
        assert!(
            !removed.iter().any(|r| r.eq_ignore_ascii_case(name)),
            "{name} removed: {removed:?}"
        );
    }
    for r in &removed {
        assert!(
            must_go.iter().any(|m| m.eq_ignore_ascii_case(r)),
            "unexpected removal of {r}: {removed:?}"
        );
    }
    // In the forwarded request, no caller value of a withheld header is left,
    // and every header the upstream call sets is there once, with its value.
    let forwarded = host_request_headers(&headers, &[outs[0].step(), outs[3].step()]);
    for (name, value) in &headers {
        if must_go.contains(&name.as_str()) {
            assert!(
                !forwarded
                    .iter()
                    .any(|(k, v)| k.eq_ignore_ascii_case(name) && v == value),
                "{name}: {value} forwarded"
            );
        }
    }
    for (name, value) in [
        (":path", "/model/meta.llama3-8b-instruct-v1%3A0/converse"),
        (":authority", "bedrock-runtime.us-east-1.amazonaws.com"),
        ("content-type", "application/json"),
    ] {
        let found: Vec<&str> = forwarded
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(found, [value], "{name}");
    }
    // Headers set upstream later never reuse a caller's stripped value.
    let all = haystack(&outs);
    assert!(!all.contains("sk-openai") && !all.contains(SECRET) && !all.contains(KEY));
    assert!(!all.contains("20200101T000000Z") && !all.contains(": old"));
}

#[test]
fn endpoint_override_keeps_the_region_in_the_signature() {
    let cfg = config_with(r#","upstream":{"endpoint":"http://127.0.0.1:9099"}"#);
    let headers = set(good_headers(), "aws-region-name", Some("eu-west-3"));
    let outs = run(cfg, request_script(headers, SEED.as_bytes()));
    let e = &outs[3].step().effects;
    assert_eq!(req_set_one(e, ":authority"), "127.0.0.1:9099");
    assert!(req_set_one(e, "authorization").contains(&format!(
        "Credential={AKID}/20240102/eu-west-3/bedrock/aws4_request"
    )));
}

#[test]
fn stream_true_targets_converse_stream() {
    let mut body: Value = serde_json::from_str(SEED).unwrap();
    body["stream"] = json!(true);
    let outs = run(
        config(),
        request_script(good_headers(), body.to_string().as_bytes()),
    );
    let e = &outs[3].step().effects;
    assert_eq!(
        req_set_one(e, ":path"),
        "/model/meta.llama3-8b-instruct-v1%3A0/converse-stream"
    );
    assert_eq!(
        req_set_one(e, "accept"),
        "application/vnd.amazon.eventstream"
    );
}

#[test]
fn content_length_counts_bytes_not_chars() {
    let body =
        json!({"model": SEED_MODEL, "messages": [{"role": "user", "content": "héllo ✓ 日本"}]})
            .to_string();
    let outs = run(config(), request_script(good_headers(), body.as_bytes()));
    let e = &outs[3].step().effects;
    let sent = request_body(e);
    assert_eq!(req_set_one(e, "content-length"), sent.len().to_string());
    assert_eq!(
        serde_json::from_slice::<Value>(sent).unwrap()["messages"][0]["content"][0]["text"],
        "héllo ✓ 日本"
    );
}

#[test]
fn response_id_falls_back_to_envoy_request_id() {
    let mut script = request_script(good_headers(), SEED.as_bytes());
    script.extend(response_script(
        200,
        owned(&[("content-type", "application/json")]),
        &converse_ok("x"),
    ));
    let outs = run(config(), script);
    let v: Value = serde_json::from_slice(response_body(&outs[8].step().effects)).unwrap();
    assert_eq!(v["id"], "chatcmpl-envoy-rid-1");
}

// ---------------------------------------------------------------- request errors

#[test]
fn header_errors_are_local_replies() {
    let g = good_headers;
    let cases: Vec<HeaderCase> = vec![
        (
            "missing project key",
            set(g(), "project-api-key", None),
            false,
            401,
            Some("Project-Api-Key"),
        ),
        (
            "wrong project key",
            set(g(), "project-api-key", Some("nope")),
            false,
            401,
            Some("Project-Api-Key"),
        ),
        (
            "empty project key",
            set(g(), "project-api-key", Some("")),
            false,
            401,
            Some("Project-Api-Key"),
        ),
        (
            "project key differs in case",
            set(g(), "project-api-key", Some("TEST-PROJECT-KEY")),
            false,
            401,
            Some("Project-Api-Key"),
        ),
        (
            "duplicate project key",
            add(g(), "Project-Api-Key", KEY),
            false,
            401,
            Some("Project-Api-Key"),
        ),
        (
            "duplicate project key, other case",
            add(g(), "project-api-key", "nope"),
            false,
            401,
            Some("Project-Api-Key"),
        ),
        (
            "wrong key beats wrong path",
            set(
                set(g(), "project-api-key", Some("nope")),
                ":path",
                Some("/x"),
            ),
            false,
            401,
            Some("Project-Api-Key"),
        ),
        (
            "missing key beats bad region",
            set(
                set(g(), "project-api-key", None),
                "aws-region-name",
                Some("../x"),
            ),
            false,
            401,
            Some("Project-Api-Key"),
        ),
        (
            "wrong path",
            set(g(), ":path", Some("/v1/chat/completions")),
            false,
            404,
            None,
        ),
        (
            "path with suffix",
            set(g(), ":path", Some("/v1/amazon-bedrock/chat/completions/x")),
            false,
            404,
            None,
        ),
        (
            "content-type text/plain",
            set(g(), "content-type", Some("text/plain")),
            false,
            415,
            Some("Content-Type"),
        ),
        (
            "content-type missing",
            set(g(), "content-type", None),
            false,
            415,
            Some("Content-Type"),
        ),
        (
            "content-length over the cap",
            set(g(), "content-length", Some("4194305")),
            false,
            413,
            None,
        ),
        ("headers end the stream", g(), true, 400, Some("body")),
    ];
    let mut cases = cases;
    for name in [
        "aws-access-key-id",
        "aws-secret-access-key",
        "aws-region-name",
    ] {
        cases.push((
            "missing aws header",
            set(g(), name, None),
            false,
            400,
            Some(name),
        ));
        cases.push((
            "blank aws header",
            set(g(), name, Some(" ")),
            false,
            400,
            Some(name),
        ));
        cases.push((
            "duplicate aws header",
            add(g(), name, "x"),
            false,
            400,
            Some(name),
        ));
    }
    for region in [
        "us-east-1.evil.example",
        "us-east-1/..",
        "us-east-1\r\nx: y",
        "us-east-1@evil.example",
        "US-EAST-1",
        "evil.example#",
    ] {
        cases.push((
            "region injection",
            set(g(), "aws-region-name", Some(region)),
            false,
            400,
            Some("aws-region-name"),
        ));
    }
    cases.push((
        "blank session token",
        add(g(), "aws-session-token", ""),
        false,
        400,
        Some("aws-session-token"),
    ));
    for (name, headers, end, status, param) in cases {
        let mut ex = Exchange::new(config());
        let out = feed(&mut ex, Event::ReqHeaders(headers.clone(), end));
        let body = assert_reply(name, &out, status, param);
        if status == 401 {
            assert_eq!(body["error"]["code"], "invalid_api_key", "{name}");
            assert_eq!(body["error"]["type"], "authentication_error", "{name}");
        }
        let all = haystack(&[out]);
        assert!(!all.contains(SECRET) && !all.contains(KEY), "{name}: {all}");
        assert_passes_through(name, &mut ex);
    }
}

#[test]
fn wrong_method_is_405_with_allow() {
    for method in ["GET", "PUT", "post"] {
        let mut ex = Exchange::new(config());
        let out = feed(
            &mut ex,
            Event::ReqHeaders(set(good_headers(), ":method", Some(method)), false),
        );
        let (status, headers, _) = local_reply(&out);
        assert_eq!(status, 405, "{method}");
        assert!(
            headers
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("allow") && v == "POST"),
            "{method}: {headers:?}"
        );
        assert_passes_through(method, &mut ex);
    }
}

#[test]
fn body_over_the_cap_is_413() {
    let cfg = config_with(r#","limits":{"max_request_bytes":1024}"#);
    // Progress crosses the cap before the end of the stream.
    let mut ex = Exchange::new(Rc::clone(&cfg));
    let outs = run_on(
        &mut ex,
        vec![
            Event::ReqHeaders(set(good_headers(), "content-length", None), false),
            Event::ReqBodyProgress(1000, false),
            Event::ReqBodyProgress(1025, false),
        ],
    );
    assert_eq!(outs[1], pause());
    assert_reply("progress over cap", &outs[2], 413, None);
    assert_passes_through("progress over cap", &mut ex);

    // Exactly the cap is fine; one more byte at the end is not.
    let outs = run(
        Rc::clone(&cfg),
        vec![
            Event::ReqHeaders(set(good_headers(), "content-length", None), false),
            Event::ReqBodyProgress(1024, true),
        ],
    );
    assert_eq!(outs[1], Out::Ready);
    let outs = run(
        Rc::clone(&cfg),
        vec![
            Event::ReqHeaders(set(good_headers(), "content-length", None), false),
            Event::ReqBodyProgress(1025, true),
        ],
    );
    assert_reply("end over cap", &outs[1], 413, None);

    // Declared content-length over the cap fails at the headers.
    let mut ex = Exchange::new(cfg);
    let out = feed(
        &mut ex,
        Event::ReqHeaders(set(good_headers(), "content-length", Some("1025")), false),
    );
    assert_reply("content-length over cap", &out, 413, None);
    assert_passes_through("content-length over cap", &mut ex);
}

#[test]
fn body_errors_are_local_replies_and_nothing_is_forwarded() {
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("not json", b"{not json".to_vec(), 400, "body"),
        ("empty", Vec::new(), 400, "body"),
        ("array", b"[]".to_vec(), 400, "body"),
        (
            "nested 10000 deep",
            format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
            400,
            "body",
        ),
        (
            "temperature 3",
            json!({"model": SEED_MODEL, "messages": [{"role": "user", "content": "x"}], "temperature": 3})
                .to_string()
                .into_bytes(),
            400,
            "temperature",
        ),
        (
            "unknown model",
            json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]})
                .to_string()
                .into_bytes(),
            404,
            "model",
        ),
        (
            "bad role",
            json!({"model": SEED_MODEL, "messages": [{"role": "user", "content": "x"}, {"role": "bot", "content": "y"}]})
                .to_string()
                .into_bytes(),
            400,
            "messages.[1].role",
        ),
        (
            "only system",
            json!({"model": SEED_MODEL, "messages": [{"role": "system", "content": "x"}]})
                .to_string()
                .into_bytes(),
            400,
            "messages",
        ),
    ];
    for (name, body, status, param) in cases {
        let mut ex = Exchange::new(config());
        let outs = run_on(&mut ex, request_script(good_headers(), &body));
        assert_eq!(outs[2], Out::Ready, "{name}");
        assert_reply(name, &outs[3], status, Some(param));
        assert_passes_through(name, &mut ex);
    }
}

// ---------------------------------------------------------------- upstream answers

/// Runs the seed request, then `status`/`headers`/`body` from upstream; returns the last step.
fn upstream_answer(
    headers_in: Vec<(String, String)>,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Step {
    let mut ex = Exchange::new(config());
    let mut script = request_script(headers_in, SEED.as_bytes());
    script.extend(response_script(status, owned(headers), body));
    let outs = run_on(&mut ex, script);
    assert_eq!(
        outs[4].step().verdict,
        Verdict::Pause,
        "response headers held"
    );
    assert_eq!(outs[5], pause());
    assert_eq!(outs[7], Out::Ready);
    let last = outs[8].step().clone();
    // Later callbacks pass through.
    assert_eq!(feed(&mut ex, Event::RespBody(b"x".to_vec(), true)), go());
    last
}

/// The status the client sees and the OpenAI error body of an answer.
fn client_view(step: &Step, upstream_status: u16) -> (u16, Value) {
    let status = match resp_set(&step.effects, ":status").as_slice() {
        [] => upstream_status,
        [s] => s.parse().unwrap(),
        many => panic!("status set twice: {many:?}"),
    };
    let body = response_body(&step.effects);
    assert_eq!(
        resp_set(&step.effects, "content-length"),
        [body.len().to_string()]
    );
    (status, serde_json::from_slice(body).unwrap())
}

#[test]
fn upstream_errors_keep_their_meaning() {
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
fn upstream_error_never_echoes_credentials() {
    let message = format!(
        r#"{{"message":"The request signature we calculated does not match. Key {AKID} secret {SECRET} token {TOKEN}"}}"#
    );
    let step = upstream_answer(
        add(good_headers(), "aws-session-token", TOKEN),
        403,
        &[("x-amzn-errortype", "InvalidSignatureException")],
        message.as_bytes(),
    );
    let (status, v) = client_view(&step, 403);
    assert_eq!(status, 403);
    assert_eq!(v["error"]["type"], "authentication_error");
    let all = haystack(&[Out::Step(step)]);
    assert!(!all.contains(SECRET), "{all}");
    assert!(!all.contains(AKID), "{all}");
    assert!(!all.contains(TOKEN), "{all}");
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
fn header_names_that_are_not_tokens_are_never_echoed_in_effects() {
    // Found by fuzzing: a name with a line feed that starts like a credential header.
    let headers = add(good_headers(), "aws-session-toke{\n  \"model\"", "x");
    let step = Exchange::new(config()).on_request_headers(&headers, false);
    let text = haystack(&[Out::Step(step.clone())]);
    assert!(!text.contains('\n') || !text.contains("model"), "{text}");
    assert!(!text.contains("aws-session-toke"), "{text}");
    // The rewrite withholds it like any other `aws-*` header.
    let kept = host_request_headers(&headers, &[&step]);
    assert!(!kept.iter().any(|(k, _)| k.starts_with("aws-")), "{kept:?}");
}

// ---------------------------------------------------------------- the host refuses a write

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
    let _ = ex.on_request_headers(&set(good_headers(), "project-api-key", None), false);
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
