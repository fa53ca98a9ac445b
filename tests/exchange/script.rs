//! The harness: the project's config and the caller's headers, host events
//! fed to an `Exchange` one at a time (`Event` in, `Out` back), and the seed
//! request and answer most tests start from.

use bedrock_openai_filter::config::Config;
use bedrock_openai_filter::exchange::{BodyProgress, Exchange, Step, Verdict};
use serde_json::json;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The project key callers send; `KEY_SHA256` is `printf %s test-project-key | sha256sum`.
pub const KEY: &str = "test-project-key";
pub const KEY_SHA256: &str = "d749661188e7505ba96c87f623991d468dbbb04222ad81bcc7f5f5c110fb598e";
pub const AKID: &str = "AKIDEXAMPLE";
pub const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
pub const TOKEN: &str = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN";
pub const PATH: &str = "/v1/amazon-bedrock/chat/completions";
pub const SEED_MODEL: &str = "meta.llama3-8b-instruct-v1:0";
pub const SEED: &str = include_str!("../fixtures/seed.openai.json");
pub const SEED_CONVERSE: &str = include_str!("../fixtures/seed.converse.json");
/// 2024-01-02T03:04:05Z.
pub const NOW_SECS: u64 = 1_704_164_645;

/// A config with one project for `KEY`; `extra` is spliced in as more top-level fields.
pub fn config_with(extra: &str) -> Rc<Config> {
    let json = format!(
        r#"{{"version":1,"projects":[{{"name":"team-a","key_sha256":"{KEY_SHA256}"}}]{extra}}}"#
    );
    Rc::new(Config::from_json(json.as_bytes()).unwrap())
}

pub fn config() -> Rc<Config> {
    config_with("")
}

pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

pub fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// What a well-behaved client sends, with a few bystander headers.
pub fn good_headers() -> Vec<(String, String)> {
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
pub fn set(mut h: Vec<(String, String)>, name: &str, value: Option<&str>) -> Vec<(String, String)> {
    h.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    if let Some(v) = value {
        h.push((name.to_string(), v.to_string()));
    }
    h
}

pub fn add(mut h: Vec<(String, String)>, name: &str, value: &str) -> Vec<(String, String)> {
    h.push((name.to_string(), value.to_string()));
    h
}

/// One host callback.
#[derive(Debug, Clone)]
pub enum Event {
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
pub enum Out {
    Step(Step),
    Ready,
}

impl Out {
    pub fn step(&self) -> &Step {
        match self {
            Out::Step(s) => s,
            Out::Ready => panic!("expected a step, got Ready"),
        }
    }
}

pub fn feed(ex: &mut Exchange, event: Event) -> Out {
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

pub fn run_on(ex: &mut Exchange, script: Vec<Event>) -> Vec<Out> {
    script.into_iter().map(|e| feed(ex, e)).collect()
}

pub fn run(config: Rc<Config>, script: Vec<Event>) -> Vec<Out> {
    run_on(&mut Exchange::new(config), script)
}

pub fn pause() -> Out {
    Out::Step(Step {
        effects: Vec::new(),
        verdict: Verdict::Pause,
    })
}

pub fn go() -> Out {
    Out::Step(Step {
        effects: Vec::new(),
        verdict: Verdict::Continue,
    })
}

/// Request side up to and including `on_request_body`, body in two chunks.
pub fn request_script(headers: Vec<(String, String)>, body: &[u8]) -> Vec<Event> {
    let half = body.len() / 2;
    vec![
        Event::ReqHeaders(headers, false),
        Event::ReqBodyProgress(half, false),
        Event::ReqBodyProgress(body.len(), true),
        Event::ReqBody(body.to_vec()),
    ]
}

/// Response side: headers, `body` in three progress events, then the whole body.
pub fn response_script(status: u16, headers: Vec<(String, String)>, body: &[u8]) -> Vec<Event> {
    let n = body.len();
    vec![
        Event::RespHeaders(status, headers),
        Event::RespBodyProgress(n / 3, false),
        Event::RespBodyProgress(2 * n / 3, false),
        Event::RespBodyProgress(n, true),
        Event::RespBody(body.to_vec(), true),
    ]
}

/// After a local reply every later callback passes through with no effects.
pub fn assert_passes_through(name: &str, ex: &mut Exchange) {
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

/// A Converse answer body.
pub fn converse_ok(text: &str) -> Vec<u8> {
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
pub fn seed_script(headers: Vec<(String, String)>) -> Vec<Event> {
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

/// Runs the seed request, then `status`/`headers`/`body` from upstream; returns the last step.
pub fn upstream_answer(
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

#[test]
fn key_hash_constant_matches_the_key() {
    use sha2::{Digest, Sha256};
    let hex: String = Sha256::digest(KEY.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(hex, KEY_SHA256);
}
