//! OpenAI-shaped errors: the only place where a failure gets its HTTP status.
//!
//! Every refusal the filter makes is built by one of the named constructors
//! below; Bedrock's own errors go through the one exception table in
//! [`bedrock`]. An error carries the reply headers it needs (`Retry-After`,
//! `Allow`), so nothing downstream looks at a status to add them.

pub mod bedrock;
pub mod openai;

use serde::Serialize;
use std::borrow::Cow;

/// The longest message an error carries, in bytes (upstream messages are cut to it).
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// The longest piece of caller-supplied text echoed in a message, in characters.
pub const MAX_ECHO_CHARS: usize = 64;

/// An error that leaves the filter as `{"error": {...}}` with `status`.
///
/// Boxed, so that every `Result<_, ApiError>` on the hot path stays one
/// pointer wide (the error is the rare case); its fields read through
/// [`ErrorDetail`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError(Box<ErrorDetail>);

impl std::ops::Deref for ApiError {
    type Target = ErrorDetail;
    fn deref(&self) -> &ErrorDetail {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ErrorDetail {
        &mut self.0
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.kind, self.message)
    }
}

impl std::error::Error for ApiError {}

/// What an [`ApiError`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorDetail {
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
    /// Reply headers this error needs besides `content-type` (`retry-after`, `allow`).
    pub headers: Vec<(&'static str, String)>,
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

/// The first `max` characters of `s`: caller-supplied text echoed in a message.
pub fn clip(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((at, _)) => s.get(..at).unwrap_or(s),
        None => s,
    }
}

/// Cuts `s` to at most `max` bytes, at a character boundary.
pub fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut at = max;
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s.truncate(at);
    }
}

impl ApiError {
    fn new(
        status: u16,
        kind: &'static str,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self::build(status, kind, code.into(), message.into())
    }

    // Errors are the cold path of every check: built out of line, once, so
    // that the hundreds of call sites stay small in the `.wasm`.
    #[cold]
    #[inline(never)]
    fn build(
        status: u16,
        kind: &'static str,
        code: Cow<'static, str>,
        mut message: String,
    ) -> Self {
        truncate(&mut message, MAX_MESSAGE_BYTES);
        ApiError(Box::new(ErrorDetail {
            status,
            kind,
            code,
            param: None,
            message,
            headers: Vec::new(),
        }))
    }

    /// 400 `invalid_request_error` about the request field or header `param`.
    pub fn invalid(param: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::invalid_owned(param.into(), message.into())
    }

    #[cold]
    #[inline(never)]
    fn invalid_owned(param: Cow<'static, str>, message: String) -> Self {
        let mut e = Self::build(
            400,
            "invalid_request_error",
            "invalid_request".into(),
            message,
        );
        e.param = Some(param);
        e
    }

    /// 401 for a missing, unknown or duplicated project key.
    pub fn invalid_api_key(message: &str) -> Self {
        Self::new(401, "authentication_error", "invalid_api_key", message)
            .with_param("Project-Api-Key")
    }

    /// 404 for a path this gateway does not serve.
    pub fn unknown_url(message: impl Into<String>) -> Self {
        Self::new(404, "invalid_request_error", "unknown_url", message)
    }

    /// 404 for a stored response: the gateway keeps none.
    pub fn not_stored() -> Self {
        Self::new(
            404,
            "invalid_request_error",
            "not_found",
            "This gateway keeps no state, so it stores no responses: a response exists only in the answer that carried it. Send the whole conversation in `input` of a new request.",
        )
    }

    /// 405 for the wrong method on a served path, with `Allow: allowed`.
    pub fn method_not_allowed(allowed: &'static str, path: &str) -> Self {
        let mut e = Self::new(
            405,
            "invalid_request_error",
            "method_not_allowed",
            format!(
                "Only {allowed} is allowed on {}.",
                clip(path, MAX_ECHO_CHARS)
            ),
        );
        e.headers.push(("allow", allowed.to_string()));
        e
    }

