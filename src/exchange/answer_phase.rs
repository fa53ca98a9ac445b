//! The answer phase of an [`Exchange`]: Bedrock's (or Envoy's) answer
//! arrives, is buffered or streamed, and leaves in OpenAI's shape.

use super::{Exchange, State, NO_BODY_HINT};
use crate::api::{Mode, Pending, Rewritten, UpstreamAnswer};
use crate::error::ApiError;
use crate::exchange::step::{BodyProgress, Effect, Step, Verdict};
use crate::header::{first, HeaderPair};
use crate::outcome::Outcome;
use crate::policy::rate_limit::RateLimiter;

/// An answer being buffered, and what its headers said.
#[derive(Debug)]
pub(super) struct Buffering {
    pub(super) pending: Pending,
    pub(super) status: u16,
    pub(super) error_type: Option<String>,
    pub(super) aws_request_id: Option<String>,
    /// Envoy's rate-limit filter answered (`x-envoy-ratelimited`), not Bedrock.
    pub(super) limited_by_envoy: bool,
}

impl Buffering {
    /// The whole answer, `body`, rewritten into the API's shape.
    fn rewrite(&self, body: &[u8]) -> Rewritten {
        self.pending.rewrite(&UpstreamAnswer {
            status: self.status,
            error_type: self.error_type.as_deref(),
            aws_request_id: self.aws_request_id.as_deref(),
            limited_by_envoy: self.limited_by_envoy,
            body,
        })
    }
}

/// Applied in the body callback: the paused headers are rewritten with the body.
fn into_body_step(rewritten: Rewritten, upstream_status: u16) -> Step {
    let mut effects = Vec::with_capacity(5);
    if rewritten.status != upstream_status {
        effects.push(Effect::SetResponseHeader(
            ":status".into(),
            rewritten.status.to_string(),
        ));
    }
    let content_type = if rewritten.sse {
        "text/event-stream"
    } else {
        "application/json"
    };
    effects.push(Effect::SetResponseHeader(
        "content-type".into(),
        content_type.into(),
    ));
    if rewritten.sse {
        effects.push(Effect::SetResponseHeader(
            "cache-control".into(),
            "no-cache".into(),
        ));
    }
    effects.push(Effect::SetResponseHeader(
        "content-length".into(),
        rewritten.body.len().to_string(),
    ));
    effects.push(Effect::ReplaceResponseBody(rewritten.body));
    Step {
        effects,
        verdict: Verdict::Continue,
    }
}

/// Used when the upstream answer had no body to replace: a local reply instead.
fn into_local_reply(rewritten: Rewritten) -> Step {
    Step {
        effects: vec![Effect::LocalReply {
            status: rewritten.status,
            headers: Vec::new(),
            body: rewritten.body,
        }],
        verdict: Verdict::Pause,
    }
}

impl<L: RateLimiter> Exchange<L> {
    pub(super) fn note(&mut self, rewritten: &Rewritten) {
        self.record.status = Some(rewritten.status);
        self.note_outcome(rewritten.outcome);
    }

    /// Records what the finished answer's translation learned, and counts
    /// its tokens against the project's budget once its usage is known.
    fn note_outcome(&mut self, outcome: Outcome) {
        self.record.usage = outcome.usage;
        self.record.finish_reason = outcome.finish_reason;
        let (Some(project), Some(usage)) = (&self.record.project, outcome.usage) else {
            return;
        };
        if project.policy.tokens_per_minute.is_some() {
            self.limiter.spend_tokens(&project.name, usage.total);
        }
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
        let pending = match std::mem::replace(&mut self.state, State::Done) {
            State::AwaitResponse(pending) => pending,
            State::AwaitBody(..) => return self.replace_envoy_reply(status, end_of_stream),
            // Envoy answered on its own (its listener's request_timeout)
            // while the filter's calls ran: they are abandoned.
            State::Fanout(_) => {
                return self.replace_with(ApiError::batch_cut_short(status), end_of_stream)
            }
            _ => return Step::go(),
        };
        let find = |name: &str| first(headers, name).map(str::to_string);
        if pending.mode() == Mode::Stream && status == 200 && end_of_stream {
            // A stream with no body at all: answer with the error now, while headers can still change.
            let err = ApiError::bad_upstream_stream("the answer had no body.");
            return self.fail(&err);
        }
        if pending.streams(status, first(headers, "content-type")) {
            self.record.status = Some(200);
            self.answer_started = true;
            let translator = pending.stream(first(headers, "x-amzn-requestid"));
            self.state = State::Streaming(translator);
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
            limited_by_envoy: first(headers, "x-envoy-ratelimited").is_some(),
        };
        if end_of_stream {
            let rewritten = buffering.rewrite(b"");
            self.note(&rewritten);
            return into_local_reply(rewritten);
        }
        self.state = State::BufferResponse(buffering);
        Step {
            effects: vec![Effect::RemoveResponseHeader("content-length".into())],
            verdict: Verdict::Pause,
        }
    }

