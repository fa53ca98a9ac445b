//! OpenAI chat-completions answers as the official SDKs read them.

use crate::conversation::reasoning::ThinkingBlock;
use crate::outcome::Usage;
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
    pub usage: Option<ChatUsage>,
    /// The service tier Bedrock served the request in, when it said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<&'static str>,
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
    /// Tool calls, when the model made any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ChatToolCall>,
    /// The reasoning text, concatenated (LiteLLM's and Envoy AI Gateway's field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    /// The reasoning blocks as Bedrock gave them, to be sent back unchanged.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub thinking_blocks: Vec<ThinkingBlock>,
    /// Web citations of the content.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<Annotation>,
}

/// An OpenAI annotation of the message content: a cited URL.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Annotation {
    /// Always `url_citation`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The citation.
    pub url_citation: UrlCitation,
}

/// Where a cited passage is in the content, and its source.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UrlCitation {
    /// First character of the passage in `content` (in characters).
    pub start_index: usize,
    /// One past its last character.
    pub end_index: usize,
    /// The page's title.
    pub title: String,
    /// The page's URL.
    pub url: String,
}

/// A streamed reasoning fragment, in LiteLLM's streaming shape: the text, a
/// signature (with empty text) or redacted data, with the index of its block
/// among the answer's reasoning blocks.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ThinkingDelta<'a> {
    /// Text or signature of a thinking block.
    Thinking {
        /// A text fragment (empty beside a signature).
        thinking: &'a str,
        /// The block's signature, once it arrives.
        #[serde(skip_serializing_if = "Option::is_none")]
        signature: Option<&'a str>,
        /// Which reasoning block of the answer.
        index: u32,
    },
    /// A redacted block.
    RedactedThinking {
        /// Bedrock's `redactedContent`, base64.
        data: &'a str,
        /// Which reasoning block of the answer.
        index: u32,
    },
}

/// A complete tool call.
#[derive(Debug, Serialize)]
pub struct ChatToolCall {
    /// Bedrock's `toolUseId`.
    pub id: String,
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Name and arguments.
    pub function: FunctionCall,
}

/// Function part of a tool call.
#[derive(Debug, Serialize)]
pub struct FunctionCall {
    /// Tool name.
    pub name: String,
    /// Arguments as a JSON string.
    pub arguments: String,
}

/// OpenAI token counts.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct ChatUsage {
    /// Every prompt token: Bedrock's `inputTokens` + cache reads + cache writes.
    pub prompt_tokens: u64,
    /// Bedrock `outputTokens` (reasoning included).
    pub completion_tokens: u64,
    /// Bedrock `totalTokens` (= prompt + completion).
    pub total_tokens: u64,
    /// Cache reads, when Bedrock reports caching.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
}

impl From<Usage> for ChatUsage {
    fn from(u: Usage) -> ChatUsage {
        ChatUsage {
            prompt_tokens: u.input,
            completion_tokens: u.output,
            total_tokens: u.total,
            prompt_tokens_details: u.cache_reported.then_some(PromptTokensDetails {
                cached_tokens: u.cache_read,
            }),
        }
    }
}

/// `usage.prompt_tokens_details`.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct PromptTokensDetails {
    /// Prompt tokens read from the cache.
    pub cached_tokens: u64,
}

/// A streamed `chat.completion.chunk`.
#[derive(Debug, Serialize)]
pub struct ChatChunk<'a> {
    /// Same for every chunk of one answer.
    pub id: &'a str,
    /// Always `chat.completion.chunk`.
    pub object: &'static str,
    /// Same for every chunk of one answer.
    pub created: u64,
    /// The model id the caller asked for.
    pub model: &'a str,
    /// Always null.
    pub system_fingerprint: Option<&'static str>,
    /// One choice, or none for the final usage chunk.
    pub choices: &'a [ChunkChoice<'a>],
    /// Only on the final usage chunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<ChatUsage>,
    /// Only on the final usage chunk: the service tier Bedrock served, when it said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<&'static str>,
}

/// The choice of a chunk.
#[derive(Debug, Serialize)]
pub struct ChunkChoice<'a> {
    /// Always 0.
    pub index: u32,
    /// What this chunk adds.
    pub delta: Delta<'a>,
    /// Always null.
    pub logprobs: Option<()>,
    /// Set on the last choice chunk only.
    pub finish_reason: Option<&'static str>,
}

/// What a chunk adds to the message.
#[derive(Debug, Default, Serialize)]
pub struct Delta<'a> {
    /// `assistant` on the first chunk only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    /// A text fragment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<&'a str>,
    /// A reasoning text fragment (empty beside a signature or redacted block).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<&'a str>,
    /// The reasoning fragment as a thinking block entry.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub thinking_blocks: &'a [ThinkingDelta<'a>],
    /// Tool-call fragments.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub tool_calls: &'a [ToolCallDelta<'a>],
}

/// A streamed tool-call fragment.
#[derive(Debug, Serialize)]
pub struct ToolCallDelta<'a> {
    /// Dense index over this answer's tool calls (0, 1, ...).
    pub index: u32,
    /// Tool call id, on the first fragment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a str>,
    /// `function`, on the first fragment.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    /// Name and/or argument fragment.
    pub function: FunctionDelta<'a>,
}

/// Function part of a tool-call fragment.
#[derive(Debug, Serialize)]
pub struct FunctionDelta<'a> {
    /// Tool name, on the first fragment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    /// JSON fragment of the arguments.
    pub arguments: &'a str,
}