    /// 415 for a body that is not sent as JSON.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            415,
            "invalid_request_error",
            "unsupported_media_type",
            "The request body must be sent as `Content-Type: application/json`.",
        )
        .with_param("Content-Type")
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

    /// 404 for a model id the gateway does not know.
    pub fn model_not_found(id: &str) -> Self {
        Self::new(
            404,
            "invalid_request_error",
            "model_not_found",
            format!(
                "The model `{}` is not supported by this gateway.",
                clip(id, MAX_ECHO_CHARS)
            ),
        )
        .with_param("model")
    }

    /// 400 for a model asked for through an API or endpoint that does not
    /// serve it; `message` names the one that does.
    pub fn wrong_endpoint(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_request_error", "wrong_endpoint", message).with_param("model")
    }

    /// 400 for a field that needs state the gateway does not keep
    /// (`previous_response_id`, `conversation`, `background`).
    pub fn stateless(param: &'static str) -> Self {
        Self::new(
            400,
            "invalid_request_error",
            "unsupported_parameter",
            format!("`{param}` needs a response stored by the server; this gateway keeps no state: send the whole conversation in `input` instead."),
        )
        .with_param(param)
    }

    /// 403 for a model outside the project's `allowed_models`.
    pub fn model_not_allowed(project: &str, model: &str) -> Self {
        Self::new(
            403,
            "permission_error",
            "model_not_allowed",
            format!(
                "Project `{project}` may not use model `{}`.",
                clip(model, MAX_ECHO_CHARS)
            ),
        )
        .with_param("model")
    }

    /// 429 for a project over its per-minute budget of `what` (e.g. "requests"),
    /// with `Retry-After` (seconds to the next window).
    pub fn rate_limited(project: &str, limit: u64, what: &str, retry_after: u64) -> Self {
        let mut e = Self::new(
            429,
            "rate_limit_error",
            "rate_limit_exceeded",
            format!("Project `{project}` is limited to {limit} {what} per minute."),
        );
        e.headers.push(("retry-after", retry_after.to_string()));
        e
    }

    /// 429 from Envoy's rate-limit filter: the limit the gateways share
    /// (Envoy's global rate-limit service), not Bedrock's.
    pub fn fleet_rate_limited(project: &str) -> Self {
        Self::new(
            429,
            "rate_limit_error",
            "rate_limit_exceeded",
            format!("Project `{project}` has used its limit shared by the gateways (Envoy's rate limit service) for now; retry in a minute."),
        )
    }

    /// 500 for a condition the gateway itself cannot handle.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "api_error", "gateway_error", message)
    }

    /// 500 when the host refused a change to the request on its way out, so
    /// nothing was forwarded; `cause` names what is likely misconfigured.
    pub fn host_refused(what: &str, cause: &str) -> Self {
        Self::new(
            500,
            "api_error",
            "gateway_misconfigured",
            format!("The gateway could not {what}, so the request was not sent: {cause}"),
        )
    }

    /// 502 for an upstream answer the filter would have to buffer beyond its cap.
    pub fn response_too_large(limit: usize) -> Self {
        Self::new(
            502,
            "api_error",
            "response_too_large",
            format!("Bedrock's answer exceeds the gateway limit of {limit} bytes for a non-streamed answer; ask for `stream: true` or fewer tokens."),
        )
    }

    /// Envoy answered with `status` (one of its own timeouts or limits)
    /// before the request body reached the filter, so nothing went upstream.
    pub fn body_never_arrived(status: u16) -> Self {
        match status {
            408 => Self::new(
                408,
                "invalid_request_error",
                "request_timeout",
                "The request body did not arrive in time.",
            ),
            413 => Self::new(
                413,
                "invalid_request_error",
                "request_too_large",
                "The request body exceeds Envoy's buffer limit.",
            ),
            _ => Self::new(
                if (400..600).contains(&status) { status } else { 500 },
                "api_error",
                "gateway_misconfigured",
                format!("Envoy answered {status} before the request body reached the gateway's filter, so nothing was sent to Bedrock. If every request fails like this, the wasm plugin lacks `allow_on_headers_stop_iteration: true` (Envoy >= 1.35)."),
            ),
        }
    }

    /// 504 for a batch of the filter's own calls that did not finish within
    /// its `seconds` (the request's `timeout`, capped).
    pub fn batch_timeout(seconds: u64) -> Self {
        Self::new(
            504,
            "timeout_error",
            "upstream_timeout",
            format!("Bedrock did not answer every call of this request within its timeout of {seconds} s; send fewer inputs or a larger `timeout`."),
        )
    }

    /// Envoy answered `status` on its own (e.g. its listener's
    /// `request_timeout`) while the filter's own calls were still running.
    /// Envoy's status is kept (it answers the headers itself).
    pub fn batch_cut_short(status: u16) -> Self {
        Self::new(
            if (400..600).contains(&status) { status } else { 504 },
            "timeout_error",
            "upstream_timeout",
            format!("Envoy ended the request ({status}) before Bedrock had answered every call of it, e.g. at its listener's request_timeout; send fewer inputs or raise it."),
        )
    }

    /// 500 when the host refused to make one of the filter's own calls
    /// through `cluster`: nothing partial is answered.
    pub fn dispatch_refused(cluster: &str) -> Self {
        Self::new(
            500,
            "api_error",
            "gateway_misconfigured",
            format!("Envoy refused to call Bedrock through cluster `{}`; the plugin configuration's upstream.cluster (or envoy_signer.cluster) must name a cluster Envoy has.", clip(cluster, MAX_ECHO_CHARS)),
        )
    }

    /// 503 for one of the filter's own calls that ended with no answer (a
    /// reset, a refused connection).
    pub fn callout_unanswered() -> Self {
        Self::new(
            503,
            "api_error",
            "upstream_unavailable",
            "A call to Bedrock ended before it answered (connection refused or reset).",
        )
    }

    /// 502 for a 200 answer from Bedrock that is not what was asked for
    /// (a Converse response, an embeddings answer, an OpenAI object).
    pub fn bad_upstream_response(message: impl Into<String>) -> Self {
        Self::new(502, "api_error", "bad_upstream_response", message)
    }

    /// 502 for a ConverseStream answer that broke (bad frame, cut short).
    pub fn bad_upstream_stream(detail: &str) -> Self {
        Self::new(
            502,
            "api_error",
            "bad_upstream_stream",
            format!("Bedrock stream failed: {detail}"),
        )
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

/// What a serde_json error says about a body from upstream, without any
/// of the body's text: serde's own message can quote a value (`invalid type:
/// string "..."`), and a value Bedrock echoes could hold a secret the
/// request carried. The kind of fault and where it is.
pub fn json_fault(e: &serde_json::Error) -> String {
    let what = match e.classify() {
        serde_json::error::Category::Io => "unreadable",
        serde_json::error::Category::Syntax => "not valid JSON",
        serde_json::error::Category::Data => "not of the expected shape",
        serde_json::error::Category::Eof => "cut short",
    };
    format!("{what} at line {}, column {}", e.line(), e.column())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_faults_quote_nothing_of_the_body() {
        let e = serde_json::from_slice::<Vec<f32>>(br#"["AKIASECRETVALUE0001"]"#).unwrap_err();
        let fault = json_fault(&e);
        assert!(!fault.contains("AKIASECRETVALUE0001"), "{fault}");
        assert!(
            e.to_string().contains("AKIASECRETVALUE0001"),
            "serde's own message quotes it"
        );
        assert_eq!(fault, "not of the expected shape at line 1, column 22");
        let e = serde_json::from_slice::<Vec<f32>>(b"[1.0,").unwrap_err();
        assert_eq!(json_fault(&e), "cut short at line 1, column 5");
    }

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

    #[test]
    fn reply_headers_travel_with_the_error() {
        assert_eq!(
            ApiError::rate_limited("p", 3, "requests", 17).headers,
            vec![("retry-after", "17".to_string())]
        );
        assert_eq!(
            ApiError::method_not_allowed("POST", "/x").headers,
            vec![("allow", "POST".to_string())]
        );
        assert!(ApiError::invalid("x", "y").headers.is_empty());
    }

    #[test]
    fn messages_are_cut_at_a_char_boundary() {
        let e = ApiError::internal("é".repeat(MAX_MESSAGE_BYTES));
        assert!(e.message.len() <= MAX_MESSAGE_BYTES);
        assert!(e.message.chars().all(|c| c == 'é'));
        assert_eq!(clip("abcdef", 3), "abc");
        assert_eq!(clip("ab", 3), "ab");
    }
}
