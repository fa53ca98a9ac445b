//! What the core asks the shell to do after one host callback.

use crate::error::ApiError;
pub use crate::header::Name;
use std::time::Duration;

/// One upstream call the filter makes itself, host-neutral: the proxy-wasm
/// shell makes it with `dispatch_http_call`, a dynamic-module shell with its
/// HTTP callout; either answers it through
/// [`Exchange::on_callout_response`](crate::exchange::Exchange::on_callout_response)
/// with this `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callout {
    /// The exchange's own id for the call (the shell maps its host's token to it).
    pub id: u32,
    /// The Envoy cluster the call goes through.
    pub cluster: String,
    /// Every header, `:method`, `:path` and `:authority` included.
    pub headers: Vec<(Name, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// How long the host waits for the whole answer before it fails the call.
    pub timeout: Duration,
}

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
    /// Make these calls (in order), each answered later through
    /// [`Exchange::on_callout_response`](crate::exchange::Exchange::on_callout_response).
    /// The request itself stays paused and is never forwarded; the exchange
    /// answers it with a [`Effect::LocalReply`] once the calls are done. A
    /// call the host refuses ends the request with an error (the calls made
    /// before it are abandoned: their answers are ignored).
    Dispatch {
        /// The calls, in the order they are made.
        calls: Vec<Callout>,
    },
    /// Answer locally; nothing goes upstream. Also the answer of a request
    /// whose calls the filter made itself, sent from the callout callback.
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
            Effect::RewriteRequestHeaders { .. }
                | Effect::ReplaceRequestBody(_)
                | Effect::Dispatch { .. }
        )
    }
}
