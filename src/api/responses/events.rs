//! A streamed answer as the Responses API's server-sent events: the
//! conversation's stream reader with this writer.
//!
//! `response.created` and `response.in_progress`, then each output item in
//! Bedrock's order, opened (`response.output_item.added`), filled (text
//! deltas in a `response.content_part`, reasoning summary deltas, function
//! arguments deltas, a custom tool's input) and closed (`.done` events with
//! the whole item), then `response.completed` (or `response.incomplete`)
//! with the whole response and its usage; a failure mid-stream is
//! `response.failed`. Every event carries its `sequence_number`, and the
//! ids, indexes and text the SDKs check between added, delta and done.

use super::answer::{status, ResponseContext};
use super::tools::CallKind;
use super::wire::{
    write_response, OutputItem, OutputText, ResponseError, ResponseHead, ResponseUsage, SummaryText,
};
use crate::conversation::answer::{CallMade, Finish};
use crate::conversation::reasoning::ThinkingBlock;
use crate::conversation::stream::{AnswerWriter, Fragment, StreamReader};
use crate::error::ApiError;
use crate::outcome::Usage;
use serde_json::json;

/// Reads a ConverseStream answer and writes Responses events.
pub type ResponsesStream = StreamReader<EventWriter>;

/// The output item being streamed.
#[derive(Debug)]
enum Open {
    /// A message: its id and text so far.
    Message { id: String, text: String },
    /// A reasoning block: its id, text and signature (or redacted data).
    Reasoning {
        id: String,
        block: u32,
        text: String,
        signature: Option<String>,
        redacted: Option<String>,
    },
    /// A tool call: its id, Bedrock's id, Converse name and input so far.
    Call {
        id: String,
        call_id: String,
        converse: String,
        kind: CallKind,
        input: String,
    },
}

/// Writes the events of one streamed answer.
#[derive(Debug)]
pub struct EventWriter {
    ctx: ResponseContext,
    sequence: u64,
    /// Items done, in order (the final response's `output`).
    done: Vec<OutputItem>,
    open: Option<Open>,
    finish: Option<Finish>,
}

impl EventWriter {
    /// A writer for the answer `ctx` describes.
    pub fn new(ctx: ResponseContext) -> EventWriter {
        EventWriter {
            ctx,
            sequence: 0,
            done: Vec::new(),
            open: None,
            finish: None,
        }
    }

