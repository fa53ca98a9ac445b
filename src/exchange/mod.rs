//! The per-request state machine: host events in, effects out.
//!
//! The shell feeds each Envoy callback to an [`Exchange`] and applies the
//! returned [`Step`]. Nothing here calls the host, reads a clock or panics.

pub mod record;
pub mod step;

use crate::answer::buffered::{
    rewrite_buffered, stream_context, Buffering, Mode, Pending, Rewritten,
};
use crate::answer::eventstream::DEFAULT_MAX_BUFFERED;
use crate::answer::stream::StreamTranslator;
use crate::bedrock::converse::GuardrailConfig;
use crate::config::{Config, Project};
use crate::error::ApiError;
use crate::exchange::record::Record;
use crate::header::{first, HeaderPair};
use crate::policy::rate_limit::{RateLimiter, Unlimited};
use crate::request::caller::{
    authenticate, check_request, is_header_token, must_strip, route, Caller, Route,
};
use crate::request::converse::to_converse;
use crate::request::parse;
use crate::request::sigv4::{sign_request, SignRequest, SigningKeys};
use crate::request::upstream;
use serde::Serialize;
use std::borrow::Cow;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

pub use crate::exchange::step::{BodyProgress, Effect, Name, Step, Verdict};

#[derive(Debug)]
enum State {
    AwaitHeaders,
    /// The caller, and the removals of its secret headers: applied with the
    /// forwarded request's other header changes, in one host call (the
    /// headers stay paused until then; a refusal never forwards them).
    AwaitBody(Caller, Vec<Effect>),
    AwaitResponse(Pending),
    BufferResponse(Buffering),
    Streaming(Box<StreamTranslator>),
    /// Answered locally or handed over: later callbacks pass through.
    Done,
}

/// One request/response through the filter.
#[derive(Debug)]
pub struct Exchange<L: RateLimiter = Unlimited> {
    config: Rc<Config>,
    state: State,
    limiter: L,
    signing_keys: Rc<SigningKeys>,
    record: Record,
}

#[derive(Serialize)]
struct ModelList {
    object: &'static str,
    data: Vec<ModelEntry>,
}

#[derive(Serialize)]
struct ModelEntry {
    id: &'static str,
    object: &'static str,
    created: u64,
    owned_by: &'static str,
}

impl Exchange<Unlimited> {
    /// A new exchange under `config`, with no request-rate limit.
    pub fn new(config: Rc<Config>) -> Exchange<Unlimited> {
        Exchange::with_limiter(config, Unlimited)
    }
}

impl<L: RateLimiter> Exchange<L> {
    /// A new exchange whose per-minute limits are counted by `limiter`.
    pub fn with_limiter(config: Rc<Config>, limiter: L) -> Exchange<L> {
        Exchange {
            config,
            state: State::AwaitHeaders,
            limiter,
            signing_keys: Rc::new(SigningKeys::new()),
            record: Record::default(),
        }
    }

    /// Uses `keys` (shared by every exchange of this VM) to cache SigV4 signing keys.
    pub fn with_signing_keys(mut self, keys: Rc<SigningKeys>) -> Exchange<L> {
        self.signing_keys = keys;
        self
    }

    /// What this exchange did so far, for metrics and access logs.
    pub fn record(&self) -> &Record {
        &self.record
    }

    fn reply_models(&mut self, project: &Project) -> Step {
        self.state = State::Done;
        self.record.status = Some(200);
        let data: Vec<ModelEntry> = project
            .policy
            .models()
            .map(|m| ModelEntry {
                id: m.id,
                object: "model",
                created: 0,
                owned_by: "amazon-bedrock",
            })
            .collect();
        let body = serde_json::to_vec(&ModelList {
            object: "list",
            data,
        })
        .unwrap_or_default();
        Step {
            effects: vec![Effect::LocalReply {
                status: 200,
                headers: Vec::new(),
                body,
            }],
            verdict: Verdict::Pause,
        }
    }

    fn fail(&mut self, err: &ApiError) -> Step {
        self.state = State::Done;
        self.record.status = Some(err.status);
        self.record.rejected = Some(err.code.clone());
        Step::reply(err)
    }

