//! ConverseStream bytes → OpenAI server-sent events, one callback at a time.
//!
//! [`StreamTranslator::feed`] takes whatever bytes arrived and returns the SSE
//! bytes for every frame they completed; [`StreamTranslator::finish`] closes
//! the stream. After an error event the translator emits nothing more.

use crate::answer::completion::{finish_reason, usage};
use crate::answer::eventstream::{DecodeError, FrameDecoder};
use crate::answer::sse;
use crate::bedrock::converse::TokenUsage;
use crate::bedrock::stream::StreamEvent;
use crate::error::bedrock::from_stream_exception;
use crate::error::ApiError;
use crate::exchange::record::Summary;
use crate::openai::{ChatChunk, ChunkChoice, Delta, FunctionDelta, ToolCallDelta};

/// Identity shared by every chunk of one answer.
#[derive(Debug, Clone)]
pub struct StreamContext {
    /// `chatcmpl-...`.
    pub id: String,
    /// The model id the caller asked for.
    pub model: &'static str,
    /// Unix seconds.
    pub created: u64,
    /// Emit the final usage chunk.
    pub include_usage: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Open,
    Stopped,
    Closed,
}

/// Turns ConverseStream frames into `chat.completion.chunk` events.
#[derive(Debug)]
pub struct StreamTranslator {
    ctx: StreamContext,
    decoder: FrameDecoder,
    phase: Phase,
    role_sent: bool,
    /// Bedrock content block index of each tool call, in order: position = OpenAI index.
    tool_blocks: Vec<u32>,
    usage: Option<TokenUsage>,
    finish: Option<&'static str>,
}

impl StreamTranslator {
    /// A translator for one streamed answer.
    pub fn new(ctx: StreamContext, max_frame_bytes: usize) -> StreamTranslator {
        StreamTranslator {
            ctx,
            decoder: FrameDecoder::new(max_frame_bytes),
            phase: Phase::Open,
            role_sent: false,
            tool_blocks: Vec::new(),
            usage: None,
            finish: None,
        }
    }

    /// Token counts and finish reason seen so far.
    pub fn summary(&self) -> Summary {
        Summary {
            usage: self.usage.map(usage),
            finish_reason: self.finish,
        }
    }

    /// Bytes held for an incomplete frame.
    pub fn buffered(&self) -> usize {
        self.decoder.buffered()
    }

