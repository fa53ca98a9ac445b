//! ConverseStream bytes → OpenAI server-sent events, one callback at a time.
//!
//! [`StreamTranslator::feed`] takes whatever bytes arrived and returns the SSE
//! bytes for every frame they completed; [`StreamTranslator::finish`] closes
//! the stream. After an error event the translator emits nothing more.

use crate::answer::completion::{finish_reason, usage};
use crate::answer::eventstream::{DecodeError, Flow, FrameDecoder, FrameRef};
use crate::answer::sse::{write_error, ChunkWriter, Fragment, StreamContext};
use crate::bedrock::converse::TokenUsage;
use crate::bedrock::stream::{ReasoningDelta, StreamEvent};
use crate::error::bedrock::from_stream_exception;
use crate::error::ApiError;
use crate::exchange::record::Summary;
use crate::openai::{Delta, FunctionDelta, ToolCallDelta};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Open,
    Stopped,
    Closed,
}

/// Turns ConverseStream frames into `chat.completion.chunk` events.
#[derive(Debug)]
pub struct StreamTranslator {
    decoder: FrameDecoder,
    events: Events,
}

/// What the events of one answer have shown so far.
#[derive(Debug)]
struct Events {
    ctx: ChunkWriter,
    phase: Phase,
    role_sent: bool,
    /// Bedrock content block index of each tool call, in order: position = OpenAI index.
    tool_blocks: Vec<u32>,
    /// Bedrock content block index of each reasoning block, in order: position = thinking index.
    reasoning_blocks: Vec<u32>,
    /// The content block of the answer tool (structured output by a forced
    /// tool), whose input streams as content.
    answer_block: Option<u32>,
    usage: Option<TokenUsage>,
    service_tier: Option<&'static str>,
    finish: Option<&'static str>,
}

impl StreamTranslator {
    /// A translator for one streamed answer.
    pub fn new(ctx: StreamContext, max_frame_bytes: usize) -> StreamTranslator {
        StreamTranslator {
            decoder: FrameDecoder::new(max_frame_bytes),
            events: Events {
                ctx: ChunkWriter::new(ctx),
                phase: Phase::Open,
                role_sent: false,
                tool_blocks: Vec::new(),
                reasoning_blocks: Vec::new(),
                answer_block: None,
                usage: None,
                service_tier: None,
                finish: None,
            },
        }
    }

    /// Token counts and finish reason seen so far.
    pub fn summary(&self) -> Summary {
        Summary {
            usage: self.events.usage.map(usage),
            finish_reason: self.events.finish,
        }
    }

    /// Bytes held for an incomplete frame.
    pub fn buffered(&self) -> usize {
        self.decoder.buffered()
    }

    /// Feeds upstream bytes; returns the SSE bytes they produce.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        if self.events.phase == Phase::Closed {
            return Vec::new();
        }
        // An SSE chunk is about as long as the event it came from.
        let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 2);
        let events = &mut self.events;
        self.decoder.feed(bytes, |frame| {
            events.on_frame(frame, &mut out);
            if events.phase == Phase::Closed {
                Flow::Stop
            } else {
                Flow::Continue
            }
        });
        out
    }

    /// End of the upstream body: closes the stream (with an error if it was cut short).
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let events = &mut self.events;
        match (events.phase, self.decoder.finish()) {
            (Phase::Closed, _) => {}
            (_, Err(e)) => events.fail(&decode_error(&e), &mut out),
            (Phase::Open, Ok(())) => events.fail(
                &ApiError::bad_upstream_stream("the stream ended before messageStop"),
                &mut out,
            ),
            (Phase::Stopped, Ok(())) => {
                events
                    .ctx
                    .end(&mut out, events.usage.map(usage), events.service_tier);
                events.phase = Phase::Closed;
            }
        }
        out
    }
}

impl Events {
    fn on_frame(&mut self, frame: Result<FrameRef<'_>, DecodeError>, out: &mut Vec<u8>) {
        match frame.map(|m| StreamEvent::from_frame(&m)) {
            Ok(Ok(event)) => self.on_event(event, out),
            Ok(Err(e)) => self.fail(&ApiError::bad_upstream_stream(&e.to_string()), out),
            Err(e) => self.fail(&decode_error(&e), out),
        }
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
                self.ctx.text(out, &text);
            }
            StreamEvent::Reasoning { block, delta } => {
                self.ensure_role(out);
                let index = match self.reasoning_blocks.iter().position(|b| *b == block) {
                    Some(i) => i,
                    None => {
                        self.reasoning_blocks.push(block);
                        self.reasoning_blocks.len() - 1
                    }
                };
                let fragment = match &delta {
                    ReasoningDelta::Text(t) => Fragment::Text(t),
                    ReasoningDelta::Signature(s) => Fragment::Signature(s),
                    ReasoningDelta::Redacted(d) => Fragment::Redacted(d),
                };
                let index = u32::try_from(index).unwrap_or(u32::MAX);
                self.ctx.reasoning(out, index, fragment);
            }
            StreamEvent::ToolUseStart { block, name, .. }
                if self.ctx.ctx.answer_tool.as_deref() == Some(name.as_str()) =>
            {
                self.ensure_role(out);
                self.answer_block = Some(block);
            }
            StreamEvent::ToolInputDelta { block, input } if self.answer_block == Some(block) => {
                let delta = Delta {
                    content: Some(&input),
                    ..Delta::default()
                };
                self.ctx.choice(out, delta, None);
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
                self.ctx.tool_call(out, call);
            }
            StreamEvent::ToolInputDelta { block, input } => {
                let Some(pos) = self.tool_blocks.iter().position(|b| *b == block) else {
                    let err =
                        ApiError::bad_upstream_stream("tool input for an unknown content block");
                    self.fail(&err, out);
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
                self.ctx.tool_call(out, call);
            }
            StreamEvent::MessageStop { stop_reason } => {
                self.ensure_role(out);
                let reason = match stop_reason.as_str() {
                    "tool_use" if self.answer_block.is_some() && self.tool_blocks.is_empty() => {
                        "stop"
                    }
                    other => finish_reason(other),
                };
                self.finish = Some(reason);
                self.ctx.choice(out, Delta::default(), Some(reason));
                self.phase = Phase::Stopped;
            }
            StreamEvent::Metadata {
                usage,
                service_tier,
            } => {
                self.usage = usage.or(self.usage);
                self.service_tier = service_tier.or(self.service_tier);
            }
            StreamEvent::Exception { name, message } => {
                self.fail(&from_stream_exception(&name, &message), out);
            }
            StreamEvent::Ignored => {}
        }
    }

    fn ensure_role(&mut self, out: &mut Vec<u8>) {
        if !self.role_sent {
            self.role_sent = true;
            self.ctx.role(out);
        }
    }

    /// Emits one `{"error": ...}` event and `[DONE]`, then stops.
    fn fail(&mut self, err: &ApiError, out: &mut Vec<u8>) {
        if self.phase != Phase::Closed {
            write_error(out, err);
            self.phase = Phase::Closed;
        }
    }
}

fn decode_error(e: &DecodeError) -> ApiError {
    ApiError::bad_upstream_stream(&e.to_string())
}
