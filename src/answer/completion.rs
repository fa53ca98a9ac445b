//! Converse answer → OpenAI `chat.completion`.

use crate::bedrock::converse::{ConverseResponse, ServedTier, TokenUsage};
use crate::error::ApiError;
use crate::exchange::record::Summary;
use crate::openai::{
    Annotation, AssistantMessage, ChatCompletion, Choice, FunctionCall, PromptTokensDetails,
    ThinkingBlock, ToolCall, UrlCitation, Usage,
};

/// What the response needs from the request side.
#[derive(Debug, Clone)]
pub struct ResponseContext<'a> {
    /// `chatcmpl-...`.
    pub id: &'a str,
    /// The model id the caller asked for.
    pub model: &'a str,
    /// Unix seconds.
    pub created: u64,
    /// The tool whose input is the answer (structured output by a forced tool).
    pub answer_tool: Option<&'a str>,
}

/// OpenAI `finish_reason` for a Converse `stopReason`.
pub fn finish_reason(stop_reason: &str) -> &'static str {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "content_filtered" | "guardrail_intervened" => "content_filter",
        _ => "stop",
    }
}

/// OpenAI usage from Bedrock's token counts.
///
/// Bedrock's `inputTokens` leaves out cached tokens while `totalTokens`
/// counts them: the prompt is input + cache reads + cache writes, so that
/// prompt + completion = total.
pub fn usage(u: TokenUsage) -> Usage {
    let read = u.cache_read_input_tokens.unwrap_or(0);
    let write = u.cache_write_input_tokens.unwrap_or(0);
    let cached = u.cache_read_input_tokens.is_some() || u.cache_write_input_tokens.is_some();
    Usage {
        prompt_tokens: u.input_tokens.saturating_add(read).saturating_add(write),
        completion_tokens: u.output_tokens,
        total_tokens: u.total_tokens,
        prompt_tokens_details: cached.then_some(PromptTokensDetails {
            cached_tokens: read,
        }),
        cache_write_tokens: write,
    }
}

/// A Converse answer reduced to what OpenAI's shapes carry.
#[derive(Debug)]
pub struct Answer {
    /// All text blocks concatenated; `None` when there was no text.
    pub text: Option<String>,
    /// Tool calls in order.
    pub tool_calls: Vec<ToolCall>,
    /// Reasoning text, all reasoning blocks concatenated; `None` without any.
    pub reasoning: Option<String>,
    /// Reasoning blocks in order.
    pub thinking_blocks: Vec<ThinkingBlock>,
    /// OpenAI finish reason.
    pub finish_reason: &'static str,
    /// Token counts.
    pub usage: Option<Usage>,
    /// Web citations of the text.
    pub annotations: Vec<Annotation>,
    /// The service tier Bedrock served, when it said.
    pub service_tier: Option<&'static str>,
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
            "Bedrock answered with a body that is not a Converse response: {e}"
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
    let mut annotations = Vec::new();
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
            // The cited text is part of the answer; web sources become annotations.
            let start = text.as_deref().map_or(0, |t| t.chars().count());
            for piece in cited.content.iter().filter_map(|c| c.text.as_deref()) {
                push_text(&mut text, piece);
            }
            let end = text.as_deref().map_or(0, |t| t.chars().count());
            for c in cited.citations {
                let url = c.location.and_then(|l| l.web).and_then(|w| w.url);
                if let Some(url) = url {
                    annotations.push(Annotation {
                        kind: "url_citation",
                        url_citation: UrlCitation {
                            start_index: start,
                            end_index: end,
                            title: c.title.unwrap_or_default(),
                            url,
                        },
                    });
                }
            }
        }
        if let Some(u) = block.tool_use {
            if Some(u.name.as_str()) == answer_tool {
                push_text(&mut text, &json_text(&u.input));
                continue;
            }
            tool_calls.push(ToolCall {
                id: u.tool_use_id,
                kind: "function",
                function: FunctionCall {
                    name: u.name,
                    arguments: json_text(&u.input),
                },
            });
        }
    }
    let finish_reason = match (resp.stop_reason.as_str(), answer_tool) {
        ("tool_use", Some(_)) if tool_calls.is_empty() => "stop",
        (reason, _) => finish_reason(reason),
    };
    Ok(Answer {
        text,
        tool_calls,
        reasoning,
        thinking_blocks,
        finish_reason,
        annotations,
        usage: resp.usage.map(usage),
        service_tier: resp.service_tier.as_ref().and_then(ServedTier::name),
    })
}

/// Translates a Converse JSON body into the OpenAI JSON body.
pub fn to_chat_completion(
    body: &[u8],
    ctx: &ResponseContext<'_>,
) -> Result<(Vec<u8>, Summary), ApiError> {
    let answer = parse_answer(body, ctx.answer_tool)?;
    let summary = Summary {
        usage: answer.usage,
        finish_reason: Some(answer.finish_reason),
    };
    let content = match answer.text {
        Some(t) => Some(t),
        None if answer.tool_calls.is_empty() => Some(String::new()),
        None => None,
    };
    let completion = ChatCompletion {
        id: ctx.id,
        object: "chat.completion",
        created: ctx.created,
        model: ctx.model,
        choices: [Choice {
            index: 0,
            message: AssistantMessage {
                role: "assistant",
                content,
                refusal: None,
                tool_calls: answer.tool_calls,
                reasoning_content: answer.reasoning,
                thinking_blocks: answer.thinking_blocks,
                annotations: answer.annotations,
            },
            logprobs: None,
            finish_reason: answer.finish_reason,
        }],
        system_fingerprint: None,
        usage: answer.usage,
        service_tier: answer.service_tier,
    };
    let json = serde_json::to_vec(&completion)
        .map_err(|e| ApiError::internal(format!("could not encode the response: {e}")))?;
    Ok((json, summary))
}

/// `value` as compact JSON text. Through `serde_json::to_string`, the
/// serializer the answers are written with: `Value`'s `Display` would ship
/// a second one in the `.wasm`. A `Value` always serializes (its keys are
/// strings), so the empty fallback is never taken.
pub fn json_text(value: &serde_json::Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
