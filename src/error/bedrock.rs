//! Bedrock's (and Envoy's) error answers turned into OpenAI-shaped errors.
//!
//! One table serves both ways an error arrives: a non-2xx answer with an
//! `x-amzn-ErrorType` header (`ThrottlingException`), and an exception frame
//! inside a ConverseStream (`throttlingException`, lowerCamel).

use super::ApiError;
use crate::secret::Redactor;
use serde::Deserialize;

/// One Bedrock exception: its status (used inside a stream, where the HTTP
/// status was already 200), OpenAI `type` and `code`.
struct Exception {
    name: &'static str,
    status: u16,
    kind: &'static str,
    code: &'static str,
}

const fn exception(
    name: &'static str,
    status: u16,
    kind: &'static str,
    code: &'static str,
) -> Exception {
    Exception {
        name,
        status,
        kind,
        code,
    }
}

/// Converse's and ConverseStream's declared errors (botocore), plus the
/// AWS-wide authentication errors (BEDROCK.md "Responses").
const EXCEPTIONS: &[Exception] = &[
    exception(
        "AccessDeniedException",
        403,
        "permission_error",
        "access_denied",
    ),
    exception(
        "UnrecognizedClientException",
        403,
        "authentication_error",
        "invalid_aws_credentials",
    ),
    exception(
        "InvalidSignatureException",
        403,
        "authentication_error",
        "invalid_aws_credentials",
    ),
    exception(
        "IncompleteSignatureException",
        403,
        "authentication_error",
        "invalid_aws_credentials",
    ),
    exception(
        "MissingAuthenticationTokenException",
        403,
        "authentication_error",
        "invalid_aws_credentials",
    ),
    exception(
        "ExpiredTokenException",
        403,
        "authentication_error",
        "invalid_aws_credentials",
    ),
    exception(
        "InvalidClientTokenId",
        403,
        "authentication_error",
        "invalid_aws_credentials",
    ),
    exception(
        "SignatureDoesNotMatch",
        403,
        "authentication_error",
        "invalid_aws_credentials",
    ),
    exception(
        "ValidationException",
        400,
        "invalid_request_error",
        "bedrock_validation_error",
    ),
    exception(
        "ResourceNotFoundException",
        404,
        "not_found_error",
        "model_not_found",
    ),
    exception(
        "ModelTimeoutException",
        408,
        "timeout_error",
        "model_timeout",
    ),
    exception("ModelErrorException", 424, "api_error", "model_error"),
    exception(
        "ModelStreamErrorException",
        424,
        "api_error",
        "model_stream_error",
    ),
    exception(
        "ThrottlingException",
        429,
        "rate_limit_error",
        "rate_limit_exceeded",
    ),
    exception(
        "ModelNotReadyException",
        429,
        "rate_limit_error",
        "model_not_ready",
    ),
    exception(
        "ServiceQuotaExceededException",
        429,
        "rate_limit_error",
        "quota_exceeded",
    ),
    exception(
        "InternalServerException",
        500,
        "api_error",
        "internal_error",
    ),
    exception(
        "ServiceUnavailableException",
        503,
        "api_error",
        "service_unavailable",
    ),
];

/// The table row of `name`, in either case of its first letter.
fn find(name: &str) -> Option<&'static Exception> {
    EXCEPTIONS
        .iter()
        .find(|e| e.name.eq_ignore_ascii_case(name))
}

/// OpenAI `type` and `code` for a status with no known exception name
/// (Envoy's own answers: no upstream, upstream timeout).
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

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(alias = "Message")]
    message: Option<String>,
}

/// Name from an `x-amzn-ErrorType` value: `ThrottlingException:http://...` → `ThrottlingException`.
pub fn error_name(header: &str) -> &str {
    header.split(':').next().unwrap_or(header).trim()
}

/// Builds the OpenAI error for a non-2xx upstream answer.
///
/// `error_type` is the `x-amzn-ErrorType` header (absent when Envoy itself
/// answered: no upstream, upstream timeout). Bedrock's status is kept. Every
/// secret `redactor` knows is removed from the message before it can reach
/// the caller.
pub fn from_upstream(
    status: u16,
    error_type: Option<&str>,
    body: &[u8],
    redactor: &Redactor,
) -> ApiError {
    let name = error_type.map(error_name).unwrap_or("");
    let (kind, code) = match find(name) {
        Some(e) => (e.kind, e.code),
        None => by_status(status),
    };
    let detail = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody { message: Some(m) }) => m,
        _ => String::from_utf8_lossy(body).trim().to_string(),
    };
    let message = match (detail.is_empty(), name.is_empty()) {
        (true, true) => format!("Upstream answered {status} with no message."),
        (true, false) => format!("Upstream answered {status} {name} with no message."),
        (false, true) => format!("Upstream answered {status}: {detail}"),
        (false, false) => format!("Bedrock {name}: {detail}"),
    };
    // Statuses outside 4xx/5xx would confuse clients; report them as a gateway error.
    let status = if (400..600).contains(&status) {
        status
    } else {
        502
    };
    ApiError::new(status, kind, code, redactor.redact(message))
}

/// Builds the OpenAI error for an exception frame inside a ConverseStream
/// (`name` as in `:exception-type`, e.g. `throttlingException`).
pub fn from_stream_exception(name: &str, message: &str) -> ApiError {
    let (status, kind, code) = match find(name) {
        Some(e) => (e.status, e.kind, e.code),
        None => (500, "api_error", "internal_error"),
    };
    ApiError::new(status, kind, code, format!("Bedrock {name}: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::MAX_MESSAGE_BYTES;

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
            let e = from_upstream(
                status,
                Some(&header),
                br#"{"message":"boom"}"#,
                &Redactor::default(),
            );
            assert_eq!((e.status, e.kind), (status, kind), "{name}");
            assert_eq!(e.message, format!("Bedrock {name}: boom"));
        }
    }

    #[test]
    fn one_table_for_both_paths() {
        for e in EXCEPTIONS {
            let lower = format!("{}{}", e.name[..1].to_ascii_lowercase(), &e.name[1..]);
            let streamed = from_stream_exception(&lower, "m");
            let buffered = from_upstream(e.status, Some(e.name), b"{}", &Redactor::default());
            assert_eq!(
                (streamed.status, streamed.kind, &streamed.code),
                (buffered.status, buffered.kind, &buffered.code),
                "{}",
                e.name
            );
        }
        assert_eq!(from_stream_exception("somethingNew", "m").status, 500);
    }

    #[test]
    fn envoy_local_reply_without_error_type() {
        let e = from_upstream(504, None, b"upstream request timeout", &Redactor::default());
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
            &Redactor::new(["AKIA123456", "s3cr3t"]),
        );
        assert!(!e.message.contains("AKIA123456") && !e.message.contains("s3cr3t"));
        assert!(e.message.len() <= MAX_MESSAGE_BYTES);
    }
}
