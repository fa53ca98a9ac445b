//! The body of a successful Converse answer: the message, its blocks
//! (text, reasoning, tool use, citations), the stop reason and the usage.

use super::ReasoningText;
use serde::Deserialize;
use serde_json::Value;

/// Body of a successful Converse answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConverseResponse {
    /// The generated message.
    pub output: Output,
    /// Why generation stopped (`end_turn`, `max_tokens`, ...).
    pub stop_reason: String,
    /// Token counts.
    #[serde(default)]
    pub usage: Option<TokenUsage>,
    /// The service tier that served the request.
    #[serde(default)]
    pub service_tier: Option<ServedTier>,
}

/// An answer's `serviceTier`.
#[derive(Debug, Deserialize)]
pub struct ServedTier {
    /// `priority`, `default`, `flex` or `reserved`.
    #[serde(rename = "type")]
    pub kind: String,
}

impl ServedTier {
    /// The tier's name, if it is one Bedrock documents (botocore's `ServiceTierType`).
    pub fn name(&self) -> Option<&'static str> {
        ["priority", "default", "flex", "reserved"]
            .into_iter()
            .find(|t| *t == self.kind)
    }
}

/// `output` of a Converse answer.
#[derive(Debug, Deserialize)]
pub struct Output {
    /// Absent when the model produced nothing.
    #[serde(default)]
    pub message: Option<OutputMessage>,
}

/// The assistant message Bedrock produced.
#[derive(Debug, Deserialize)]
pub struct OutputMessage {
    /// Content blocks; only text is used, other kinds are skipped.
    #[serde(default)]
    pub content: Vec<OutputBlock>,
}

/// One output content block (unknown kinds deserialize to all-`None`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputBlock {
    /// Text, for a text block.
    #[serde(default)]
    pub text: Option<String>,
    /// A tool call, for a toolUse block.
    #[serde(default)]
    pub tool_use: Option<OutputToolUse>,
    /// Reasoning, for a reasoningContent block.
    #[serde(default)]
    pub reasoning_content: Option<OutputReasoning>,
    /// Cited text and its citations, for a citationsContent block.
    #[serde(default)]
    pub citations_content: Option<CitationsContent>,
}

/// A `citationsContent` block: generated text and where it comes from.
#[derive(Debug, Deserialize)]
pub struct CitationsContent {
    /// The generated text, in pieces.
    #[serde(default)]
    pub content: Vec<CitedText>,
    /// Its sources.
    #[serde(default)]
    pub citations: Vec<Citation>,
}

/// A piece of cited text.
#[derive(Debug, Deserialize)]
pub struct CitedText {
    /// The text.
    #[serde(default)]
    pub text: Option<String>,
}

/// One citation (only what the answer uses is read).
#[derive(Debug, Deserialize)]
pub struct Citation {
    /// The source's title.
    #[serde(default)]
    pub title: Option<String>,
    /// Where in the source.
    #[serde(default)]
    pub location: Option<CitationLocation>,
}

/// A citation's location; only a web location has a URL.
#[derive(Debug, Deserialize)]
pub struct CitationLocation {
    /// `{"url", "domain"}`.
    #[serde(default)]
    pub web: Option<WebLocation>,
}

/// A web page cited.
#[derive(Debug, Deserialize)]
pub struct WebLocation {
    /// Its URL.
    #[serde(default)]
    pub url: Option<String>,
}

/// A `reasoningContent` block of an answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputReasoning {
    /// Reasoning text (and its signature, for Claude).
    #[serde(default)]
    pub reasoning_text: Option<ReasoningText>,
    /// Redacted reasoning, base64 in JSON.
    #[serde(default)]
    pub redacted_content: Option<String>,
}

/// A tool call in a Converse answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputToolUse {
    /// Becomes the OpenAI tool call id.
    pub tool_use_id: String,
    /// Tool name.
    pub name: String,
    /// Arguments.
    #[serde(default)]
    pub input: Value,
}

/// Bedrock's token counts.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TokenUsage {
    /// Prompt tokens read neither from nor into the cache.
    pub input_tokens: u64,
    /// Generated tokens.
    pub output_tokens: u64,
    /// Every token, cached ones included.
    pub total_tokens: u64,
    /// Prompt tokens read from the cache (when Bedrock reports caching).
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
    /// Prompt tokens written into the cache.
    #[serde(default)]
    pub cache_write_input_tokens: Option<u64>,
}
