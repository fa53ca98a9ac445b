//! The chat answer phase: what the request phase leaves for it, and a
//! buffered upstream answer (or error) rewritten into OpenAI's shape.

use super::chunks::StreamContext;
use super::completion::{to_chat_completion, ResponseContext};
use super::replay;
use super::stream::StreamTranslator;
use crate::api::{Handoff, Mode, Rewritten, UpstreamAnswer};
use crate::bedrock::eventstream::DEFAULT_MAX_BUFFERED;
use std::rc::Rc;

/// What the chat answer phase needs to know about the request.
#[derive(Debug)]
pub struct ChatPending {
    /// What every API's answer phase knows.
    pub handoff: Handoff,
    /// How the answer travels back.
    pub mode: Mode,
    /// `stream_options.include_usage`.
    pub include_usage: bool,
    /// The tool whose input is the answer (structured output by a forced tool).
    pub answer_tool: Option<Rc<str>>,
}

impl ChatPending {
    /// The identity of a streamed answer's chunks.
    pub fn stream_context(&self, aws_request_id: Option<&str>) -> StreamContext {
        StreamContext {
            id: self.handoff.response_id("chatcmpl-", aws_request_id),
            model: Rc::clone(&self.handoff.model),
            created: self.handoff.created,
            include_usage: self.include_usage,
            answer_tool: self.answer_tool.clone(),
        }
    }

    /// The translator of a streamed answer.
    pub fn translator(&self, aws_request_id: Option<&str>) -> StreamTranslator {
        StreamTranslator::new(self.stream_context(aws_request_id), DEFAULT_MAX_BUFFERED)
    }

    /// A successful buffered answer in OpenAI's shape (or the error that
    /// replaces it, when it is not a Converse answer).
    pub fn rewrite_ok(&self, a: &UpstreamAnswer<'_>) -> Rewritten {
        if self.mode == Mode::Replay {
            let ctx = self.stream_context(a.aws_request_id);
            if let Ok((sse, outcome)) = replay::to_sse(a.body, &ctx) {
                return Rewritten::sse(sse, outcome);
            }
        }
        let id = self.handoff.response_id("chatcmpl-", a.aws_request_id);
        let ctx = ResponseContext {
            id: &id,
            model: &self.handoff.model,
            created: self.handoff.created,
            answer_tool: self.answer_tool.as_deref(),
        };
        match to_chat_completion(a.body, &ctx) {
            Ok((json, outcome)) => Rewritten::json(json, outcome),
            Err(e) => Rewritten::error(&e),
        }
    }
}