    /// Envoy answered on its own (a timeout, a limit) while the filter still
    /// waited for the request body: the answer becomes an OpenAI error saying
    /// so. The response headers go on at once (with the flag
    /// `allow_on_headers_stop_iteration` off, a paused response would hang
    /// too) and the error replaces the body at its end.
    fn replace_envoy_reply(&mut self, status: u16, end_of_stream: bool) -> Step {
        let err = ApiError::body_never_arrived(status);
        if err.code == "gateway_misconfigured" {
            self.hint = Some(NO_BODY_HINT);
        }
        self.replace_with(err, end_of_stream)
    }

    /// Envoy's own answer goes on, its body replaced by `err` at its end.
    fn replace_with(&mut self, err: ApiError, end_of_stream: bool) -> Step {
        self.record.status = Some(err.status);
        self.record.rejected = Some(err.code.clone());
        if end_of_stream {
            return Step::go();
        }
        self.state = State::Replacing(Some(err.to_json()));
        self.answer_started = true;
        Step {
            effects: vec![
                Effect::RemoveResponseHeader("content-length".into()),
                Effect::SetResponseHeader("content-type".into(), "application/json".into()),
            ],
            verdict: Verdict::Continue,
        }
    }

    /// `size` bytes of response body are buffered so far (or, streaming, just arrived).
    pub fn on_response_body_progress(&mut self, size: usize, end_of_stream: bool) -> BodyProgress {
        match &self.state {
            State::Streaming(_) | State::Replacing(_) => BodyProgress::Ready,
            State::BufferResponse(_) if size > self.config.max_response_bytes => {
                // Buffering on would cross Envoy's limit (and the rewrite would
                // grow the body further): answer with an error of our own now.
                let err = ApiError::response_too_large(self.config.max_response_bytes);
                self.state = State::Replacing(None);
                self.answer_started = true;
                self.record.status = Some(err.status);
                self.record.usage = None;
                let body = err.to_json();
                BodyProgress::Wait(Step {
                    effects: vec![
                        Effect::SetResponseHeader(":status".into(), err.status.to_string()),
                        Effect::SetResponseHeader("content-type".into(), "application/json".into()),
                        Effect::SetResponseHeader("content-length".into(), body.len().to_string()),
                        Effect::ReplaceResponseBody(body),
                    ],
                    verdict: Verdict::Continue,
                })
            }
            State::BufferResponse(_) if end_of_stream => BodyProgress::Ready,
            State::BufferResponse(_) => BodyProgress::Wait(Step::wait()),
            _ => BodyProgress::Wait(Step::go()),
        }
    }

    /// Response body: the whole body when buffering, each piece when streaming.
    pub fn on_response_body(&mut self, body: &[u8], end_of_stream: bool) -> Step {
        match std::mem::replace(&mut self.state, State::Done) {
            State::BufferResponse(b) => {
                let rewritten = b.rewrite(body);
                self.note(&rewritten);
                into_body_step(rewritten, b.status)
            }
            State::Streaming(mut tr) => {
                let mut out = tr.feed(body);
                if end_of_stream {
                    out.extend(tr.finish());
                    self.note_outcome(tr.outcome());
                } else {
                    self.state = State::Streaming(tr);
                }
                Step {
                    effects: vec![Effect::ReplaceResponseBody(out)],
                    verdict: Verdict::Continue,
                }
            }
            State::Replacing(mut held) => {
                let out = if end_of_stream {
                    held.take().unwrap_or_default()
                } else {
                    self.state = State::Replacing(held);
                    Vec::new()
                };
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