    /// Appends `event: <kind>\ndata: ` and the members every event starts with.
    fn begin(&mut self, out: &mut Vec<u8>, kind: &str) {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\ndata: {\"type\":\"");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\",\"sequence_number\":");
        push_number(out, self.sequence);
        self.sequence += 1;
    }

    /// An event whose other members are `fields` (a JSON object's members).
    fn event(&mut self, out: &mut Vec<u8>, kind: &str, fields: &serde_json::Value) {
        self.begin(out, kind);
        if let serde_json::Value::Object(map) = fields {
            for (k, v) in map {
                out.push(b',');
                push_json(out, k);
                out.push(b':');
                push_json(out, v);
            }
        }
        out.extend_from_slice(b"}\n\n");
    }

    /// An event carrying the whole response (`status`, output so far).
    fn response_event(
        &mut self,
        out: &mut Vec<u8>,
        kind: &str,
        status: &'static str,
        usage: Option<Usage>,
        tier: Option<&str>,
        error: Option<&ApiError>,
    ) {
        let (_, incomplete) = match status {
            "incomplete" => super::answer::status(self.finish),
            _ => ("", None),
        };
        let code = error.map(error_code);
        let head = ResponseHead {
            id: &self.ctx.id,
            object: "response",
            created_at: self.ctx.created,
            status,
            error: error.zip(code).map(|(e, code)| ResponseError {
                code,
                message: &e.message,
            }),
            incomplete_details: incomplete,
            model: &self.ctx.model,
            output: &self.done,
            usage: usage.map(ResponseUsage::from),
            service_tier: tier.unwrap_or("default"),
        };
        let mut response = Vec::with_capacity(256 + self.ctx.echo.len());
        write_response(&mut response, &head, &self.ctx.echo);
        self.begin(out, kind);
        out.extend_from_slice(b",\"response\":");
        out.extend_from_slice(&response);
        out.extend_from_slice(b"}\n\n");
    }

    /// An item opens at `output_index` = the items done so far.
    fn added(&mut self, out: &mut Vec<u8>, item: &OutputItem) {
        let index = self.done.len();
        self.event(
            out,
            "response.output_item.added",
            &json!({"output_index": index, "item": item}),
        );
    }

    /// Closes the open item, if any, with its `.done` events.
    fn close(&mut self, out: &mut Vec<u8>) {
        let Some(open) = self.open.take() else {
            return;
        };
        let index = self.done.len();
        let item = match open {
            Open::Message { id, text } => self.close_message(out, index, id, text),
            Open::Reasoning {
                id,
                text,
                signature,
                redacted,
                ..
            } => self.close_reasoning(out, index, id, text, signature, redacted),
            Open::Call {
                id,
                call_id,
                converse,
                input,
                ..
            } => self.close_call(out, index, id, call_id, converse, input),
        };
        self.event(
            out,
            "response.output_item.done",
            &json!({"output_index": index, "item": item}),
        );
        self.done.push(item);
    }

    /// The `.done` events of a message, and its item.
    fn close_message(
        &mut self,
        out: &mut Vec<u8>,
        index: usize,
        id: String,
        text: String,
    ) -> OutputItem {
        let part = OutputText::new(text.clone(), Vec::new());
        self.event(
            out,
            "response.output_text.done",
            &json!({"item_id": id, "output_index": index, "content_index": 0, "text": text, "logprobs": []}),
        );
        self.event(
            out,
            "response.content_part.done",
            &json!({"item_id": id, "output_index": index, "content_index": 0, "part": part}),
        );
        OutputItem::Message {
            id,
            role: "assistant",
            status: "completed",
            content: vec![part],
        }
    }

    /// The `.done` events of a reasoning item (its summary's, when asked
    /// for), and the item, carrying its block.
    fn close_reasoning(
        &mut self,
        out: &mut Vec<u8>,
        index: usize,
        id: String,
        text: String,
        signature: Option<String>,
        redacted: Option<String>,
    ) -> OutputItem {
        let summarized = self.ctx.summary && !text.is_empty();
        if summarized {
            self.event(
                out,
                "response.reasoning_summary_text.done",
                &json!({"item_id": id, "output_index": index, "summary_index": 0, "text": text}),
            );
            self.event(
                out,
                "response.reasoning_summary_part.done",
                &json!({"item_id": id, "output_index": index, "summary_index": 0,
                        "part": {"type": "summary_text", "text": text}}),
            );
        }
        let block = match redacted {
            Some(data) => ThinkingBlock::RedactedThinking { data },
            None => ThinkingBlock::Thinking {
                thinking: text,
                signature,
            },
        };
        let mut item = self.ctx.reasoning_item(index, &block, true);
        if let OutputItem::Reasoning { id: item_id, .. } = &mut item {
            *item_id = id;
        }
        item
    }

    /// The `.done` events of a function or custom tool call, and its item.
    fn close_call(
        &mut self,
        out: &mut Vec<u8>,
        index: usize,
        id: String,
        call_id: String,
        converse: String,
        input: String,
    ) -> OutputItem {
        let call = CallMade {
            id: call_id,
            name: converse,
            arguments: if input.is_empty() { "{}".into() } else { input },
        };
        let mut item = self.ctx.call_item(index, &call, true);
        match &mut item {
            OutputItem::FunctionCall {
                id: item_id,
                name,
                arguments,
                ..
            } => {
                *item_id = id.clone();
                let fields = json!({"item_id": id, "output_index": index, "arguments": arguments, "name": name});
                self.event(out, "response.function_call_arguments.done", &fields);
            }
            OutputItem::CustomToolCall {
                id: item_id, input, ..
            } => {
                *item_id = id.clone();
                let delta = json!({"item_id": id, "output_index": index, "delta": input});
                self.event(out, "response.custom_tool_call_input.delta", &delta);
                let done = json!({"item_id": id, "output_index": index, "input": input});
                self.event(out, "response.custom_tool_call_input.done", &done);
            }
            _ => {}
        }
        item
    }
}

/// OpenAI's `error.code` for a failure mid-stream (what Codex and the SDKs
/// act on: rate limits and server errors are retried, invalid prompts not).
fn error_code(e: &ApiError) -> &'static str {
    match e.status {
        429 => "rate_limit_exceeded",
        400..=499 => "invalid_prompt",
        _ => "server_error",
    }
}

fn push_number(out: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        if let Some(d) = digits.get_mut(at) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(at..).unwrap_or_default());
}

fn push_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.extend_from_slice(b"null");
    }
}

impl AnswerWriter for EventWriter {
    fn answer_tool(&self) -> Option<&str> {
        self.ctx.answer_tool.as_deref()
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        self.response_event(out, "response.created", "in_progress", None, None, None);
        self.response_event(out, "response.in_progress", "in_progress", None, None, None);
    }

