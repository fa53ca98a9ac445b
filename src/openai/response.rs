//! OpenAI chat-completions responses as the official SDKs read them.

use serde::Serialize;

/// A non-streamed `chat.completion`.
#[derive(Debug, Serialize)]
pub struct ChatCompletion<'a> {
    /// `chatcmpl-...`.
    pub id: &'a str,
    /// Always `chat.completion`.
    pub object: &'static str,
    /// Unix seconds.
    pub created: u64,
    /// The model id the caller asked for.
    pub model: &'a str,
    /// Exactly one choice.
    pub choices: [Choice; 1],
    /// Always null.
    pub system_fingerprint: Option<&'static str>,
    /// Token counts, when Bedrock reported them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

/// A choice of a `chat.completion`.
#[derive(Debug, Serialize)]
pub struct Choice {
    /// Always 0.
    pub index: u32,
    /// The assistant's message.
    pub message: AssistantMessage,
    /// Always null.
    pub logprobs: Option<()>,
    /// `stop`, `length`, `tool_calls` or `content_filter`.
    pub finish_reason: &'static str,
}

/// The assistant message of a choice.
#[derive(Debug, Serialize)]
pub struct AssistantMessage {
    /// Always `assistant`.
    pub role: &'static str,
    /// The text, or null when there is none.
    pub content: Option<String>,
    /// Always null.
    pub refusal: Option<()>,
}

/// OpenAI token counts.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Usage {
    /// Bedrock `inputTokens`.
    pub prompt_tokens: u64,
    /// Bedrock `outputTokens`.
    pub completion_tokens: u64,
    /// Bedrock `totalTokens`.
    pub total_tokens: u64,
}
