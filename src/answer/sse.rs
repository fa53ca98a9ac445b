//! Server-sent events: the `chat.completion.chunk` events of one answer,
//! written the same way whether the answer streams or is replayed.

use crate::error::ApiError;
use crate::openai::{ChatChunk, ChunkChoice, Delta, ThinkingDelta, ToolCallDelta, Usage};
use serde::Serialize;
use std::rc::Rc;

/// The line that ends an OpenAI stream.
pub const DONE: &[u8] = b"data: [DONE]\n\n";

/// Appends `data: <json of value>\n\n` to `out`.
///
/// Serializing our own response types cannot fail; if it ever did, nothing is
/// appended rather than half a line.
pub fn write_data(out: &mut Vec<u8>, value: &impl Serialize) {
    let start = out.len();
    out.extend_from_slice(b"data: ");
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.truncate(start);
        return;
    }
    out.extend_from_slice(b"\n\n");
}

/// Appends one `{"error": ...}` event and `[DONE]`: how a stream that has
/// started reports a failure (the OpenAI SDKs raise on it).
pub fn write_error(out: &mut Vec<u8>, err: &ApiError) {
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(&err.to_json());
    out.extend_from_slice(b"\n\n");
    out.extend_from_slice(DONE);
}

/// A piece of a reasoning block, as it streams.
#[derive(Debug, Clone, Copy)]
pub enum Fragment<'a> {
    /// Reasoning text.
    Text(&'a str),
    /// The block's signature.
    Signature(&'a str),
    /// A redacted block, base64.
    Redacted(&'a str),
}

/// Identity shared by every chunk of one answer.
#[derive(Debug, Clone)]
pub struct StreamContext {
    /// `chatcmpl-...`.
    pub id: String,
    /// The model id the caller asked for.
    pub model: Rc<str>,
    /// Unix seconds.
    pub created: u64,
    /// Emit the final usage chunk.
    pub include_usage: bool,
    /// The tool whose input is the answer's content (structured output by a forced tool).
    pub answer_tool: Option<Rc<str>>,
}

impl StreamContext {
    /// Appends a chunk with one choice carrying `delta` (and `finish` on the last one).
    pub fn choice(&self, out: &mut Vec<u8>, delta: Delta<'_>, finish: Option<&'static str>) {
        let choices = [ChunkChoice {
            index: 0,
            delta,
            logprobs: None,
            finish_reason: finish,
        }];
        self.chunk(out, &choices, None, None);
    }

    /// Appends the first chunk: `role: assistant` and empty content.
    pub fn role(&self, out: &mut Vec<u8>) {
        let delta = Delta {
            role: Some("assistant"),
            content: Some(""),
            ..Delta::default()
        };
        self.choice(out, delta, None);
    }

    /// Appends a chunk carrying one tool-call fragment.
    pub fn tool_call(&self, out: &mut Vec<u8>, call: ToolCallDelta<'_>) {
        let calls = [call];
        let delta = Delta {
            tool_calls: &calls,
            ..Delta::default()
        };
        self.choice(out, delta, None);
    }

    /// Appends a chunk carrying one reasoning fragment of the answer's
    /// reasoning block `index`: `reasoning_content` (the text, or empty) and
    /// the same fragment as a `thinking_blocks` entry, as LiteLLM streams them.
    pub fn reasoning(&self, out: &mut Vec<u8>, index: u32, fragment: Fragment<'_>) {
        let (text, block) = match fragment {
            Fragment::Text(t) => (
                t,
                ThinkingDelta::Thinking {
                    thinking: t,
                    signature: None,
                    index,
                },
            ),
            Fragment::Signature(s) => (
                "",
                ThinkingDelta::Thinking {
                    thinking: "",
                    signature: Some(s),
                    index,
                },
            ),
            Fragment::Redacted(data) => ("", ThinkingDelta::RedactedThinking { data, index }),
        };
        let blocks = [block];
        let delta = Delta {
            reasoning_content: Some(text),
            thinking_blocks: &blocks,
            ..Delta::default()
        };
        self.choice(out, delta, None);
    }

    /// Appends what ends a finished answer: the usage chunk (`choices: []`)
    /// when the caller asked for it, then `[DONE]`.
    pub fn end(&self, out: &mut Vec<u8>, usage: Option<Usage>, service_tier: Option<&'static str>) {
        if self.include_usage {
            self.chunk(out, &[], usage, service_tier);
        }
        out.extend_from_slice(DONE);
    }

    fn chunk(
        &self,
        out: &mut Vec<u8>,
        choices: &[ChunkChoice<'_>],
        usage: Option<Usage>,
        service_tier: Option<&'static str>,
    ) {
        let chunk = ChatChunk {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.created,
            model: &self.model,
            system_fingerprint: None,
            choices,
            usage,
            service_tier,
        };
        write_data(out, &chunk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_one_event() {
        let mut out = Vec::new();
        write_data(&mut out, &serde_json::json!({"a": "x\ny"}));
        assert_eq!(out, b"data: {\"a\":\"x\\ny\"}\n\n");
    }
}
