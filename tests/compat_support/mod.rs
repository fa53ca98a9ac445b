//! Helpers of the passthrough's tests (tests/compat.rs, tests/compat_answer.rs):
//! a configuration, a caller's headers, one request phase through the
//! exchange, what it set, and the signature AWS's own `aws-sigv4` gives.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use bedrock_openai_filter::config::Config;
use bedrock_openai_filter::exchange::{Effect, Exchange, Step};
use bedrock_openai_filter::policy::rate_limit::RateLimiter;
use serde_json::{json, Value};
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const KEY: &str = "test-project-key";
pub const KEY_SHA256: &str = "d749661188e7505ba96c87f623991d468dbbb04222ad81bcc7f5f5c110fb598e";
pub const AKID: &str = "AKIDEXAMPLE";
pub const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
pub const CHAT: &str = "/v1/amazon-bedrock/chat/completions";
/// 2024-01-02T03:04:05Z.
pub const NOW_SECS: u64 = 1_704_164_645;

pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

/// A config with one project (`policy` as its policy) and `extra` top-level fields.
pub fn config(policy: &str, extra: &str) -> Rc<Config> {
    let json = format!(
        r#"{{"version":1,"projects":[{{"name":"team-a","key_sha256":"{KEY_SHA256}"{policy}}}]{extra}}}"#
    );
    Rc::new(Config::from_json(json.as_bytes()).unwrap())
}

pub fn headers(path: &str, auth: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut h: Vec<(String, String)> = [
        (":method", "POST"),
        (":path", path),
        (":authority", "gateway.local"),
        ("content-type", "application/json"),
        ("Project-Api-Key", KEY),
        ("aws-region-name", "us-east-1"),
    ]
    .iter()
    .chain(auth)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    h.push(("x-request-id".into(), "rid-1".into()));
    h
}

pub const SIGV4: &[(&str, &str)] = &[
    ("aws-access-key-id", AKID),
    ("aws-secret-access-key", SECRET),
];

/// The request phase of one exchange; its last step (the planned call, or the error).
pub fn send<L: RateLimiter>(ex: &mut Exchange<L>, auth: &[(&str, &str)], body: &Value) -> Step {
    let h = headers(CHAT, auth);
    let first = ex.on_request_headers(&h, false);
    assert!(
        !first
            .effects
            .iter()
            .any(|e| matches!(e, Effect::LocalReply { .. })),
        "{first:?}"
    );
    let bytes = serde_json::to_vec(body).unwrap();
    ex.on_request_body(&bytes, now())
}

pub fn set<'a>(step: &'a Step, name: &str) -> Option<&'a str> {
    step.effects.iter().find_map(|e| match e {
        Effect::RewriteRequestHeaders { set } => set
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str()),
        _ => None,
    })
}

pub fn sent_body(step: &Step) -> Value {
    step.effects
        .iter()
        .find_map(|e| match e {
            Effect::ReplaceRequestBody(b) => Some(serde_json::from_slice(b).unwrap()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no body in {step:?}"))
}

pub fn reply(step: &Step) -> (u16, Value) {
    match &step.effects[..] {
        [Effect::LocalReply { status, body, .. }] => {
            (*status, serde_json::from_slice(body).unwrap())
        }
        other => panic!("expected a local reply, got {other:?}"),
    }
}

/// The authorization AWS's own signer gives the call `step` planned.
pub fn oracle(step: &Step, service: &str, region: &str) -> String {
    let authority = set(step, ":authority").unwrap();
    let path = set(step, ":path").unwrap();
    let body = step
        .effects
        .iter()
        .find_map(|e| match e {
            Effect::ReplaceRequestBody(b) => Some(b.clone()),
            _ => None,
        })
        .unwrap();
    let identity = AwsCredentials::new(AKID, SECRET, None, None, "oracle").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(
        "POST",
        format!("https://{authority}{path}"),
        [("content-type", "application/json"), ("host", authority)].into_iter(),
        SignableBody::Bytes(&body),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let (headers, _) = instructions.into_parts();
    headers
        .into_iter()
        .find(|h| h.name() == "authorization")
        .map(|h| h.value().to_string())
        .unwrap()
}

pub fn chat(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Hi"}], "temperature": 0.25})
}

/// A token budget that records what was spent.
#[derive(Default)]
pub struct Spent(pub Vec<u64>);

impl RateLimiter for Spent {
    fn acquire(&mut self, _: &str, _: u32) -> Result<(), u64> {
        Ok(())
    }
    fn tokens_left(&mut self, _: &str, _: u64) -> Result<(), u64> {
        Ok(())
    }
    fn spend_tokens(&mut self, _: &str, tokens: u64) {
        self.0.push(tokens);
    }
}

pub fn budget() -> Rc<Config> {
    config(r#","policy":{"tokens_per_minute":1000}"#, "")
}

pub fn body_out(steps: &[Step]) -> Vec<u8> {
    steps
        .iter()
        .flat_map(|s| &s.effects)
        .filter_map(|e| match e {
            Effect::ReplaceResponseBody(b) => Some(b.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}
