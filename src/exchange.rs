//! The per-request state machine: host events in, effects out.
//!
//! The shell feeds each Envoy callback to an [`Exchange`] and applies the
//! returned [`Step`]. Nothing here calls the host, reads a clock or panics.

use crate::bedrock::error::from_upstream;
use crate::caller::{authenticate, check_request, must_strip, Caller};
use crate::config::Config;
use crate::error::ApiError;
use crate::eventstream::DEFAULT_MAX_BUFFERED;
use crate::openai::request;
use crate::sigv4::{sign_request, SignRequest};
use crate::translate::replay;
use crate::translate::request::to_converse;
use crate::translate::response::{to_chat_completion, ResponseContext};
use crate::translate::stream::{StreamContext, StreamTranslator};
use crate::upstream;
use std::borrow::Cow;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

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
    fn go() -> Step {
        Step {
            effects: Vec::new(),
            verdict: Verdict::Continue,
        }
    }

    fn wait() -> Step {
        Step {
            effects: Vec::new(),
            verdict: Verdict::Pause,
        }
    }

    fn reply(err: &ApiError) -> Step {
        let mut headers = Vec::new();
        if err.status == 405 {
            headers.push(("allow", "POST".to_string()));
        }
        Step {
            effects: vec![Effect::LocalReply {
                status: err.status,
                headers,
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

/// What the response phase needs to know about the request.
#[derive(Debug)]
struct Pending {
    caller: Caller,
    model: &'static str,
    created: u64,
    mode: Mode,
    include_usage: bool,
}

/// How the answer travels back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// JSON in, JSON out.
    Json,
    /// Event stream in, SSE out, piece by piece.
    Stream,
    /// JSON in (the model cannot stream this request), SSE out.
    Replay,
}

#[derive(Debug)]
struct Buffering {
    pending: Pending,
    status: u16,
    error_type: Option<String>,
    aws_request_id: Option<String>,
}

#[derive(Debug)]
enum State {
    AwaitHeaders,
    AwaitBody(Caller),
    AwaitResponse(Pending),
    BufferResponse(Buffering),
    Streaming(Box<StreamTranslator>),
    /// Answered locally or handed over: later callbacks pass through.
    Done,
}

/// One request/response through the filter.
#[derive(Debug)]
pub struct Exchange {
    config: Rc<Config>,
    state: State,
}

impl Exchange {
    /// A new exchange under `config`.
    pub fn new(config: Rc<Config>) -> Exchange {
        Exchange {
            config,
            state: State::AwaitHeaders,
        }
    }

    /// The project of an authenticated caller, for logs and metrics.
    pub fn project(&self) -> Option<&str> {
        match &self.state {
            State::AwaitBody(c) => Some(&c.project),
            State::AwaitResponse(p) => Some(&p.caller.project),
            State::BufferResponse(b) => Some(&b.pending.caller.project),
            State::Streaming(_) => None,
            _ => None,
        }
    }

    fn fail(&mut self, err: &ApiError) -> Step {
        self.state = State::Done;
        Step::reply(err)
    }

    /// Request headers arrived (`end_of_stream`: there is no body).
    pub fn on_request_headers(
        &mut self,
        headers: &[(String, String)],
        end_of_stream: bool,
    ) -> Step {
        if !matches!(self.state, State::AwaitHeaders) {
            return Step::go();
        }
        let config = Rc::clone(&self.config);
        let caller =
            match authenticate(&config, headers).and_then(|p| check_request(&config, p, headers)) {
                Ok(c) => c,
                Err(e) => return self.fail(&e),
            };
        if end_of_stream {
            return self.fail(&ApiError::invalid("body", "The request has no body."));
        }
        let mut step = Step::wait();
        let mut seen: Vec<&str> = Vec::new();
        for (name, _) in headers {
            if must_strip(name) && !seen.iter().any(|s| s.eq_ignore_ascii_case(name)) {
                seen.push(name);
                step.effects
                    .push(Effect::RemoveRequestHeader(Cow::Owned(name.clone())));
            }
        }
        self.state = State::AwaitBody(caller);
        step
    }

    /// `size` bytes of request body are buffered so far.
    pub fn on_request_body_progress(&mut self, size: usize, end_of_stream: bool) -> BodyProgress {
        if !matches!(self.state, State::AwaitBody(_)) {
            return BodyProgress::Wait(Step::go());
        }
        if size > self.config.max_request_bytes {
            let err = ApiError::too_large(self.config.max_request_bytes);
            return BodyProgress::Wait(self.fail(&err));
        }
        if end_of_stream {
            BodyProgress::Ready
        } else {
            BodyProgress::Wait(Step::wait())
        }
    }

    /// The whole request body; translates, signs and forwards it.
    pub fn on_request_body(&mut self, body: &[u8], now: SystemTime) -> Step {
        let State::AwaitBody(caller) = std::mem::replace(&mut self.state, State::Done) else {
            return Step::go();
        };
        match self.forward(caller, body, now) {
            Ok(step) => step,
            Err(e) => self.fail(&e),
        }
    }

    fn forward(&mut self, caller: Caller, body: &[u8], now: SystemTime) -> Result<Step, ApiError> {
        let req = request::parse(body)?;
        let model = req.model.id;
        let stream = req.stream;
        let include_usage = req.include_usage;
        let timeout = req
            .timeout_seconds
            .unwrap_or(self.config.max_timeout_seconds)
            .min(self.config.max_timeout_seconds);
        let tools_streaming = req.model.tools_streaming;
        let converse = to_converse(req)?;
        let mode = match (stream, converse.tool_config.is_some() && !tools_streaming) {
            (false, _) => Mode::Json,
            (true, false) => Mode::Stream,
            (true, true) => Mode::Replay,
        };
        let stream = mode == Mode::Stream;
        let payload = serde_json::to_vec(&converse)
            .map_err(|e| ApiError::internal(format!("could not encode the Converse body: {e}")))?;
        let authority = upstream::authority(self.config.endpoint.as_ref(), &caller.region);
        let path = upstream::converse_path(model, stream);
        let signed = sign_request(
            &SignRequest {
                authority: &authority,
                path: &path,
                body: &payload,
                region: &caller.region,
            },
            &caller.credentials,
            now,
        )
        .map_err(|e| ApiError::invalid("aws-secret-access-key", e.to_string()))?;
        let mut effects = Vec::with_capacity(signed.len() + 8);
        effects.push(Effect::SetRequestHeader(":path".into(), path));
        effects.push(Effect::SetRequestHeader(":authority".into(), authority));
        effects.push(Effect::SetRequestHeader(
            "content-type".into(),
            "application/json".into(),
        ));
        effects.push(Effect::SetRequestHeader(
            "content-length".into(),
            payload.len().to_string(),
        ));
        let accept = if stream {
            "application/vnd.amazon.eventstream"
        } else {
            "application/json"
        };
        effects.push(Effect::SetRequestHeader("accept".into(), accept.into()));
        effects.push(Effect::SetRequestHeader(
            "x-envoy-upstream-rq-timeout-ms".into(),
            (timeout * 1000).to_string(),
        ));
        for (name, value) in signed {
            effects.push(Effect::SetRequestHeader(Cow::Borrowed(name), value));
        }
        effects.push(Effect::ReplaceRequestBody(payload));
        let created = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.state = State::AwaitResponse(Pending {
            caller,
            model,
            created,
            mode,
            include_usage,
        });
        Ok(Step {
            effects,
            verdict: Verdict::Continue,
        })
    }

    /// Response headers arrived.
    pub fn on_response_headers(&mut self, status: u16, headers: &[(String, String)]) -> Step {
        let State::AwaitResponse(pending) = std::mem::replace(&mut self.state, State::Done) else {
            return Step::go();
        };
        let find = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        if pending.mode == Mode::Stream && status == 200 {
            let ctx = stream_context(find("x-amzn-requestid").as_deref(), &pending);
            let translator = StreamTranslator::new(ctx, DEFAULT_MAX_BUFFERED);
            self.state = State::Streaming(Box::new(translator));
            return Step {
                effects: vec![
                    Effect::RemoveResponseHeader("content-length".into()),
                    Effect::SetResponseHeader("content-type".into(), "text/event-stream".into()),
                    Effect::SetResponseHeader("cache-control".into(), "no-cache".into()),
                ],
                verdict: Verdict::Continue,
            };
        }
        self.state = State::BufferResponse(Buffering {
            pending,
            status,
            error_type: find("x-amzn-errortype"),
            aws_request_id: find("x-amzn-requestid"),
        });
        Step {
            effects: vec![Effect::RemoveResponseHeader("content-length".into())],
            verdict: Verdict::Pause,
        }
    }

    /// `size` bytes of response body are buffered so far (or, streaming, just arrived).
    pub fn on_response_body_progress(&mut self, _size: usize, end_of_stream: bool) -> BodyProgress {
        match &self.state {
            State::Streaming(_) => BodyProgress::Ready,
            State::BufferResponse(_) if end_of_stream => BodyProgress::Ready,
            State::BufferResponse(_) => BodyProgress::Wait(Step::wait()),
            _ => BodyProgress::Wait(Step::go()),
        }
    }

    /// Response body: the whole body when buffering, each piece when streaming.
    pub fn on_response_body(&mut self, body: &[u8], end_of_stream: bool) -> Step {
        match std::mem::replace(&mut self.state, State::Done) {
            State::BufferResponse(b) => rewrite_buffered(b, body),
            State::Streaming(mut tr) => {
                let mut out = tr.feed(body);
                if end_of_stream {
                    out.extend(tr.finish());
                } else {
                    self.state = State::Streaming(tr);
                }
                Step {
                    effects: vec![Effect::ReplaceResponseBody(out)],
                    verdict: Verdict::Continue,
                }
            }
            other => {
                self.state = other;
                Step::go()
            }
        }
    }
}

/// Rewrites a buffered Converse answer or error into OpenAI's shape.
fn rewrite_buffered(b: Buffering, body: &[u8]) -> Step {
    if b.status == 200 && b.pending.mode == Mode::Replay {
        let ctx = stream_context(b.aws_request_id.as_deref(), &b.pending);
        if let Ok(sse) = replay::to_sse(body, &ctx) {
            return Step {
                effects: vec![
                    Effect::SetResponseHeader("content-type".into(), "text/event-stream".into()),
                    Effect::SetResponseHeader("cache-control".into(), "no-cache".into()),
                    Effect::SetResponseHeader("content-length".into(), sse.len().to_string()),
                    Effect::ReplaceResponseBody(sse),
                ],
                verdict: Verdict::Continue,
            };
        }
    }
    let result = if b.status == 200 {
        let id = response_id(b.aws_request_id.as_deref(), &b.pending);
        let ctx = ResponseContext {
            id: &id,
            model: b.pending.model,
            created: b.pending.created,
        };
        to_chat_completion(body, &ctx)
    } else {
        let creds = &b.pending.caller.credentials;
        let mut secrets = vec![
            creds.access_key_id.as_str(),
            creds.secret_access_key.as_str(),
        ];
        secrets.extend(creds.session_token.as_deref());
        Err(from_upstream(
            b.status,
            b.error_type.as_deref(),
            body,
            &secrets,
        ))
    };
    let (status, json) = match result {
        Ok(json) => (200, json),
        Err(e) => (e.status, e.to_json()),
    };
    let mut effects = Vec::with_capacity(4);
    if status != b.status {
        effects.push(Effect::SetResponseHeader(
            ":status".into(),
            status.to_string(),
        ));
    }
    effects.push(Effect::SetResponseHeader(
        "content-type".into(),
        "application/json".into(),
    ));
    effects.push(Effect::SetResponseHeader(
        "content-length".into(),
        json.len().to_string(),
    ));
    effects.push(Effect::ReplaceResponseBody(json));
    Step {
        effects,
        verdict: Verdict::Continue,
    }
}

fn stream_context(aws_request_id: Option<&str>, pending: &Pending) -> StreamContext {
    StreamContext {
        id: response_id(aws_request_id, pending),
        model: pending.model,
        created: pending.created,
        include_usage: pending.include_usage,
    }
}

/// `chatcmpl-` + Bedrock's request id, else Envoy's `x-request-id`, else the creation time.
fn response_id(aws_request_id: Option<&str>, pending: &Pending) -> String {
    match aws_request_id.or(pending.caller.request_id.as_deref()) {
        Some(rid) => format!("chatcmpl-{rid}"),
        None => format!("chatcmpl-{}", pending.created),
    }
}
