//! A streamed answer, API-neutral: ConverseStream bytes in, as they arrive;
//! the events of the answer out, through an [`AnswerWriter`] that writes
//! them in one OpenAI API's shape.
//!
//! [`StreamReader::feed`] takes whatever bytes arrived and returns the bytes
//! the writer made of every frame they completed; [`StreamReader::finish`]
//! closes the stream. The reader keeps the bookkeeping every API needs: the
//! answer starts once, tool calls are numbered 0, 1, ... (Bedrock numbers
//! content blocks, text and tools together), reasoning blocks likewise, the
//! answer tool's input (structured output by a forced tool) is text, nothing
//! follows the finish but usage, and after an error nothing at all.

use super::answer::{usage, Answer, Finish};
use super::reasoning::ThinkingBlock;
use crate::bedrock::converse::TokenUsage;
use crate::bedrock::eventstream::{DecodeError, Flow, FrameDecoder, FrameRef};
use crate::bedrock::stream::{ReasoningDelta, StreamEvent};
use crate::error::bedrock::from_stream_exception;
use crate::error::ApiError;
use crate::outcome::{Outcome, Usage};

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

/// Writes the events of one streamed answer in an API's shape, appending
/// bytes to `out`. The reader calls [`AnswerWriter::start`] once before
/// anything else, and [`AnswerWriter::end`] or [`AnswerWriter::fail`] last.
pub trait AnswerWriter {
    /// The tool whose input is the answer's text (structured output by a
    /// forced tool), if the request made one.
    fn answer_tool(&self) -> Option<&str>;
    /// The answer begins.
    fn start(&mut self, out: &mut Vec<u8>);
    /// A fragment of the answer's text.
    fn text(&mut self, out: &mut Vec<u8>, text: &str);
    /// A fragment of reasoning block `index` (0, 1, ... in the answer).
    fn reasoning(&mut self, out: &mut Vec<u8>, index: u32, fragment: Fragment<'_>);
    /// Tool call `index` (0, 1, ... in the answer) begins.
    fn tool_start(&mut self, out: &mut Vec<u8>, index: u32, id: &str, name: &str);
    /// A fragment of tool call `index`'s input (JSON text).
    fn tool_input(&mut self, out: &mut Vec<u8>, index: u32, input: &str);
    /// A whole tool call at once (a replayed answer's): by default its
    /// start, then its input.
    fn tool_call(&mut self, out: &mut Vec<u8>, index: u32, id: &str, name: &str, input: &str) {
        self.tool_start(out, index, id, name);
        self.tool_input(out, index, input);
    }
    /// The model stopped.
    fn finish(&mut self, out: &mut Vec<u8>, finish: Finish);
    /// The stream ended after the finish, with the answer's usage.
    fn end(&mut self, out: &mut Vec<u8>, usage: Option<Usage>, service_tier: Option<&'static str>);
    /// The stream failed; nothing is written after this.
    fn fail(&mut self, out: &mut Vec<u8>, err: &ApiError);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Open,
    Stopped,
    Closed,
}

/// Reads one ConverseStream answer and writes it with `W`.
#[derive(Debug)]
pub struct StreamReader<W> {
    decoder: FrameDecoder,
    events: Events<W>,
}

/// What the events of one answer have shown so far.
#[derive(Debug)]
struct Events<W> {
    writer: W,
    phase: Phase,
    started: bool,
    /// Bedrock content block index of each tool call, in order: position = the call's index.
    tool_blocks: Vec<u32>,
    /// Bedrock content block index of each reasoning block, in order: position = its index.
    reasoning_blocks: Vec<u32>,
    /// The content block of the answer tool, whose input streams as text.
    answer_block: Option<u32>,
    usage: Option<TokenUsage>,
    service_tier: Option<&'static str>,
    finish: Option<Finish>,
}

/// A position in a list as an API's index (never past `u32::MAX`).
fn index_of(position: usize) -> u32 {
    u32::try_from(position).unwrap_or(u32::MAX)
}

impl<W: AnswerWriter> StreamReader<W> {
    /// A reader for one streamed answer, written by `writer`; frames over
    /// `max_frame_bytes` fail the stream.
    pub fn new(writer: impl Into<W>, max_frame_bytes: usize) -> StreamReader<W> {
        StreamReader {
            decoder: FrameDecoder::new(max_frame_bytes),
            events: Events {
                writer: writer.into(),
                phase: Phase::Open,
                started: false,
                tool_blocks: Vec::new(),
                reasoning_blocks: Vec::new(),
                answer_block: None,
                usage: None,
                service_tier: None,
                finish: None,
            },
        }
    }

    /// Token counts and finish seen so far.
    pub fn outcome(&self) -> Outcome {
        Outcome {
            usage: self.events.usage.map(usage),
            finish_reason: self.events.finish.map(Finish::name),
        }
    }

    /// Bytes held for an incomplete frame.
    pub fn buffered(&self) -> usize {
        self.decoder.buffered()
    }

    /// Feeds upstream bytes; returns the bytes they produce.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        if self.events.phase == Phase::Closed {
            return Vec::new();
        }
        // An event out is about as long as the event it came from.
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
                let usage = events.usage.map(usage);
                events.writer.end(&mut out, usage, events.service_tier);
                events.phase = Phase::Closed;
            }
        }
        out
    }
}

