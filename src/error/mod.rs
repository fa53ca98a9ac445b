//! OpenAI-shaped errors: the only place where a failure gets its HTTP status.

pub mod bedrock;

use serde::Serialize;
use std::borrow::Cow;

/// An error that leaves the filter as `{"error": {...}}` with `status`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {kind}: {message}")]
pub struct ApiError {
    /// HTTP status code of the reply.
    pub status: u16,
    /// OpenAI `error.type` (e.g. `invalid_request_error`).
    pub kind: &'static str,
    /// OpenAI `error.code` (e.g. `invalid_api_key`).
    pub code: Cow<'static, str>,
    /// OpenAI `error.param`: the request field or header at fault, if any.
    pub param: Option<Cow<'static, str>>,
    /// Human-readable message; never holds a credential or key.
    pub message: String,
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    code: &'a str,
}

impl ApiError {
    /// Builds an error with every field given.
    pub fn new(
        status: u16,
        kind: &'static str,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            kind,
            code: code.into(),
            param: None,
            message: message.into(),
        }
    }

    /// 400 `invalid_request_error` about the request field or header `param`.
    pub fn invalid(param: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(400, "invalid_request_error", "invalid_request", message).with_param(param)
    }

    /// 401 for a missing or unknown project key.
    pub fn invalid_api_key(message: &str) -> Self {
        Self::new(401, "authentication_error", "invalid_api_key", message)
            .with_param("Project-Api-Key")
    }

    /// 413 for a request body over the configured cap.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            413,
            "invalid_request_error",
            "request_too_large",
            format!("Request body exceeds the gateway limit of {limit} bytes."),
        )
    }

    /// 500 for a condition the gateway itself cannot handle.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "api_error", "gateway_error", message)
    }

    /// Sets `param`.
    #[must_use]
    pub fn with_param(mut self, param: impl Into<Cow<'static, str>>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// Serializes the OpenAI error body.
    pub fn to_json(&self) -> Vec<u8> {
        let envelope = Envelope {
            error: Body {
                message: &self.message,
                kind: self.kind,
                param: self.param.as_deref(),
                code: &self.code,
            },
        };
        // Serializing a struct of strings cannot fail; fall back to a fixed body anyway.
        serde_json::to_vec(&envelope).unwrap_or_else(|_| {
            br#"{"error":{"message":"internal error","type":"api_error","param":null,"code":"gateway_error"}}"#.to_vec()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_openai_shape() {
        let e = ApiError::invalid("temperature", "temperature must be between 0 and 2");
        let v: serde_json::Value = serde_json::from_slice(&e.to_json()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"error": {"message": "temperature must be between 0 and 2",
                "type": "invalid_request_error", "param": "temperature", "code": "invalid_request"}})
        );
        assert_eq!(e.status, 400);
    }

    #[test]
    fn param_is_null_when_absent() {
        let v: serde_json::Value =
            serde_json::from_slice(&ApiError::internal("x").to_json()).unwrap();
        assert!(v["error"]["param"].is_null());
    }
}
