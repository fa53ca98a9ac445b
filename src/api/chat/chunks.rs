//! The `chat.completion.chunk` events of one answer, written the same way
//! whether the answer streams or is replayed.

use super::wire::{
    ChatChunk, ChatUsage, ChunkChoice, Delta, FunctionDelta, ThinkingDelta, ToolCallDelta,
};
use crate::api::sse::{write_error, DONE};
use crate::conversation::answer::Finish;
use crate::conversation::stream::{AnswerWriter, Fragment};
use crate::error::ApiError;
use crate::outcome::Usage;
use std::rc::Rc;

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

/// Writes the chunks of one answer. What every chunk repeats (`id`,
/// `object`, `created`, `model`, `system_fingerprint`) is serialized once,
/// when the writer is made: a chunk serializes only its choices (and usage).
#[derive(Debug, Clone)]
pub struct ChunkWriter {
    /// The answer's identity.
    pub ctx: StreamContext,
    /// `{"id":...,"system_fingerprint":null,"choices":`, ready to copy.
    head: Vec<u8>,
}

impl ChunkWriter {
    /// A writer for the chunks of `ctx`'s answer.
    pub fn new(ctx: StreamContext) -> ChunkWriter {
        let chunk = ChatChunk {
            id: &ctx.id,
            object: "chat.completion.chunk",
            created: ctx.created,
            model: &ctx.model,
            system_fingerprint: None,
            choices: &[],
            usage: None,
            service_tier: None,
        };
        let mut head = serde_json::to_vec(&chunk).unwrap_or_default();
        // `{..., "choices":[]}` without its `[]}`: every chunk appends its own choices.
        head.truncate(head.len().saturating_sub(3));
        ChunkWriter { ctx, head }
    }

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