impl<W: AnswerWriter> Events<W> {
    fn on_frame(&mut self, frame: Result<FrameRef<'_>, DecodeError>, out: &mut Vec<u8>) {
        match frame.map(|m| StreamEvent::from_frame(&m)) {
            Ok(Ok(event)) => self.on_event(event, out),
            Ok(Err(e)) => self.fail(&ApiError::bad_upstream_stream(&e.to_string()), out),
            Err(e) => self.fail(&decode_error(&e), out),
        }
    }

    fn on_event(&mut self, event: StreamEvent, out: &mut Vec<u8>) {
        // After messageStop only usage and errors may follow; anything else
        // would put events after the finish.
        if self.phase == Phase::Stopped
            && !matches!(
                event,
                StreamEvent::Metadata { .. } | StreamEvent::Exception { .. }
            )
        {
            return;
        }
        match event {
            StreamEvent::MessageStart => self.ensure_started(out),
            StreamEvent::TextDelta(text) => {
                self.ensure_started(out);
                self.writer.text(out, &text);
            }
            StreamEvent::Reasoning { block, delta } => {
                self.ensure_started(out);
                let position = match self.reasoning_blocks.iter().position(|b| *b == block) {
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
                self.writer.reasoning(out, index_of(position), fragment);
            }
            StreamEvent::ToolUseStart { block, name, .. }
                if self.writer.answer_tool() == Some(name.as_str()) =>
            {
                self.ensure_started(out);
                self.answer_block = Some(block);
            }
            StreamEvent::ToolInputDelta { block, input } if self.answer_block == Some(block) => {
                self.writer.text(out, &input);
            }
            StreamEvent::ToolUseStart { block, id, name } => {
                self.ensure_started(out);
                let index = index_of(self.tool_blocks.len());
                self.tool_blocks.push(block);
                self.writer.tool_start(out, index, &id, &name);
            }
            StreamEvent::ToolInputDelta { block, input } => {
                let Some(position) = self.tool_blocks.iter().position(|b| *b == block) else {
                    let err =
                        ApiError::bad_upstream_stream("tool input for an unknown content block");
                    self.fail(&err, out);
                    return;
                };
                self.writer.tool_input(out, index_of(position), &input);
            }
            StreamEvent::MessageStop { stop_reason } => {
                self.ensure_started(out);
                let only_answer_tool = self.answer_block.is_some() && self.tool_blocks.is_empty();
                let finish = Finish::of_answer(&stop_reason, only_answer_tool);
                self.finish = Some(finish);
                self.writer.finish(out, finish);
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

    fn ensure_started(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            self.started = true;
            self.writer.start(out);
        }
    }

    /// Writes the error, then stops.
    fn fail(&mut self, err: &ApiError, out: &mut Vec<u8>) {
        if self.phase != Phase::Closed {
            self.writer.fail(out, err);
            self.phase = Phase::Closed;
        }
    }
}

fn decode_error(e: &DecodeError) -> ApiError {
    ApiError::bad_upstream_stream(&e.to_string())
}

/// A complete answer written as the events its stream would have made
/// (where a model cannot stream what was asked, e.g. Mistral Large's tools).
pub fn replay<W: AnswerWriter>(answer: &Answer, writer: &mut W, out: &mut Vec<u8>) {
    writer.start(out);
    for (index, block) in (0u32..).zip(answer.thinking_blocks.iter()) {
        match block {
            ThinkingBlock::Thinking {
                thinking,
                signature,
            } => {
                writer.reasoning(out, index, Fragment::Text(thinking));
                if let Some(s) = signature {
                    writer.reasoning(out, index, Fragment::Signature(s));
                }
            }
            ThinkingBlock::RedactedThinking { data } => {
                writer.reasoning(out, index, Fragment::Redacted(data));
            }
        }
    }
    if let Some(text) = answer.text.as_deref().filter(|t| !t.is_empty()) {
        writer.text(out, text);
    }
    for (index, call) in (0u32..).zip(answer.tool_calls.iter()) {
        writer.tool_call(out, index, &call.id, &call.name, &call.arguments);
    }
    writer.finish(out, answer.finish);
    writer.end(out, answer.usage, answer.service_tier);
}
