//! Drives one Responses exchange: a config with a project and an item key,
//! the caller's headers, the body, and Bedrock's answer.

use bedrock_openai_filter::config::Config;
use bedrock_openai_filter::exchange::{BodyProgress, Effect, Exchange, Step};
use serde_json::{json, Value};
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const KEY: &str = "test-project-key";
const KEY_SHA256: &str = "d749661188e7505ba96c87f623991d468dbbb04222ad81bcc7f5f5c110fb598e";
pub const ITEM_KEY: &str = "an item key of at least thirty-two characters";
pub const SONNET: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
pub const HAIKU: &str = "anthropic.claude-3-haiku-20240307-v1:0";

pub fn config_with(item_key: Option<&str>) -> Rc<Config> {
    let responses = item_key
        .map(|k| format!(r#","responses":{{"item_key":"{k}"}}"#))
        .unwrap_or_default();
    let json = format!(
        r#"{{"version":1,"projects":[{{"name":"team-a","key_sha256":"{KEY_SHA256}"}}]{responses}}}"#
    );
    Rc::new(Config::from_json(json.as_bytes()).unwrap())
}

pub fn config() -> Rc<Config> {
    config_with(Some(ITEM_KEY))
}

pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_704_164_645)
}

pub fn headers(method: &str, path: &str) -> Vec<(String, String)> {
    [
        (":method", method),
        (":path", path),
        (":authority", "gateway.local"),
        ("content-type", "application/json"),
        ("project-api-key", KEY),
        ("aws-access-key-id", "AKIDEXAMPLE"),
        (
            "aws-secret-access-key",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        ),
        ("aws-region-name", "us-east-1"),
        ("x-request-id", "rid-1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// An exchange that has taken the request `body` (a Responses request).
pub struct Run {
    pub ex: Exchange,
    pub body_step: Step,
}

pub fn send_with(config: Rc<Config>, body: &Value) -> Run {
    let mut ex = Exchange::new(config);
    let bytes = body.to_string().into_bytes();
    let step = ex.on_request_headers(&headers("POST", "/v1/amazon-bedrock/responses"), false);
    assert!(
        !step
            .effects
            .iter()
            .any(|e| matches!(e, Effect::LocalReply { .. })),
        "refused at the headers: {step:?}"
    );
    assert_eq!(
        ex.on_request_body_progress(bytes.len(), true),
        BodyProgress::Ready
    );
    let body_step = ex.on_request_body(&bytes, now());
    Run { ex, body_step }
}

pub fn send(body: &Value) -> Run {
    send_with(config(), body)
}

/// The local reply of a refused request: (status, body).
pub fn refusal(step: &Step) -> (u16, Value) {
    for e in &step.effects {
        if let Effect::LocalReply { status, body, .. } = e {
            return (*status, serde_json::from_slice(body).unwrap());
        }
    }
    panic!("no local reply: {step:?}")
}

/// The Converse body the request became.
pub fn converse_body(step: &Step) -> Value {
    for e in &step.effects {
        if let Effect::ReplaceRequestBody(b) = e {
            return serde_json::from_slice(b).unwrap();
        }
    }
    panic!("no request body: {step:?}")
}

/// The upstream path the request went to.
pub fn upstream_path(step: &Step) -> String {
    for e in &step.effects {
        if let Effect::RewriteRequestHeaders { set } = e {
            if let Some((_, v)) = set.iter().find(|(k, _)| k == ":path") {
                return v.clone();
            }
        }
    }
    panic!("no path: {step:?}")
}

/// The client's view of a buffered upstream answer: (status, body bytes).
pub fn answer(run: &mut Run, status: u16, body: &[u8]) -> (u16, Vec<u8>) {
    let h = [
        (":status".to_string(), status.to_string()),
        ("content-type".to_string(), "application/json".to_string()),
        ("x-amzn-requestid".to_string(), "req-42".to_string()),
    ];
    let _ = run.ex.on_response_headers(status, &h, false);
    let _ = run.ex.on_response_body_progress(body.len(), true);
    let step = run.ex.on_response_body(body, true);
    let mut out_status = status;
    let mut out = Vec::new();
    for e in step.effects {
        match e {
            Effect::SetResponseHeader(k, v) if k == ":status" => out_status = v.parse().unwrap(),
            Effect::ReplaceResponseBody(b) => out = b,
            _ => {}
        }
    }
    (out_status, out)
}

/// The client's view of a streamed answer fed in `pieces`: the SSE bytes.
pub fn stream(run: &mut Run, pieces: &[&[u8]]) -> String {
    let h = [
        (":status".to_string(), "200".to_string()),
        (
            "content-type".to_string(),
            "application/vnd.amazon.eventstream".to_string(),
        ),
        ("x-amzn-requestid".to_string(), "req-42".to_string()),
    ];
    let _ = run.ex.on_response_headers(200, &h, false);
    let mut out = Vec::new();
    for (i, p) in pieces.iter().enumerate() {
        let end = i + 1 == pieces.len();
        let _ = run.ex.on_response_body_progress(p.len(), end);
        for e in run.ex.on_response_body(p, end).effects {
            if let Effect::ReplaceResponseBody(b) = e {
                out.extend(b);
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// The events of an SSE body: (the `event:` line's type, the data JSON).
pub fn events(sse: &str) -> Vec<(String, Value)> {
    sse.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let mut lines = e.lines();
            let kind = lines
                .next()
                .unwrap()
                .strip_prefix("event: ")
                .unwrap()
                .to_string();
            let data: Value =
                serde_json::from_str(lines.next().unwrap().strip_prefix("data: ").unwrap())
                    .unwrap();
            assert_eq!(data["type"], json!(kind), "event line and type agree");
            (kind, data)
        })
        .collect()
}

/// A Converse answer body with `content` blocks and `stop`.
pub fn converse(content: Value, stop: &str) -> Vec<u8> {
    json!({
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop,
        "usage": {"inputTokens": 20, "outputTokens": 9, "totalTokens": 36,
                  "cacheReadInputTokens": 5, "cacheWriteInputTokens": 2},
        "metrics": {"latencyMs": 100}
    })
    .to_string()
    .into_bytes()
}
