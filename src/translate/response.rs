//! Converse answer → OpenAI `chat.completion`.

use crate::bedrock::converse::{ConverseResponse, TokenUsage};
use crate::error::ApiError;
use crate::openai::response::{AssistantMessage, ChatCompletion, Choice, Usage};

/// What the response needs from the request side.
#[derive(Debug, Clone)]
pub struct ResponseContext<'a> {
    /// `chatcmpl-...`.
    pub id: &'a str,
    /// The model id the caller asked for.
    pub model: &'a str,
    /// Unix seconds.
    pub created: u64,
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
pub fn usage(u: TokenUsage) -> Usage {
    Usage {
        prompt_tokens: u.input_tokens,
        completion_tokens: u.output_tokens,
        total_tokens: u.total_tokens,
    }
}

/// Translates a Converse JSON body into the OpenAI JSON body.
pub fn to_chat_completion(body: &[u8], ctx: &ResponseContext<'_>) -> Result<Vec<u8>, ApiError> {
    let resp: ConverseResponse = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            502,
            "api_error",
            "bad_upstream_response",
            format!("Bedrock answered with a body that is not a Converse response: {e}"),
        )
    })?;
    let Some(message) = resp.output.message else {
        return Err(ApiError::new(
            502,
            "api_error",
            "bad_upstream_response",
            "Bedrock answered without an output message.",
        ));
    };
    let mut text: Option<String> = None;
    for block in message.content {
        if let Some(t) = block.text {
            match &mut text {
                Some(acc) => acc.push_str(&t),
                None => text = Some(t),
            }
        }
    }
    let completion = ChatCompletion {
        id: ctx.id,
        object: "chat.completion",
        created: ctx.created,
        model: ctx.model,
        choices: [Choice {
            index: 0,
            message: AssistantMessage {
                role: "assistant",
                content: Some(text.unwrap_or_default()),
                refusal: None,
            },
            logprobs: None,
            finish_reason: finish_reason(&resp.stop_reason),
        }],
        system_fingerprint: None,
        usage: resp.usage.map(usage),
    };
    serde_json::to_vec(&completion)
        .map_err(|e| ApiError::internal(format!("could not encode the response: {e}")))
}
