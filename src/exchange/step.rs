//! What the core asks the shell to do after one host callback.

use crate::error::ApiError;
use crate::header::HeaderPair;
use std::borrow::Cow;

/// A header name: static for the ones we set, owned for the caller's.
pub type Name = Cow<'static, str>;

/// One change the shell applies to the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Set (replace) a request header.
    SetRequestHeader(Name, String),
    /// Remove a request header.
    RemoveRequestHeader(Name),
    /// Replace the whole request body.
    ReplaceRequestBody(Vec<u8>),
    /// Set (replace) a response header.
    SetResponseHeader(Name, String),
    /// Remove a response header.
    RemoveResponseHeader(Name),
    /// Replace the response body buffered so far.
    ReplaceResponseBody(Vec<u8>),
    /// Answer locally; nothing goes upstream.
    LocalReply {
        /// HTTP status.
        status: u16,
        /// Extra headers (content-type is set).
        headers: Vec<(&'static str, String)>,
        /// Body bytes.
        body: Vec<u8>,
    },
}

/// Whether Envoy goes on with the current phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Let the headers or data go on.
    Continue,
    /// Hold them (waiting for the body, or after a local reply).
    Pause,
}

/// What the shell does after one callback.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Step {
    /// Applied in order.
    pub effects: Vec<Effect>,
    /// Returned to Envoy.
    pub verdict: Verdict,
}

impl Step {
    pub(crate) fn go() -> Step {
        Step {
            effects: Vec::new(),
            verdict: Verdict::Continue,
        }
    }

    pub(crate) fn wait() -> Step {
        Step {
            effects: Vec::new(),
            verdict: Verdict::Pause,
        }
    }

    pub(crate) fn reply(err: &ApiError) -> Step {
        Step {
            effects: vec![Effect::LocalReply {
                status: err.status,
                headers: err.headers.clone(),
                body: err.to_json(),
            }],
            verdict: Verdict::Pause,
        }
    }
}

/// Answer to "here is how much body has arrived".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyProgress {
    /// Read the whole body buffered so far and pass it in.
    Ready,
    /// Nothing to read yet; apply this step.
    Wait(Step),
}

/// The request headers after a step's header effects, applied in order (a
/// set replaces every header of that name, case-insensitively), so that the
/// shell can replace the whole map with one host call instead of one per
/// header. Borrows from both: nothing is copied.
pub fn merge_request_headers<'a, H: HeaderPair>(
    headers: &'a [H],
    effects: &'a [Effect],
) -> Vec<(&'a str, &'a str)> {
    let mut merged: Vec<(&str, &str)> = Vec::with_capacity(headers.len() + effects.len());
    merged.extend(headers.iter().map(|h| (h.name(), h.value())));
    for effect in effects {
        match effect {
            Effect::SetRequestHeader(name, value) => {
                merged.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
                merged.push((name, value));
            }
            Effect::RemoveRequestHeader(name) => {
                merged.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
            }
            _ => {}
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_sets_and_removes_in_order_case_insensitively() {
        let h = vec![
            (":path".to_string(), "/v1".to_string()),
            ("Project-Api-Key".to_string(), "k".to_string()),
            ("x-keep".to_string(), "1".to_string()),
        ];
        let effects = [
            Effect::RemoveRequestHeader("project-api-key".into()),
            Effect::SetRequestHeader(":path".into(), "/model/x/converse".into()),
            Effect::SetRequestHeader("authorization".into(), "AWS4".into()),
            Effect::ReplaceRequestBody(Vec::new()),
        ];
        assert_eq!(
            merge_request_headers(&h, &effects),
            vec![
                ("x-keep", "1"),
                (":path", "/model/x/converse"),
                ("authorization", "AWS4"),
            ]
        );
    }
}
