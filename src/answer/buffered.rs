//! A buffered upstream answer or error rewritten into OpenAI's shape, and
//! what the request phase leaves for the answer phase.

use crate::answer::completion::{to_chat_completion, ResponseContext};
use crate::answer::replay;
use crate::answer::sse::StreamContext;
use crate::error::bedrock::from_upstream;
use crate::error::ApiError;
use crate::exchange::record::Summary;
use crate::exchange::step::{Effect, Step, Verdict};
use crate::request::caller::Caller;
use std::rc::Rc;

/// What the response phase needs to know about the request.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) caller: Caller,
    pub(crate) model: Rc<str>,
    pub(crate) created: u64,
    pub(crate) mode: Mode,
    pub(crate) include_usage: bool,
    /// The tool whose input is the answer (structured output by a forced tool).
    pub(crate) answer_tool: Option<Rc<str>>,
}

/// How the answer travels back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// JSON in, JSON out.
    Json,
    /// Event stream in, SSE out, piece by piece.
    Stream,
    /// JSON in (the model cannot stream this request), SSE out.
    Replay,
}

#[derive(Debug)]
pub(crate) struct Buffering {
    pub(crate) pending: Pending,
    pub(crate) status: u16,
    pub(crate) error_type: Option<String>,
    pub(crate) aws_request_id: Option<String>,
    /// Envoy's rate-limit filter answered (`x-envoy-ratelimited`), not Bedrock.
    pub(crate) limited_by_envoy: bool,
}

/// A buffered upstream answer rewritten into OpenAI's shape.
pub(crate) struct Rewritten {
    /// Status sent to the client.
    pub(crate) status: u16,
    sse: bool,
    body: Vec<u8>,
    /// Tokens and finish reason, for a successful answer.
    pub(crate) summary: Summary,
}

/// Rewrites a buffered Converse answer or error into OpenAI's shape.
pub(crate) fn rewrite_buffered(b: &Buffering, body: &[u8]) -> Rewritten {
    if b.status == 200 && b.pending.mode == Mode::Replay {
        let ctx = stream_context(b.aws_request_id.as_deref(), &b.pending);
        if let Ok((sse, summary)) = replay::to_sse(body, &ctx) {
            return Rewritten {
                status: 200,
                sse: true,
                body: sse,
                summary,
            };
        }
    }
    let result = if b.status == 429 && b.limited_by_envoy {
        Err(ApiError::fleet_rate_limited(&b.pending.caller.project.name))
    } else if b.status == 200 {
        let id = response_id(b.aws_request_id.as_deref(), &b.pending);
        let ctx = ResponseContext {
            id: &id,
            model: &b.pending.model,
            created: b.pending.created,
            answer_tool: b.pending.answer_tool.as_deref(),
        };
        to_chat_completion(body, &ctx)
    } else {
        let secrets = b.pending.caller.auth.secrets();
        Err(from_upstream(
            b.status,
            b.error_type.as_deref(),
            body,
            &secrets,
        ))
    };
    match result {
        Ok((json, summary)) => Rewritten {
            status: 200,
            sse: false,
            body: json,
            summary,
        },
        Err(e) => Rewritten {
            status: e.status,
            sse: false,
            body: e.to_json(),
            summary: Summary::default(),
        },
    }
}

impl Rewritten {
    /// Applied in the body callback: the paused headers are rewritten with the body.
    pub(crate) fn into_body_step(self, upstream_status: u16) -> Step {
        let mut effects = Vec::with_capacity(5);
        if self.status != upstream_status {
            effects.push(Effect::SetResponseHeader(
                ":status".into(),
                self.status.to_string(),
            ));
        }
        let content_type = if self.sse {
            "text/event-stream"
        } else {
            "application/json"
        };
        effects.push(Effect::SetResponseHeader(
            "content-type".into(),
            content_type.into(),
        ));
        if self.sse {
            effects.push(Effect::SetResponseHeader(
                "cache-control".into(),
                "no-cache".into(),
            ));
        }
        effects.push(Effect::SetResponseHeader(
            "content-length".into(),
            self.body.len().to_string(),
        ));
        effects.push(Effect::ReplaceResponseBody(self.body));
        Step {
            effects,
            verdict: Verdict::Continue,
        }
    }

    /// Used when the upstream answer had no body to replace: a local reply instead.
    pub(crate) fn into_local_reply(self) -> Step {
        Step {
            effects: vec![Effect::LocalReply {
                status: self.status,
                headers: Vec::new(),
                body: self.body,
            }],
            verdict: Verdict::Pause,
        }
    }
}

pub(crate) fn stream_context(aws_request_id: Option<&str>, pending: &Pending) -> StreamContext {
    StreamContext {
        id: response_id(aws_request_id, pending),
        model: Rc::clone(&pending.model),
        created: pending.created,
        include_usage: pending.include_usage,
        answer_tool: pending.answer_tool.clone(),
    }
}

/// `chatcmpl-` + Bedrock's request id, else Envoy's `x-request-id`, else the creation time.
fn response_id(aws_request_id: Option<&str>, pending: &Pending) -> String {
    const PREFIX: &str = "chatcmpl-";
    match aws_request_id.or(pending.caller.request_id.as_deref()) {
        Some(rid) => {
            let mut id = String::with_capacity(PREFIX.len() + rid.len());
            id.push_str(PREFIX);
            id.push_str(rid);
            id
        }
        None => format!("{PREFIX}{}", pending.created),
    }
}
