//! Bedrock (and Envoy) error answers turned into OpenAI-shaped errors.

use crate::error::ApiError;
use serde::Deserialize;

/// The longest upstream message echoed to the caller, in bytes.
const MAX_MESSAGE: usize = 1024;

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(alias = "Message")]
    message: Option<String>,
}

/// Name from an `x-amzn-ErrorType` value: `ThrottlingException:http://...` → `ThrottlingException`.
pub fn error_name(header: &str) -> &str {
    header.split(':').next().unwrap_or(header).trim()
}

/// OpenAI `type` and `code` for a Bedrock error name (or, unknown, for its status).
fn classify(name: &str, status: u16) -> (&'static str, &'static str) {
    match name {
        "AccessDeniedException" => ("permission_error", "access_denied"),
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "IncompleteSignatureException"
        | "MissingAuthenticationTokenException"
        | "ExpiredTokenException"
        | "InvalidClientTokenId"
        | "SignatureDoesNotMatch" => ("authentication_error", "invalid_aws_credentials"),
        "ValidationException" => ("invalid_request_error", "bedrock_validation_error"),
        "ResourceNotFoundException" => ("not_found_error", "model_not_found"),
        "ModelTimeoutException" => ("timeout_error", "model_timeout"),
        "ModelErrorException" => ("api_error", "model_error"),
        "ThrottlingException" => ("rate_limit_error", "rate_limit_exceeded"),
        "ModelNotReadyException" => ("rate_limit_error", "model_not_ready"),
        "ServiceQuotaExceededException" => ("rate_limit_error", "quota_exceeded"),
        "InternalServerException" => ("api_error", "internal_error"),
        "ServiceUnavailableException" => ("api_error", "service_unavailable"),
        _ => by_status(status),
    }
}

fn by_status(status: u16) -> (&'static str, &'static str) {
    match status {
        400 => ("invalid_request_error", "upstream_bad_request"),
        401 | 403 => ("authentication_error", "upstream_auth_error"),
        404 => ("not_found_error", "upstream_not_found"),
        408 | 504 => ("timeout_error", "upstream_timeout"),
        413 => ("invalid_request_error", "request_too_large"),
        429 => ("rate_limit_error", "rate_limit_exceeded"),
        502 | 503 => ("api_error", "upstream_unavailable"),
        _ => ("api_error", "upstream_error"),
    }
}

/// Builds the OpenAI error for a non-2xx upstream answer.
///
/// `error_type` is the `x-amzn-ErrorType` header (absent when Envoy itself
/// answered: no upstream, upstream timeout). Every string in `secrets` is
/// removed from the message before it can reach the caller.
pub fn from_upstream(
    status: u16,
    error_type: Option<&str>,
    body: &[u8],
    secrets: &[&str],
) -> ApiError {
    let name = error_type.map(error_name).unwrap_or("");
    let (kind, code) = classify(name, status);
    let detail = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody { message: Some(m) }) => m,
        _ => String::from_utf8_lossy(body).trim().to_string(),
    };
    let mut message = match (detail.is_empty(), name.is_empty()) {
        (true, true) => format!("Upstream answered {status} with no message."),
        (true, false) => format!("Upstream answered {status} {name} with no message."),
        (false, true) => format!("Upstream answered {status}: {detail}"),
        (false, false) => format!("Bedrock {name}: {detail}"),
    };
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        if message.contains(*s) {
            message = message.replace(*s, "[redacted]");
        }
    }
    truncate(&mut message, MAX_MESSAGE);
    // Statuses outside 4xx/5xx would confuse clients; report them as a gateway error.
    let status = if (400..600).contains(&status) {
        status
    } else {
        502
    };
    ApiError::new(status, kind, code, message)
}

fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut at = max;
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s.truncate(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_status_and_maps_type() {
        let cases = [
            ("AccessDeniedException", 403, "permission_error"),
            ("ValidationException", 400, "invalid_request_error"),
            ("ThrottlingException", 429, "rate_limit_error"),
            ("ModelTimeoutException", 408, "timeout_error"),
            ("ResourceNotFoundException", 404, "not_found_error"),
            ("ModelErrorException", 424, "api_error"),
            ("ServiceUnavailableException", 503, "api_error"),
            ("InternalServerException", 500, "api_error"),
            ("InvalidSignatureException", 403, "authentication_error"),
        ];
        for (name, status, kind) in cases {
            let header = format!("{name}:http://internal.amazon.com/coral/com.amazon.bedrock/");
            let e = from_upstream(status, Some(&header), br#"{"message":"boom"}"#, &[]);
            assert_eq!((e.status, e.kind), (status, kind), "{name}");
            assert_eq!(e.message, format!("Bedrock {name}: boom"));
        }
    }

    #[test]
    fn envoy_local_reply_without_error_type() {
        let e = from_upstream(504, None, b"upstream request timeout", &[]);
        assert_eq!(
            (e.status, e.kind, &*e.code),
            (504, "timeout_error", "upstream_timeout")
        );
        assert!(e.message.contains("upstream request timeout"));
    }

    #[test]
    fn redacts_secrets_and_truncates() {
        let body = format!(
            r#"{{"message":"key AKIA123456 secret s3cr3t {}"}}"#,
            "x".repeat(5000)
        );
        let e = from_upstream(
            403,
            Some("UnrecognizedClientException"),
            body.as_bytes(),
            &["AKIA123456", "s3cr3t"],
        );
        assert!(!e.message.contains("AKIA123456") && !e.message.contains("s3cr3t"));
        assert!(e.message.len() <= MAX_MESSAGE);
    }
}
