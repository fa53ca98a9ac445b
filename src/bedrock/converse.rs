//! Converse request and response bodies (botocore's bedrock-runtime model, the parts we use).

use serde::{Deserialize, Serialize};

/// Body of `POST /model/{id}/converse` (and `converse-stream`).
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConverseRequest {
    /// Alternating user/assistant turns, starting with a user turn.
    pub messages: Vec<Message>,
    /// System prompt blocks (only for models that take them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub system: Vec<SystemBlock>,
    /// Sampling settings; omitted when none was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inference_config: Option<InferenceConfig>,
}

/// A conversation turn.
#[derive(Debug, Serialize, PartialEq)]
pub struct Message {
    /// `user` or `assistant`.
    pub role: ConverseRole,
    /// Never empty; no blank text.
    pub content: Vec<ContentBlock>,
}

/// Converse's two roles.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ConverseRole {
    /// The caller.
    User,
    /// The model.
    Assistant,
}

/// A request content block.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub enum ContentBlock {
    /// `{"text": "..."}`.
    Text(String),
}

/// A system prompt block: `{"text": "..."}`.
#[derive(Debug, Serialize, PartialEq)]
pub struct SystemBlock {
    /// Non-blank text.
    pub text: String,
}

/// `inferenceConfig`.
#[derive(Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InferenceConfig {
    /// Largest number of tokens to generate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// Sampling temperature, as sent by the caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling, as sent by the caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Stop sequences.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<String>,
}

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
pub struct OutputBlock {
    /// Text, for a text block.
    #[serde(default)]
    pub text: Option<String>,
}

/// Bedrock's token counts.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TokenUsage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Generated tokens.
    pub output_tokens: u64,
    /// Sum of both.
    pub total_tokens: u64,
}
