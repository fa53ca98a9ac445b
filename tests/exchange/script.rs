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

/// The config with one project (`team-a`, key `KEY`) and nothing else.
pub fn config() -> Rc<Config> {
    config_with("")
}

/// The clock every request is signed at: `NOW_SECS`.
pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

/// Request or response headers as the host hands them over, in order.
pub type Headers = Vec<(String, String)>;

/// `pairs` as owned headers.
pub fn owned(pairs: &[(&str, &str)]) -> Headers {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// What a well-behaved client sends, with a few bystander headers.
pub fn good_headers() -> Headers {
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

/// Edits of a header list, named for what they do to the caller's request:
/// `good_headers().without("project-api-key").with(":path", "/x")`.
pub trait HeaderEdits {
    /// Every `name` (any case) replaced by one `name: value`, at the end.
    fn with(self, name: &str, value: &str) -> Self;
    /// Every `name` (any case) removed.
    fn without(self, name: &str) -> Self;
    /// One more `name: value` at the end, beside any already there.
    fn plus(self, name: &str, value: &str) -> Self;
}

impl HeaderEdits for Headers {
    fn with(self, name: &str, value: &str) -> Self {
        self.without(name).plus(name, value)
    }

    fn without(mut self, name: &str) -> Self {
        self.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self
    }

    fn plus(mut self, name: &str, value: &str) -> Self {
        self.push((name.to_string(), value.to_string()));
        self
    }
}

/// One host callback.
#[derive(Debug, Clone)]
pub enum Event {
    /// The caller's headers; `true` when they end the stream (no body).
    ReqHeaders(Headers, bool),
    /// The request body has grown to this many bytes; `true` at its end.
    ReqBodyProgress(usize, bool),
    /// The whole request body, asked for once it is `Ready`.
    ReqBody(Vec<u8>),
    /// Upstream's status and headers, a body to follow.
    RespHeaders(u16, Headers),
    /// Response headers with no body after them.
    RespHeadersOnly(u16, Headers),
    /// The response body has grown to this many bytes; `true` at its end.
    RespBodyProgress(usize, bool),
    /// Response body bytes; `true` at the end of the stream.
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

/// Hands `event` to the exchange as the host would, and what it answered.
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

/// Feeds each event of `script` in turn; one answer per event.
pub fn run_on(ex: &mut Exchange, script: Vec<Event>) -> Vec<Out> {
    script.into_iter().map(|e| feed(ex, e)).collect()
}

/// [`run_on`] a new exchange under `config`.
pub fn run(config: Rc<Config>, script: Vec<Event>) -> Vec<Out> {
    run_on(&mut Exchange::new(config), script)
}

/// No effects; wait.
pub fn pause() -> Out {
    Out::Step(Step {
        effects: Vec::new(),
        verdict: Verdict::Pause,
    })
}

/// No effects; carry on.
pub fn go() -> Out {
    Out::Step(Step {
        effects: Vec::new(),
        verdict: Verdict::Continue,
    })
}

/// Request side up to and including `on_request_body`, body in two chunks.
pub fn request_script(headers: Headers, body: &[u8]) -> Vec<Event> {
    let half = body.len() / 2;
    vec![
        Event::ReqHeaders(headers, false),
        Event::ReqBodyProgress(half, false),
        Event::ReqBodyProgress(body.len(), true),
        Event::ReqBody(body.to_vec()),
    ]
}

/// Response side: headers, `body` in three progress events, then the whole body.
pub fn response_script(status: u16, headers: Headers, body: &[u8]) -> Vec<Event> {
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
pub fn seed_script(headers: Headers) -> Vec<Event> {
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
    headers_in: Headers,
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

#[test]
fn header_edits_replace_in_any_case_remove_in_any_case_and_append() {
    let h = owned(&[("A", "1"), ("b", "2"), ("a", "3")]);
    assert_eq!(h.clone().with("a", "4"), owned(&[("b", "2"), ("a", "4")]));
    assert_eq!(h.clone().without("B"), owned(&[("A", "1"), ("a", "3")]));
    assert_eq!(
        h.plus("A", "5"),
        owned(&[("A", "1"), ("b", "2"), ("a", "3"), ("A", "5")])
    );
}
