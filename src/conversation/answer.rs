//! What the model answered, API-neutral: a Converse answer reduced to its
//! text, tool calls, reasoning, citations, finish and token counts, for any
//! OpenAI API to write in its own shape.

use super::json_text;
use super::reasoning::ThinkingBlock;
use crate::bedrock::converse::{ConverseResponse, ServedTier, TokenUsage};
use crate::error::{json_fault, ApiError};
use crate::outcome::{Outcome, Usage};

/// How an answer finished (Converse's `stopReason`, in OpenAI's terms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// The model finished (`end_turn`, `stop_sequence`).
    Stop,
    /// It ran out of tokens (`max_tokens`, `model_context_window_exceeded`).
    Length,
    /// It called tools (`tool_use`).
    ToolCalls,
    /// A filter or guardrail stopped it (`content_filtered`, `guardrail_intervened`).
    ContentFilter,
}

impl Finish {
    /// The finish for a Converse `stopReason`.
    pub fn of(stop_reason: &str) -> Finish {
        match stop_reason {
            "max_tokens" | "model_context_window_exceeded" => Finish::Length,
            "tool_use" => Finish::ToolCalls,
            "content_filtered" | "guardrail_intervened" => Finish::ContentFilter,
            _ => Finish::Stop,
        }
    }

    /// OpenAI's `finish_reason` word for it (also what metrics and access
    /// logs say of every API's answers).
    pub fn name(self) -> &'static str {
        match self {
            Finish::Stop => "stop",
            Finish::Length => "length",
            Finish::ToolCalls => "tool_calls",
            Finish::ContentFilter => "content_filter",
        }
    }

    /// The finish of an answer whose `stopReason` is `stop_reason`; a
    /// `tool_use` stop that called only the answer tool (structured output by
    /// a forced tool) finished its answer.
    pub fn of_answer(stop_reason: &str, only_answer_tool: bool) -> Finish {
        match Finish::of(stop_reason) {
            Finish::ToolCalls if only_answer_tool => Finish::Stop,
            other => other,
        }
    }
}

/// Token counts from Bedrock's.
///
/// Bedrock's `inputTokens` leaves out cached tokens while `totalTokens`
/// counts them: the prompt is input + cache reads + cache writes, so that
/// prompt + completion = total.
pub fn usage(u: TokenUsage) -> Usage {
    let read = u.cache_read_input_tokens.unwrap_or(0);
    let write = u.cache_write_input_tokens.unwrap_or(0);
    Usage {
        input: u.input_tokens.saturating_add(read).saturating_add(write),
        output: u.output_tokens,
        total: u.total_tokens,
        cache_read: read,
        cache_write: write,
        cache_reported: u.cache_read_input_tokens.is_some() || u.cache_write_input_tokens.is_some(),
    }
}

/// A tool call the model made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallMade {
    /// Bedrock's `toolUseId`.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// Its input, as JSON text.
    pub arguments: String,
}

/// A web source cited by a passage of the answer's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebCitation {
    /// First character of the passage in the text (in characters).
    pub start: usize,
    /// One past its last character.
    pub end: usize,
    /// The page's title.
    pub title: String,
    /// The page's URL.
    pub url: String,
}

/// A Converse answer reduced to what OpenAI's shapes carry.
#[derive(Debug)]
pub struct Answer {
    /// All text blocks concatenated; `None` when there was no text.
    pub text: Option<String>,
    /// Tool calls in order.
    pub tool_calls: Vec<CallMade>,
    /// Reasoning text, all reasoning blocks concatenated; `None` without any.
    pub reasoning: Option<String>,
    /// Reasoning blocks in order.
    pub thinking_blocks: Vec<ThinkingBlock>,
    /// How it finished.
    pub finish: Finish,
    /// Token counts.
    pub usage: Option<Usage>,
    /// Web citations of the text.
    pub citations: Vec<WebCitation>,
    /// The service tier Bedrock served, when it said.
    pub service_tier: Option<&'static str>,
}

impl Answer {
    /// What metrics, budgets and access logs learn from it.
    pub fn outcome(&self) -> Outcome {
        Outcome {
            usage: self.usage,
            finish_reason: Some(self.finish.name()),
        }
    }
}

/// Appends `piece` to the answer's text.
fn push_text(text: &mut Option<String>, piece: &str) {
    text.get_or_insert_with(String::new).push_str(piece);
}

/// Parses a Converse JSON body. With `answer_tool` (structured output by a
/// forced tool), that tool's input is the answer's text, not a tool call.
pub fn parse_answer(body: &[u8], answer_tool: Option<&str>) -> Result<Answer, ApiError> {
    let resp: ConverseResponse = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_upstream_response(format!(
            "Bedrock answered with a body that is not a Converse response: {}.",
            json_fault(&e)
        ))
    })?;
    let Some(message) = resp.output.message else {
        return Err(ApiError::bad_upstream_response(
            "Bedrock answered without an output message.",
        ));
    };
    let mut text: Option<String> = None;
    let mut tool_calls = Vec::new();
    let mut reasoning: Option<String> = None;
    let mut thinking_blocks = Vec::new();
    let mut citations = Vec::new();
    for block in message.content {
        if let Some(r) = block.reasoning_content {
            if let Some(t) = r.reasoning_text {
                reasoning.get_or_insert_with(String::new).push_str(&t.text);
                thinking_blocks.push(ThinkingBlock::Thinking {
                    thinking: t.text,
                    signature: t.signature,
                });
            } else if let Some(data) = r.redacted_content {
                reasoning.get_or_insert_with(String::new);
                thinking_blocks.push(ThinkingBlock::RedactedThinking { data });
            }
        }
        if let Some(t) = block.text {
            match &mut text {
                Some(acc) => acc.push_str(&t),
                None => text = Some(t),
            }
        }
        if let Some(cited) = block.citations_content {
            // The cited text is part of the answer; web sources become citations.
            let start = text.as_deref().map_or(0, |t| t.chars().count());
            for piece in cited.content.iter().filter_map(|c| c.text.as_deref()) {
                push_text(&mut text, piece);
            }
            let end = text.as_deref().map_or(0, |t| t.chars().count());
            for c in cited.citations {
                let url = c.location.and_then(|l| l.web).and_then(|w| w.url);
                if let Some(url) = url {
                    citations.push(WebCitation {
                        start,
                        end,
                        title: c.title.unwrap_or_default(),
                        url,
                    });
                }
            }
        }
        if let Some(u) = block.tool_use {
            if Some(u.name.as_str()) == answer_tool {
                push_text(&mut text, &json_text(&u.input));
                continue;
            }
            tool_calls.push(CallMade {
                id: u.tool_use_id,
                name: u.name,
                arguments: json_text(&u.input),
            });
        }
    }
    let finish = Finish::of_answer(
        &resp.stop_reason,
        answer_tool.is_some() && tool_calls.is_empty(),
    );
    Ok(Answer {
        text,
        tool_calls,
        reasoning,
        thinking_blocks,
        finish,
        citations,
        usage: resp.usage.map(usage),
        service_tier: resp.service_tier.as_ref().and_then(ServedTier::name),
    })
}
