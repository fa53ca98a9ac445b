//! The Responses answer phase: what the request phase leaves for it, and a
//! buffered Converse answer written as a `response` object.

use super::events::{EventWriter, ResponsesStream};
use super::items::{carrying_id, encrypted_content, ItemRef};
use super::tools::{CallKind, ToolNames};
use super::wire::{
    write_response, Incomplete, OutputItem, OutputText, ResponseHead, ResponseUsage, SummaryText,
    UrlAnnotation,
};
use crate::api::{Handoff, Mode, Rewritten, UpstreamAnswer};
use crate::bedrock::eventstream::DEFAULT_MAX_BUFFERED;
use crate::conversation::answer::{parse_answer, Answer, CallMade, Finish, WebCitation};
use crate::conversation::reasoning::ThinkingBlock;
use crate::conversation::stream::replay;
use crate::secret::Key;
use std::rc::Rc;

/// What every output of one answer shares.
#[derive(Debug)]
pub struct ResponseContext {
    /// `resp_...`.
    pub id: String,
    /// The model id the caller asked for.
    pub model: Rc<str>,
    /// Unix seconds.
    pub created: u64,
    /// The request's settings, as the answer echoes them.
    pub echo: Rc<str>,
    /// Reasoning text comes back as summary parts.
    pub summary: bool,
    /// Reasoning comes back with its `encrypted_content`.
    pub encrypted_reasoning: bool,
    /// The tools, by Converse name.
    pub tools: Rc<ToolNames>,
    /// The tool whose input is the answer (structured output by a forced tool).
    pub answer_tool: Option<Rc<str>>,
    /// The key of item ids that carry their item (buffered answers only).
    pub item_key: Option<Key>,
}

impl ResponseContext {
    /// The id of output item `index` that carries `item` (checked with the
    /// item key), or, without a key or for a streamed item, one that carries
    /// nothing: `<prefix><response id>_<index>`.
    pub fn item_id(&self, prefix: &str, index: usize, item: Option<&ItemRef>) -> String {
        let carried = item.and_then(|item| {
            let key = self.item_key.as_ref()?.bytes();
            carrying_id(key, item)
        });
        carried.unwrap_or_else(|| {
            let rid = self.id.strip_prefix("resp_").unwrap_or(&self.id);
            format!("{prefix}{rid}_{index}")
        })
    }

    /// How a tool call named `converse` comes back: its kind, name and namespace.
    pub fn call_names(&self, converse: &str) -> (CallKind, String, Option<String>) {
        match self.tools.by_converse(converse) {
            Some(t) => (t.kind, t.name.clone(), t.namespace.clone()),
            None => (CallKind::Function, converse.to_string(), None),
        }
    }

    /// A reasoning block as an output item.
    pub fn reasoning_item(
        &self,
        index: usize,
        block: &ThinkingBlock,
        streamed: bool,
    ) -> OutputItem {
        let summary = match block {
            ThinkingBlock::Thinking { thinking, .. } if self.summary && !thinking.is_empty() => {
                vec![SummaryText {
                    kind: "summary_text",
                    text: thinking.clone(),
                }]
            }
            _ => Vec::new(),
        };
        let reference = ItemRef::Reasoning(self.id.clone(), index_u32(index));
        OutputItem::Reasoning {
            id: self.item_id("rs_", index, (!streamed).then_some(&reference)),
            summary,
            encrypted_content: self.encrypted_reasoning.then(|| encrypted_content(block)),
            status: "completed",
        }
    }

    /// A tool call as an output item.
    pub fn call_item(&self, index: usize, call: &CallMade, streamed: bool) -> OutputItem {
        let (kind, name, namespace) = self.call_names(&call.name);
        match kind {
            CallKind::Function => {
                let reference = ItemRef::Call(
                    call.id.clone(),
                    name.clone(),
                    namespace.clone(),
                    call.arguments.clone(),
                );
                OutputItem::FunctionCall {
                    id: self.item_id("fc_", index, (!streamed).then_some(&reference)),
                    call_id: call.id.clone(),
                    name,
                    namespace,
                    arguments: call.arguments.clone(),
                    status: "completed",
                }
            }
            CallKind::Custom => {
                let input = custom_input(&call.arguments);
                let reference = ItemRef::Custom(
                    call.id.clone(),
                    name.clone(),
                    namespace.clone(),
                    input.clone(),
                );
                OutputItem::CustomToolCall {
                    id: self.item_id("ctc_", index, (!streamed).then_some(&reference)),
                    call_id: call.id.clone(),
                    name,
                    namespace,
                    input,
                    status: "completed",
                }
            }
        }
    }
}