    /// Appends a chunk whose delta is the text fragment `text`: what most
    /// events of an answer are, written without serializing the choice's
    /// structure (the bytes [`ChunkWriter::choice`] gives for it).
    fn write_text(&self, out: &mut Vec<u8>, text: &str) {
        let start = out.len();
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(&self.head);
        out.extend_from_slice(br#"[{"index":0,"delta":{"content":"#);
        if serde_json::to_writer(&mut *out, text).is_err() || self.head.is_empty() {
            out.truncate(start);
            return;
        }
        out.extend_from_slice(b"},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
    }

    /// Appends the first chunk: `role: assistant` and empty content.
    fn write_role(&self, out: &mut Vec<u8>) {
        let delta = Delta {
            role: Some("assistant"),
            content: Some(""),
            ..Delta::default()
        };
        self.choice(out, delta, None);
    }

    /// Appends a chunk carrying one tool-call fragment.
    fn write_tool_call(&self, out: &mut Vec<u8>, call: ToolCallDelta<'_>) {
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
    fn write_reasoning(&self, out: &mut Vec<u8>, index: u32, fragment: Fragment<'_>) {
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
    fn write_end(
        &self,
        out: &mut Vec<u8>,
        usage: Option<Usage>,
        service_tier: Option<&'static str>,
    ) {
        if self.ctx.include_usage {
            self.chunk(out, &[], usage.map(ChatUsage::from), service_tier);
        }
        out.extend_from_slice(DONE);
    }

    /// `data: {<head>[choices],"usage":...,"service_tier":...}\n\n`: the bytes
    /// [`ChatChunk`] serializes to. Serializing our own types cannot fail; if
    /// it ever did, nothing is appended rather than half a line.
    fn chunk(
        &self,
        out: &mut Vec<u8>,
        choices: &[ChunkChoice<'_>],
        usage: Option<ChatUsage>,
        service_tier: Option<&'static str>,
    ) {
        let start = out.len();
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(&self.head);
        let mut ok = serde_json::to_writer(&mut *out, choices).is_ok();
        if let Some(u) = usage {
            out.extend_from_slice(b",\"usage\":");
            ok &= serde_json::to_writer(&mut *out, &u).is_ok();
        }
        if let Some(t) = service_tier {
            out.extend_from_slice(b",\"service_tier\":");
            ok &= serde_json::to_writer(&mut *out, t).is_ok();
        }
        if !ok || self.head.is_empty() {
            out.truncate(start);
            return;
        }
        out.extend_from_slice(b"}\n\n");
    }
}

impl From<StreamContext> for ChunkWriter {
    fn from(ctx: StreamContext) -> ChunkWriter {
        ChunkWriter::new(ctx)
    }
}

impl AnswerWriter for ChunkWriter {
    fn answer_tool(&self) -> Option<&str> {
        self.ctx.answer_tool.as_deref()
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        self.write_role(out);
    }

    fn text(&mut self, out: &mut Vec<u8>, text: &str) {
        self.write_text(out, text);
    }

    fn reasoning(&mut self, out: &mut Vec<u8>, index: u32, fragment: Fragment<'_>) {
        self.write_reasoning(out, index, fragment);
    }

    fn tool_start(&mut self, out: &mut Vec<u8>, index: u32, id: &str, name: &str) {
        self.tool_call(out, index, id, name, "");
    }

    fn tool_input(&mut self, out: &mut Vec<u8>, index: u32, input: &str) {
        let call = ToolCallDelta {
            index,
            id: None,
            kind: None,
            function: FunctionDelta {
                name: None,
                arguments: input,
            },
        };
        self.write_tool_call(out, call);
    }

    /// One chunk with the whole call (a replayed answer's).
    fn tool_call(&mut self, out: &mut Vec<u8>, index: u32, id: &str, name: &str, input: &str) {
        let call = ToolCallDelta {
            index,
            id: Some(id),
            kind: Some("function"),
            function: FunctionDelta {
                name: Some(name),
                arguments: input,
            },
        };
        self.write_tool_call(out, call);
    }

    fn finish(&mut self, out: &mut Vec<u8>, finish: Finish) {
        self.choice(out, Delta::default(), Some(finish.name()));
    }

    fn end(&mut self, out: &mut Vec<u8>, usage: Option<Usage>, service_tier: Option<&'static str>) {
        self.write_end(out, usage, service_tier);
    }

    /// One `{"error": ...}` event and `[DONE]`: how a stream that has
    /// started reports a failure (the OpenAI SDKs raise on it).
    fn fail(&mut self, out: &mut Vec<u8>, err: &ApiError) {
        write_error(out, err);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::sse::write_data;

    #[test]
    fn a_chunk_is_what_chat_chunk_serializes_to() {
        let ctx = StreamContext {
            id: "chatcmpl-\"q\"".into(),
            model: "m\u{e9}".into(),
            created: 7,
            include_usage: true,
            answer_tool: None,
        };
        let w = ChunkWriter::new(ctx.clone());
        let delta = Delta {
            content: Some("hi \"there\"\n"),
            ..Delta::default()
        };
        let choices = [ChunkChoice {
            index: 0,
            delta,
            logprobs: None,
            finish_reason: Some("stop"),
        }];
        let usage = ChatUsage {
            prompt_tokens: 1,
            completion_tokens: 2,
            total_tokens: 3,
            prompt_tokens_details: None,
        };
        let mut fast = Vec::new();
        w.write_text(&mut fast, "hi \"there\"\n");
        let mut slow = Vec::new();
        let delta = Delta {
            content: Some("hi \"there\"\n"),
            ..Delta::default()
        };
        w.choice(&mut slow, delta, None);
        assert_eq!(
            String::from_utf8(fast).unwrap(),
            String::from_utf8(slow).unwrap()
        );
        for (choices, usage, tier) in [
            (&choices[..], None, None),
            (&[][..], Some(usage), Some("flex")),
        ] {
            let mut fast = Vec::new();
            w.chunk(&mut fast, choices, usage, tier);
            let mut slow = Vec::new();
            write_data(
                &mut slow,
                &ChatChunk {
                    id: &ctx.id,
                    object: "chat.completion.chunk",
                    created: ctx.created,
                    model: &ctx.model,
                    system_fingerprint: None,
                    choices,
                    usage,
                    service_tier: tier,
                },
            );
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(slow).unwrap()
            );
        }
    }
}
