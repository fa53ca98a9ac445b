//! A Converse answer as an OpenAI `chat.completion`.

use super::wire::{
    Annotation, AssistantMessage, ChatCompletion, ChatToolCall, Choice, FunctionCall, UrlCitation,
};
use crate::conversation::answer::{parse_answer, CallMade, WebCitation};
use crate::error::ApiError;
use crate::outcome::Outcome;

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

/// Translates a Converse JSON body into the OpenAI JSON body.
pub fn to_chat_completion(
    body: &[u8],
    ctx: &ResponseContext<'_>,
) -> Result<(Vec<u8>, Outcome), ApiError> {
    let answer = parse_answer(body, ctx.answer_tool)?;
    let outcome = answer.outcome();
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
                tool_calls: answer.tool_calls.into_iter().map(tool_call).collect(),
                reasoning_content: answer.reasoning,
                thinking_blocks: answer.thinking_blocks,
                annotations: answer.citations.into_iter().map(annotation).collect(),
            },
            logprobs: None,
            finish_reason: answer.finish.name(),
        }],
        system_fingerprint: None,
        usage: answer.usage.map(Into::into),
        service_tier: answer.service_tier,
    };
    let json = serde_json::to_vec(&completion)
        .map_err(|e| ApiError::internal(format!("could not encode the response: {e}")))?;
    Ok((json, outcome))
}

/// A tool call in the chat shape.
fn tool_call(call: CallMade) -> ChatToolCall {
    ChatToolCall {
        id: call.id,
        kind: "function",
        function: FunctionCall {
            name: call.name,
            arguments: call.arguments,
        },
    }
}

/// A web citation as OpenAI's `url_citation` annotation.
fn annotation(c: WebCitation) -> Annotation {
    Annotation {
        kind: "url_citation",
        url_citation: UrlCitation {
            start_index: c.start,
            end_index: c.end,
            title: c.title,
            url: c.url,
        },
    }
}
