//! The per-request state machine: host events in, effects out.
//!
//! The shell feeds each Envoy callback to an [`Exchange`] and applies the
//! returned [`Step`]. Nothing here calls the host, reads a clock or panics.

//! It knows routes, not APIs: [`crate::api`] plans each route's upstream
//! call and translates its answer.

mod answer_phase;
mod fanout;
pub mod record;
pub mod step;

use crate::api::{self, Pending, Plan, Route, Streaming};
use crate::aws::sigv4::SigningKeys;
use crate::caller::{authenticate, check_request, Caller};
use crate::config::Config;
use crate::error::ApiError;
use crate::exchange::record::Record;
use crate::header::HeaderPair;
use crate::policy::rate_limit::{RateLimiter, Unlimited};
use answer_phase::Buffering;
use fanout::{Fanout, Progress};
use std::rc::Rc;
use std::time::SystemTime;

pub use crate::exchange::step::{BodyProgress, Callout, Effect, Name, Step, Verdict};

#[derive(Debug)]
enum State {
    AwaitHeaders,
    /// The caller is authenticated and its secrets are withheld; its body is awaited.
    AwaitBody(Route, Caller),
    AwaitResponse(Pending),
    /// The filter's own calls are under way; the request stays paused and
    /// is answered locally.
    Fanout(Box<Fanout>),
    BufferResponse(Buffering),
    Streaming(Streaming),
    /// The answer is replaced by an error of ours: every upstream chunk is
    /// dropped, and the body held here (if any) goes out at the end.
    Replacing(Option<Vec<u8>>),
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
    /// What Envoy's log should say about how this exchange ended, if it
    /// points at a misconfigured deployment.
    hint: Option<&'static str>,
}

/// The log line for a refused header rewrite once the body is in.
const REFUSED_HEADERS_HINT: &str = "bedrock-openai-filter: Envoy refused to set the signed request headers after the body arrived, so the request was answered with a 500; the wasm plugin needs `allow_on_headers_stop_iteration: true` (Envoy >= 1.35).";

/// The log line for a request whose body never reached the filter.
pub(crate) const NO_BODY_HINT: &str = "bedrock-openai-filter: a request ended before its body reached the filter. If every request does this, the wasm plugin lacks `allow_on_headers_stop_iteration: true` (Envoy >= 1.35), without which the filter never sees a body.";

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
            hint: None,
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
        let route = match api::route(headers) {
            Ok(route) => route,
            Err(e) => return self.fail(&e),
        };
        self.record.endpoint = Some(route.endpoint());
        match api::local_answer(route, project, &config) {
            Some(Ok(body)) => return self.reply_locally(body),
            Some(Err(e)) => return self.fail(&e),
            None => {}
        }
        let caller = match check_request(&config, project, headers) {
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
        if let Some(budget) = project.policy.tokens_per_minute {
            if let Err(retry_after) = self.limiter.tokens_left(&project.name, budget) {
                let err = ApiError::rate_limited(&project.name, budget, "tokens", retry_after);
                return self.fail(&err);
            }
        }
        if end_of_stream {
            return self.fail(&ApiError::invalid("body", "The request has no body."));
        }
        self.state = State::AwaitBody(route, caller);
        Step {
            effects: vec![Effect::RewriteRequestHeaders { set: Vec::new() }],
            verdict: Verdict::Pause,
        }
    }

    /// A route the gateway answers itself (the models list): a 200 with `body`.
    fn reply_locally(&mut self, body: Vec<u8>) -> Step {
        self.state = State::Done;
        self.record.status = Some(200);
        Step {
            effects: vec![Effect::LocalReply {
                status: 200,
                headers: Vec::new(),
                body,
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
        let State::AwaitBody(route, caller) = std::mem::replace(&mut self.state, State::Done)
        else {
            return Step::go();
        };
        let config = Rc::clone(&self.config);
        // The credentials end here: the answer phase gets the plan's handoff.
        let ctx = api::Planning {
            config: &config,
            caller: &caller,
            now,
            signing_keys: &self.signing_keys,
        };
        match api::plan(route, &ctx, body, &mut self.record.model) {
            Ok(Plan::Forward(call)) => {
                self.state = State::AwaitResponse(call.pending);
                Step {
                    effects: vec![
                        Effect::RewriteRequestHeaders { set: call.headers },
                        Effect::ReplaceRequestBody(call.body),
                    ],
                    verdict: Verdict::Continue,
                }
            }
            Ok(Plan::Batch(batch)) => {
                let mut fanout = Box::new(Fanout::new(batch, now));
                let progress = fanout.dispatch(now);
                self.state = State::Fanout(fanout);
                self.advance(progress)
            }
            Err(e) => self.fail(&e),
        }
    }

    /// One of the calls of a [`Effect::Dispatch`] answered: `status` and
    /// `headers` as the host gives them (`status` `None` when the call ended
    /// with no answer: a reset, a refused connection, a refused stream),
    /// `body` whole. The next calls go out, or the request is answered (all
    /// answered, or the first failure). Answers of calls the exchange no
    /// longer waits for are ignored (an empty step).
    pub fn on_callout_response<H: HeaderPair>(
        &mut self,
        id: u32,
        status: Option<u16>,
        headers: &[H],
        body: &[u8],
        now: SystemTime,
    ) -> Step {
        let State::Fanout(fanout) = &mut self.state else {
            return Step::wait();
        };
        match fanout.on_answer(id, status, headers, body, now) {
            Some(progress) => self.advance(progress),
            None => Step::wait(),
        }
    }

    /// Applies where a batch stands: more calls, the answer, or the error.
    fn advance(&mut self, progress: Progress) -> Step {
        match progress {
            Progress::Dispatch(calls) if calls.is_empty() => Step::wait(),
            Progress::Dispatch(calls) => Step {
                effects: vec![Effect::Dispatch { calls }],
                verdict: Verdict::Pause,
            },
            Progress::Failed(e) => self.fail(&e),
            Progress::Done(rewritten) => {
                self.state = State::Done;
                self.note(&rewritten);
                Step {
                    effects: vec![Effect::LocalReply {
                        status: rewritten.status,
                        headers: Vec::new(),
                        body: rewritten.body,
                    }],
                    verdict: Verdict::Pause,
                }
            }
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
            Effect::RewriteRequestHeaders { .. } => {
                self.hint = Some(REFUSED_HEADERS_HINT);
                ApiError::host_refused(
                "set the signed request headers",
                "Envoy refused to change the request headers after the body arrived; the wasm plugin needs `allow_on_headers_stop_iteration: true` (Envoy >= 1.35).",
            )
            }
            Effect::ReplaceRequestBody(_) => ApiError::host_refused(
                "replace the request body",
                "Envoy refused to change the buffered request body.",
            ),
            Effect::Dispatch { .. } => {
                let cluster = match &self.state {
                    State::Fanout(f) => f.cluster().to_string(),
                    _ => String::new(),
                };
                ApiError::dispatch_refused(&cluster)
            }
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
            State::AwaitBody(..) => Some(NO_BODY_HINT),
            _ => self.hint,
        }
    }
}
