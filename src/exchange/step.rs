//! What the core asks the shell to do after one host callback.

use crate::error::ApiError;
pub use crate::header::Name;

/// One change the shell applies to the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Replace the request header map with
    /// [`upstream_headers`](crate::header::withheld::upstream_headers) of the
    /// caller's headers (as the header callback saw them) and `set`, in one
    /// host call. With nothing set, it only withholds the caller's secrets.
    RewriteRequestHeaders {
        /// Headers of the upstream call, replacing any of the same name.
        set: Vec<(Name, String)>,
    },
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

impl Effect {
    /// Whether the effect changes the request on its way upstream (a refusal
    /// of such a change must never let the request go on).
    pub fn is_request_side(&self) -> bool {
        matches!(
            self,
            Effect::RewriteRequestHeaders { .. } | Effect::ReplaceRequestBody(_)
        )
    }
}
