//! The per-request state machine: host events in, effects out.
//!
//! The shell feeds each Envoy callback to an [`Exchange`] and applies the
//! returned [`Step`]. Nothing here calls the host, reads a clock or panics.

use crate::answer::{rewrite_buffered, stream_context, Buffering, Mode, Pending};
use crate::caller::{authenticate, check_request, must_strip, Caller};
use crate::config::Config;
use crate::error::ApiError;
use crate::eventstream::DEFAULT_MAX_BUFFERED;
use crate::openai::request;
use crate::sigv4::{sign_request, SignRequest};
use crate::translate::request::to_converse;
use crate::translate::stream::StreamTranslator;
use crate::upstream;
use std::borrow::Cow;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

pub use crate::step::{BodyProgress, Effect, Name, Step, Verdict};

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
    ///
    /// `end_of_stream`: the answer has no body (then a buffered answer is
    /// rewritten at once, as a local reply).
    pub fn on_response_headers(
        &mut self,
        status: u16,
        headers: &[(String, String)],
        end_of_stream: bool,
    ) -> Step {
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
        let buffering = Buffering {
            pending,
            status,
            error_type: find("x-amzn-errortype"),
            aws_request_id: find("x-amzn-requestid"),
        };
        if end_of_stream {
            return rewrite_buffered(&buffering, b"").into_local_reply();
        }
        self.state = State::BufferResponse(buffering);
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
            State::BufferResponse(b) => rewrite_buffered(&b, body).into_body_step(b.status),
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