    /// Feeds upstream bytes; returns the SSE bytes they produce.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        if self.phase == Phase::Closed {
            return out;
        }
        self.decoder.push(bytes);
        loop {
            match self.decoder.next_frame() {
                Ok(Some(frame)) => match StreamEvent::from_message(&frame) {
                    Ok(event) => self.on_event(event, &mut out),
                    Err(e) => self.fail(&ApiError::bad_upstream_stream(&e.to_string()), &mut out),
                },
                Ok(None) => break,
                Err(e) => self.fail(&decode_error(&e), &mut out),
            }
            if self.phase == Phase::Closed {
                break;
            }
        }
        out
    }

    /// End of the upstream body: closes the stream (with an error if it was cut short).
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        match self.phase {
            Phase::Closed => {}
            Phase::Open => {
                let err = match self.decoder.finish() {
                    Err(e) => decode_error(&e),
                    Ok(()) => ApiError::bad_upstream_stream("the stream ended before messageStop"),
                };
                self.fail(&err, &mut out);
            }
            Phase::Stopped => {
                if let Err(e) = self.decoder.finish() {
                    self.fail(&decode_error(&e), &mut out);
                    return out;
                }
                if self.ctx.include_usage {
                    self.chunk(&mut out, &[], self.usage.map(usage));
                }
                out.extend_from_slice(sse::DONE);
                self.phase = Phase::Closed;
            }
        }
        out
    }

    fn on_event(&mut self, event: StreamEvent, out: &mut Vec<u8>) {
        // After messageStop only usage and errors may follow; anything else
        // would put chunks after the finish chunk.
        if self.phase == Phase::Stopped
            && !matches!(
                event,
                StreamEvent::Metadata { .. } | StreamEvent::Exception { .. }
            )
        {
            return;
        }
        match event {
            StreamEvent::MessageStart => self.ensure_role(out),
            StreamEvent::TextDelta(text) => {
                self.ensure_role(out);
                let delta = Delta {
                    content: Some(&text),
                    ..Delta::default()
                };
                self.choice(out, delta, None);
            }
            StreamEvent::ToolUseStart { block, id, name } => {
                self.ensure_role(out);
                let index = u32::try_from(self.tool_blocks.len()).unwrap_or(u32::MAX);
                self.tool_blocks.push(block);
                let call = ToolCallDelta {
                    index,
                    id: Some(&id),
                    kind: Some("function"),
                    function: FunctionDelta {
                        name: Some(&name),
                        arguments: "",
                    },
                };
                self.tool_call(out, call);
            }
            StreamEvent::ToolInputDelta { block, input } => {
                let Some(pos) = self.tool_blocks.iter().position(|b| *b == block) else {
                    self.fail(
                        &ApiError::bad_upstream_stream("tool input for an unknown content block"),
                        out,
                    );
                    return;
                };
                let call = ToolCallDelta {
                    index: u32::try_from(pos).unwrap_or(u32::MAX),
                    id: None,
                    kind: None,
                    function: FunctionDelta {
                        name: None,
                        arguments: &input,
                    },
                };
                self.tool_call(out, call);
            }
            StreamEvent::MessageStop { stop_reason } => {
                self.ensure_role(out);
                let reason = finish_reason(&stop_reason);
                self.finish = Some(reason);
                self.choice(out, Delta::default(), Some(reason));
                self.phase = Phase::Stopped;
            }
            StreamEvent::Metadata { usage } => self.usage = usage.or(self.usage),
            StreamEvent::Exception { name, message } => {
                self.fail(&from_stream_exception(&name, &message), out)
            }
            StreamEvent::Ignored => {}
        }
    }

    fn ensure_role(&mut self, out: &mut Vec<u8>) {
        if !self.role_sent {
            self.role_sent = true;
            let delta = Delta {
                role: Some("assistant"),
                content: Some(""),
                ..Delta::default()
            };
            self.choice(out, delta, None);
        }
    }

    /// One chunk carrying one tool-call fragment.
    fn tool_call(&self, out: &mut Vec<u8>, call: ToolCallDelta<'_>) {
        let calls = [call];
        let delta = Delta {
            tool_calls: &calls,
            ..Delta::default()
        };
        self.choice(out, delta, None);
    }

    fn choice(&self, out: &mut Vec<u8>, delta: Delta<'_>, finish: Option<&'static str>) {
        let choices = [ChunkChoice {
            index: 0,
            delta,
            logprobs: None,
            finish_reason: finish,
        }];
        self.chunk(out, &choices, None);
    }

    fn chunk(
        &self,
        out: &mut Vec<u8>,
        choices: &[ChunkChoice<'_>],
        usage: Option<crate::openai::Usage>,
    ) {
        let chunk = ChatChunk {
            id: &self.ctx.id,
            object: "chat.completion.chunk",
            created: self.ctx.created,
            model: self.ctx.model,
            system_fingerprint: None,
            choices,
            usage,
        };
        sse::write_data(out, &chunk);
    }

    /// Emits one `{"error": ...}` event and `[DONE]`, then stops.
    fn fail(&mut self, err: &ApiError, out: &mut Vec<u8>) {
        if self.phase == Phase::Closed {
            return;
        }
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(&err.to_json());
        out.extend_from_slice(b"\n\n");
        out.extend_from_slice(sse::DONE);
        self.phase = Phase::Closed;
    }
}

fn decode_error(e: &DecodeError) -> ApiError {
    ApiError::bad_upstream_stream(&e.to_string())
}