    /// Request headers arrived (`end_of_stream`: there is no body).
    pub fn on_request_headers<H: HeaderPair>(
        &mut self,
        headers: &[H],
        end_of_stream: bool,
    ) -> Step {
        if !matches!(self.state, State::AwaitHeaders) {
            return Step::go();
        }
        let config = Rc::clone(&self.config);
        let (index, project) = match authenticate(&config, headers) {
            Ok(found) => found,
            Err(e) => return self.fail(&e),
        };
        self.record.project = Some(project.name.clone());
        let caller = match route(headers) {
            Ok(Route::Models) => return self.reply_models(project),
            Ok(Route::ChatCompletions) => check_request(&config, index, project, headers),
            Err(e) => Err(e),
        };
        let caller = match caller {
            Ok(c) => c,
            Err(e) => return self.fail(&e),
        };
        if let Some(per_minute) = project.policy.requests_per_minute {
            if let Err(retry_after) = self.limiter.acquire(&project.name, per_minute) {
                let err = ApiError::rate_limited(
                    &project.name,
                    u64::from(per_minute),
                    "requests",
                    retry_after,
                );
                return self.fail(&err);
            }
        }
        if end_of_stream {
            return self.fail(&ApiError::invalid("body", "The request has no body."));
        }
        let mut strip = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for name in headers.iter().map(HeaderPair::name) {
            if must_strip(name)
                && is_header_token(name)
                && !seen.iter().any(|s| s.eq_ignore_ascii_case(name))
            {
                seen.push(name);
                strip.push(Effect::RemoveRequestHeader(Cow::Owned(name.to_string())));
            }
        }
        self.state = State::AwaitBody(caller, strip);
        Step::wait()
    }

    /// `size` bytes of request body are buffered so far.
    pub fn on_request_body_progress(&mut self, size: usize, end_of_stream: bool) -> BodyProgress {
        if !matches!(self.state, State::AwaitBody(..)) {
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
        let State::AwaitBody(caller, strip) = std::mem::replace(&mut self.state, State::Done)
        else {
            return Step::go();
        };
        match self.forward(caller, strip, body, now) {
            Ok(step) => step,
            Err(e) => self.fail(&e),
        }
    }

    fn forward(
        &mut self,
        caller: Caller,
        strip: Vec<Effect>,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Step, ApiError> {
        let mut req = parse::parse(body)?;
        self.record.model = Some(req.model.id);
        let config = Rc::clone(&self.config);
        let mut guardrail = None;
        if let Some(project) = config.projects.get(caller.project_index) {
            project.policy.check_model(&project.name, req.model)?;
            req.sampling.max_tokens = project.policy.max_tokens(req.sampling.max_tokens)?;
            guardrail = project.policy.guardrail.as_ref().map(|g| GuardrailConfig {
                guardrail_identifier: g.identifier.clone(),
                guardrail_version: g.version.clone(),
            });
        }
        let model = req.model.id;
        let stream = req.stream;
        let include_usage = req.include_usage;
        let timeout = req
            .timeout_seconds
            .unwrap_or(self.config.max_timeout_seconds)
            .min(self.config.max_timeout_seconds);
        let tools_streaming = req.model.tools_streaming;
        let mut converse = to_converse(req)?;
        converse.guardrail_config = guardrail;
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
            &self.signing_keys,
        )
        .map_err(|e| ApiError::invalid("aws-secret-access-key", e.to_string()))?;
        let mut effects = strip;
        effects.reserve(signed.len() + 8);
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

    fn note(&mut self, rewritten: &Rewritten) {
        self.record.status = Some(rewritten.status);
        self.record.usage = rewritten.summary.usage;
        self.record.finish_reason = rewritten.summary.finish_reason;
    }

    /// Response headers arrived.
    ///
    /// `end_of_stream`: the answer has no body (then a buffered answer is
    /// rewritten at once, as a local reply).
    pub fn on_response_headers<H: HeaderPair>(
        &mut self,
        status: u16,
        headers: &[H],
        end_of_stream: bool,
    ) -> Step {
        let State::AwaitResponse(pending) = std::mem::replace(&mut self.state, State::Done) else {
            return Step::go();
        };
        let find = |name: &str| first(headers, name).map(str::to_string);
        if pending.mode == Mode::Stream && status == 200 && end_of_stream {
            // A stream with no body at all: answer with the error now, while headers can still change.
            let err = ApiError::bad_upstream_stream("the answer had no body.");
            return self.fail(&err);
        }
        if pending.mode == Mode::Stream && status == 200 {
            self.record.status = Some(200);
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
            let rewritten = rewrite_buffered(&buffering, b"");
            self.note(&rewritten);
            return rewritten.into_local_reply();
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
            State::BufferResponse(b) => {
                let rewritten = rewrite_buffered(&b, body);
                self.note(&rewritten);
                rewritten.into_body_step(b.status)
            }
            State::Streaming(mut tr) => {
                let mut out = tr.feed(body);
                if end_of_stream {
                    out.extend(tr.finish());
                    let summary = tr.summary();
                    self.record.usage = summary.usage;
                    self.record.finish_reason = summary.finish_reason;
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