fn index_u32(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}

/// A custom tool's free text: the `input` its one-property tool was called
/// with (the whole input as JSON text if the model sent something else).
pub fn custom_input(arguments: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(arguments) {
        Ok(serde_json::Value::Object(mut o)) => match o.remove("input") {
            Some(serde_json::Value::String(s)) => s,
            _ => arguments.to_string(),
        },
        _ => arguments.to_string(),
    }
}

/// A citation as OpenAI's `url_citation` annotation.
pub fn annotation(c: WebCitation) -> UrlAnnotation {
    UrlAnnotation {
        kind: "url_citation",
        start_index: c.start,
        end_index: c.end,
        title: c.title,
        url: c.url,
    }
}

/// The status and `incomplete_details` of an answer that finished so.
pub fn status(finish: Option<Finish>) -> (&'static str, Option<Incomplete>) {
    match finish {
        Some(Finish::Length) => (
            "incomplete",
            Some(Incomplete {
                reason: "max_output_tokens",
            }),
        ),
        Some(Finish::ContentFilter) => (
            "incomplete",
            Some(Incomplete {
                reason: "content_filter",
            }),
        ),
        _ => ("completed", None),
    }
}

/// What the Responses answer phase needs to know about the request.
#[derive(Debug)]
pub struct ResponsesPending {
    /// What every API's answer phase knows.
    pub handoff: Handoff,
    /// How the answer travels back.
    pub mode: Mode,
    /// What the answer's outputs share (its id is set when the answer arrives).
    pub context: ResponseContext,
}

impl ResponsesPending {
    fn context(&self, aws_request_id: Option<&str>) -> ResponseContext {
        let c = &self.context;
        ResponseContext {
            id: self.handoff.response_id("resp_", aws_request_id),
            model: Rc::clone(&c.model),
            created: c.created,
            echo: Rc::clone(&c.echo),
            summary: c.summary,
            encrypted_reasoning: c.encrypted_reasoning,
            tools: Rc::clone(&c.tools),
            answer_tool: c.answer_tool.clone(),
            item_key: c.item_key.clone(),
        }
    }

    /// The translator of a streamed answer.
    pub fn translator(&self, aws_request_id: Option<&str>) -> ResponsesStream {
        ResponsesStream::new(
            EventWriter::new(self.context(aws_request_id)),
            DEFAULT_MAX_BUFFERED,
        )
    }

    /// A successful buffered answer as a `response` object (or, replayed,
    /// as its events; or the error that replaces it).
    pub fn rewrite_ok(&self, a: &UpstreamAnswer<'_>) -> Rewritten {
        let ctx = self.context(a.aws_request_id);
        let answer = match parse_answer(a.body, ctx.answer_tool.as_deref()) {
            Ok(answer) => answer,
            Err(e) => return Rewritten::error(&e),
        };
        let outcome = answer.outcome();
        if self.mode == Mode::Replay {
            let mut writer = EventWriter::new(ctx);
            let mut out = Vec::with_capacity(a.body.len() * 3);
            replay(&answer, &mut writer, &mut out);
            return Rewritten::sse(out, outcome);
        }
        Rewritten::json(response_json(&ctx, answer), outcome)
    }
}

/// A buffered answer's `response` object.
pub fn response_json(ctx: &ResponseContext, answer: Answer) -> Vec<u8> {
    let mut output = Vec::with_capacity(answer.thinking_blocks.len() + answer.tool_calls.len() + 1);
    for block in &answer.thinking_blocks {
        output.push(ctx.reasoning_item(output.len(), block, false));
    }
    if let Some(text) = answer.text {
        let index = output.len();
        let reference = ItemRef::Message(text.clone());
        let annotations = answer.citations.into_iter().map(annotation).collect();
        output.push(OutputItem::Message {
            id: ctx.item_id("msg_", index, Some(&reference)),
            role: "assistant",
            status: "completed",
            content: vec![OutputText::new(text, annotations)],
        });
    }
    for call in &answer.tool_calls {
        output.push(ctx.call_item(output.len(), call, false));
    }
    let (status, incomplete_details) = status(Some(answer.finish));
    let head = ResponseHead {
        id: &ctx.id,
        object: "response",
        created_at: ctx.created,
        status,
        error: None,
        incomplete_details,
        model: &ctx.model,
        output: &output,
        usage: answer.usage.map(ResponseUsage::from),
        service_tier: answer.service_tier.unwrap_or("default"),
    };
    let mut out = Vec::with_capacity(512 + ctx.echo.len());
    write_response(&mut out, &head, &ctx.echo);
    out
}
