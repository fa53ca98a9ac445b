//! The error answers of Bedrock's OpenAI-compatible endpoints, kept as they
//! are: their status, and their `{"error": {...}}` body with its message
//! cleared of any secret the request carried.
//!
//! Both endpoints answer OpenAI-shaped errors (`{"error": {"message",
//! "type", "param", "code"}}`, e.g. mantle's 400 `validation_error` for a
//! model that does not serve an API). What AWS's front door answers before
//! them (a bad signature, an unknown API key) is Bedrock's usual
//! `x-amzn-ErrorType` error, read by [`super::bedrock::from_upstream`].

use super::bedrock::from_upstream;
use super::{clip, ApiError, MAX_ECHO_CHARS};
use crate::secret::Redactor;
use serde_json::Value;

/// The `type`s OpenAI's SDKs know, as the static strings an [`ApiError`] holds.
const KINDS: [&str; 9] = [
    "invalid_request_error",
    "authentication_error",
    "permission_error",
    "not_found_error",
    "rate_limit_error",
    "api_error",
    "timeout_error",
    "conflict_error",
    "server_error",
];

/// A short code or param from an upstream answer: kept when it is a plain
/// name (letters, digits, `_.-[]`), dropped otherwise.
fn plain(s: &str) -> Option<String> {
    let s = clip(s, MAX_ECHO_CHARS);
    (!s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-[]".contains(&b)))
    .then(|| s.to_string())
}

/// Builds the OpenAI error for a non-2xx answer of an OpenAI-compatible
/// endpoint: its status, `type`, `code`, `param` and message (secrets
/// `redactor` knows removed); a body of another shape goes through Bedrock's
/// exception table.
pub fn from_openai_upstream(
    status: u16,
    error_type: Option<&str>,
    body: &[u8],
    redactor: &Redactor,
) -> ApiError {
    let parsed = serde_json::from_slice::<Value>(body).ok();
    let Some(error) = parsed
        .as_ref()
        .and_then(|v| v.get("error"))
        .filter(|e| e.is_object())
    else {
        return from_upstream(status, error_type, body, redactor);
    };
    let text = |key: &str| error.get(key).and_then(Value::as_str);
    let mut e = from_upstream(status, error_type, b"", redactor);
    if let Some(kind) = text("type").and_then(|k| KINDS.iter().find(|x| **x == k)) {
        e.kind = kind;
    }
    let code = match error.get("code") {
        Some(Value::String(c)) => plain(c),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    if let Some(code) = code {
        e.code = code.into();
    }
    e.param = text("param").and_then(plain).map(Into::into);
    let mut message = redactor.redact(format!(
        "Bedrock: {}",
        text("message").unwrap_or("(no message)")
    ));
    super::truncate(&mut message, super::MAX_MESSAGE_BYTES);
    e.message = message;
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_status_type_code_and_param() {
        let body = br#"{"error":{"code":"validation_error","message":"The model 'anthropic.claude-opus-4-7' does not support the '/v1/chat/completions' API","param":null,"type":"invalid_request_error"}}"#;
        let e = from_openai_upstream(400, None, body, &Redactor::default());
        assert_eq!(
            (e.status, e.kind, &*e.code, e.param.as_deref()),
            (400, "invalid_request_error", "validation_error", None)
        );
        assert!(e
            .message
            .starts_with("Bedrock: The model 'anthropic.claude-opus-4-7'"));
        let e = from_openai_upstream(
            404,
            None,
            br#"{"error":{"message":"The model 'openai.gpt-5.5' does not exist","type":"weird","param":"model","code":"model_not_found"}}"#,
            &Redactor::default(),
        );
        assert_eq!(
            (e.status, e.kind, &*e.code, e.param.as_deref()),
            (404, "not_found_error", "model_not_found", Some("model"))
        );
    }

    #[test]
    fn other_shapes_go_through_bedrocks_table_and_secrets_never_pass() {
        let e = from_openai_upstream(
            403,
            Some("InvalidSignatureException:http://x"),
            br#"{"message":"bad sig for AKIAEXAMPLE1"}"#,
            &Redactor::new(["AKIAEXAMPLE1"]),
        );
        assert_eq!((e.status, e.kind), (403, "authentication_error"));
        assert!(!e.message.contains("AKIAEXAMPLE1"));
        let e = from_openai_upstream(
            429,
            None,
            br#"{"error":{"message":"slow down, key ABSKsecretsecret","code":"<script>"}}"#,
            &Redactor::new(["ABSKsecretsecret"]),
        );
        assert_eq!(
            (e.status, e.kind, &*e.code),
            (429, "rate_limit_error", "rate_limit_exceeded")
        );
        assert!(!e.message.contains("ABSKsecretsecret"));
    }
}