    fn text(&mut self, out: &mut Vec<u8>, text: &str) {
        if !matches!(self.open, Some(Open::Message { .. })) {
            self.close(out);
            let index = self.done.len();
            let id = self.ctx.item_id("msg_", index, None);
            let item = OutputItem::Message {
                id: id.clone(),
                role: "assistant",
                status: "in_progress",
                content: Vec::new(),
            };
            self.added(out, &item);
            self.event(
                out,
                "response.content_part.added",
                &json!({"item_id": id, "output_index": index, "content_index": 0,
                        "part": OutputText::new(String::new(), Vec::new())}),
            );
            self.open = Some(Open::Message {
                id,
                text: String::new(),
            });
        }
        let index = self.done.len();
        self.begin(out, "response.output_text.delta");
        if let Some(Open::Message { id, text: acc }) = &mut self.open {
            out.extend_from_slice(b",\"item_id\":");
            push_json(out, id);
            out.extend_from_slice(b",\"output_index\":");
            push_number(out, index as u64);
            out.extend_from_slice(b",\"content_index\":0,\"delta\":");
            push_json(out, text);
            out.extend_from_slice(b",\"logprobs\":[]}\n\n");
            acc.push_str(text);
        }
    }

    fn reasoning(&mut self, out: &mut Vec<u8>, index: u32, fragment: Fragment<'_>) {
        let same = matches!(&self.open, Some(Open::Reasoning { block, .. }) if *block == index);
        if !same {
            self.close(out);
            let at = self.done.len();
            let id = self.ctx.item_id("rs_", at, None);
            let item = OutputItem::Reasoning {
                id: id.clone(),
                summary: Vec::new(),
                encrypted_content: None,
                status: "in_progress",
            };
            self.added(out, &item);
            self.open = Some(Open::Reasoning {
                id,
                block: index,
                text: String::new(),
                signature: None,
                redacted: None,
            });
        }
        let at = self.done.len();
        let summary = self.ctx.summary;
        let mut events: Vec<(&str, serde_json::Value)> = Vec::new();
        if let Some(Open::Reasoning {
            id,
            text,
            signature,
            redacted,
            ..
        }) = &mut self.open
        {
            match fragment {
                Fragment::Text(t) if !t.is_empty() => {
                    if summary {
                        if text.is_empty() {
                            events.push((
                                "response.reasoning_summary_part.added",
                                json!({"item_id": id, "output_index": at, "summary_index": 0,
                                       "part": SummaryText {kind: "summary_text", text: String::new()}}),
                            ));
                        }
                        events.push((
                            "response.reasoning_summary_text.delta",
                            json!({"item_id": id, "output_index": at, "summary_index": 0, "delta": t}),
                        ));
                    }
                    text.push_str(t);
                }
                Fragment::Text(_) => {}
                Fragment::Signature(s) => signature.get_or_insert_with(String::new).push_str(s),
                Fragment::Redacted(d) => redacted.get_or_insert_with(String::new).push_str(d),
            }
        }
        for (kind, fields) in events {
            self.event(out, kind, &fields);
        }
    }

    fn tool_start(&mut self, out: &mut Vec<u8>, _index: u32, call_id: &str, name: &str) {
        self.close(out);
        let at = self.done.len();
        let (kind, shown, namespace) = self.ctx.call_names(name);
        let item = match kind {
            CallKind::Function => OutputItem::FunctionCall {
                id: self.ctx.item_id("fc_", at, None),
                call_id: call_id.to_string(),
                name: shown,
                namespace,
                arguments: String::new(),
                status: "in_progress",
            },
            CallKind::Custom => OutputItem::CustomToolCall {
                id: self.ctx.item_id("ctc_", at, None),
                call_id: call_id.to_string(),
                name: shown,
                namespace,
                input: String::new(),
                status: "in_progress",
            },
        };
        let id = match &item {
            OutputItem::FunctionCall { id, .. } | OutputItem::CustomToolCall { id, .. } => {
                id.clone()
            }
            _ => String::new(),
        };
        self.added(out, &item);
        self.open = Some(Open::Call {
            id,
            call_id: call_id.to_string(),
            converse: name.to_string(),
            kind,
            input: String::new(),
        });
    }

    fn tool_input(&mut self, out: &mut Vec<u8>, _index: u32, input: &str) {
        let at = self.done.len();
        let mut delta = None;
        if let Some(Open::Call {
            id,
            kind,
            input: acc,
            ..
        }) = &mut self.open
        {
            acc.push_str(input);
            if *kind == CallKind::Function && !input.is_empty() {
                delta = Some(json!({"item_id": id, "output_index": at, "delta": input}));
            }
        }
        if let Some(fields) = delta {
            self.event(out, "response.function_call_arguments.delta", &fields);
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>, finish: Finish) {
        self.close(out);
        self.finish = Some(finish);
    }

    fn end(&mut self, out: &mut Vec<u8>, usage: Option<Usage>, service_tier: Option<&'static str>) {
        self.close(out);
        let (status, _) = status(self.finish);
        let kind = if status == "incomplete" {
            "response.incomplete"
        } else {
            "response.completed"
        };
        self.response_event(out, kind, status, usage, service_tier, None);
    }

    fn fail(&mut self, out: &mut Vec<u8>, err: &ApiError) {
        self.open = None;
        self.response_event(out, "response.failed", "failed", None, None, Some(err));
    }
}
