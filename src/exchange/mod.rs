//! The per-request state machine: host events in, effects out.
//!
//! The shell feeds each Envoy callback to an [`Exchange`] and applies the
//! returned [`Step`]. Nothing here calls the host, reads a clock or panics.

mod plan;
pub mod record;
pub mod step;

use crate::answer::buffered::{
    rewrite_buffered, stream_context, Buffering, Mode, Pending, Rewritten,
};
use crate::answer::eventstream::DEFAULT_MAX_BUFFERED;
use crate::answer::models::model_list;
use crate::answer::stream::StreamTranslator;
use crate::config::Config;
use crate::error::ApiError;
use crate::exchange::record::Record;
use crate::header::{first, HeaderPair};
use crate::policy::rate_limit::{RateLimiter, Unlimited};
use crate::request::caller::{authenticate, check_request, route, Caller, Route};
use crate::request::sigv4::SigningKeys;
use std::rc::Rc;
use std::time::SystemTime;

pub use crate::exchange::step::{BodyProgress, Effect, Name, Step, Verdict};

#[derive(Debug)]
enum State {
    AwaitHeaders,
    /// The caller is authenticated and its secrets are withheld; its body is awaited.
    AwaitBody(Caller),
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
    /// The answer's headers went to the client (a streamed answer): nothing
    /// can replace it with an error any more.
    answer_started: bool,
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
            answer_started: false,
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

    fn fail(&mut self, err: &ApiError) -> Step {
        self.state = State::Done;
        self.record.status = Some(err.status);
        self.record.rejected = Some(err.code.clone());
        Step::reply(err)
    }

    /// Request headers arrived (`end_of_stream`: there is no body).
    ///
    /// An accepted request waits for its body, and its secret headers are
    /// withheld at once (a [`Effect::RewriteRequestHeaders`] with nothing set).
    pub fn on_request_headers<H: HeaderPair>(
        &mut self,
        headers: &[H],
        end_of_stream: bool,
    ) -> Step {
        if !matches!(self.state, State::AwaitHeaders) {
            return Step::go();
        }
        let config = Rc::clone(&self.config);
        let project = match authenticate(&config, headers) {
            Ok(found) => found,
            Err(e) => return self.fail(&e),
        };
        self.record.project = Some(Rc::clone(project));
        let caller = match route(headers) {
            Ok(Route::Models) => return self.reply_models(&project.policy),
            Ok(Route::ChatCompletions) => check_request(&config, project, headers),
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
        self.state = State::AwaitBody(caller);
        Step {
            effects: vec![Effect::RewriteRequestHeaders { set: Vec::new() }],
            verdict: Verdict::Pause,
        }
    }

    fn reply_models(&mut self, policy: &crate::policy::Policy) -> Step {
        self.state = State::Done;
        self.record.status = Some(200);
        Step {
            effects: vec![Effect::LocalReply {
                status: 200,
                headers: Vec::new(),
                body: model_list(policy),
            }],
            verdict: Verdict::Pause,
        }
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
        let State::AwaitBody(caller) = std::mem::replace(&mut self.state, State::Done) else {
            return Step::go();
        };
        let config = Rc::clone(&self.config);
        match plan::plan(
            &config,
            caller,
            body,
            now,
            &self.signing_keys,
            &mut self.record,
        ) {
            Ok(call) => {
                self.state = State::AwaitResponse(call.pending);
                Step {
                    effects: vec![
                        Effect::RewriteRequestHeaders { set: call.headers },
                        Effect::ReplaceRequestBody(call.body),
                    ],
                    verdict: Verdict::Continue,
                }
            }
            Err(e) => self.fail(&e),
        }
    }

    /// The host refused `effect`, one of the last step's effects (the shell
    /// applies none after it). A refused change to the request ends it with
    /// an OpenAI-shaped 500, so nothing half-rewritten is forwarded; so does
    /// one to an answer whose headers have not left yet. A streamed answer
    /// that has started can only go on.
    pub fn on_host_refused(&mut self, effect: &Effect) -> Step {
        let err = match effect {
            Effect::RewriteRequestHeaders { set } if set.is_empty() => ApiError::host_refused(
                "withhold the caller's credential headers",
                "Envoy refused to change the request headers.",
            ),
            Effect::RewriteRequestHeaders { .. } => ApiError::host_refused(
                "set the signed request headers",
                "Envoy refused to change the request headers after the body arrived; the wasm plugin needs `allow_on_headers_stop_iteration: true` (Envoy >= 1.35).",
            ),
            Effect::ReplaceRequestBody(_) => ApiError::host_refused(
                "replace the request body",
                "Envoy refused to change the buffered request body.",
            ),
            Effect::LocalReply { .. } => return Step::wait(),
            _ if self.answer_started => return Step::go(),
            _ => ApiError::internal(
                "The gateway could not rewrite Bedrock's answer: Envoy refused to change the response.",
            ),
        };
        self.record.usage = None;
        self.fail(&err)
    }

    /// Why the exchange ended where it did, when that points at a
    /// misconfigured deployment (for Envoy's log): a request that ended while
    /// its body was awaited means the body never reached the filter.
    pub fn diagnosis(&self) -> Option<&'static str> {
        match self.state {
            State::AwaitBody(_) => Some(
                "bedrock-openai-filter: a request ended before its body reached the filter. If every request does this, the wasm plugin lacks `allow_on_headers_stop_iteration: true` (Envoy >= 1.35), without which the filter never sees a body.",
            ),
            _ => None,
        }
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
            self.answer_started = true;
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
