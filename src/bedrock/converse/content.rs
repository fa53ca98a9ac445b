//! The turns of a Converse request: messages and their content blocks
//! (text, images, documents, reasoning, tool use and results, cache
//! points), the system blocks and the tool configuration.

use crate::data_url::DataUrl;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A conversation turn.
#[derive(Debug, Serialize, PartialEq)]
pub struct ConverseMessage {
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
    /// `{"image": {"format": ..., "source": {"bytes": <base64>}}}`.
    Image(ImageBlock),
    /// An earlier tool call of the assistant.
    ToolUse(ToolUseBlock),
    /// A tool's answer, in a user turn.
    ToolResult(ToolResultBlock),
    /// Reasoning the assistant produced earlier, sent back unmodified.
    ReasoningContent(ReasoningBlock),
    /// A document, in a user turn.
    Document(DocumentBlock),
    /// Cache the prompt up to here.
    CachePoint(CachePointBlock),
}

/// `cachePoint` (in `system`, message content or `toolConfig.tools`).
#[derive(Debug, Serialize, PartialEq)]
pub struct CachePointBlock {
    /// Always `default`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `1h` for the extended time to live (otherwise Bedrock's 5 minutes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<&'static str>,
}

/// A `document` block.
#[derive(Debug, Serialize, PartialEq)]
pub struct DocumentBlock {
    /// `pdf`, `csv`, `doc`, `docx`, `xls`, `xlsx`, `html`, `txt` or `md`.
    pub format: &'static str,
    /// A neutral name within Bedrock's rule, unique in the request.
    pub name: String,
    /// The document's bytes.
    pub source: DocumentSource,
}

/// Document bytes, base64 in JSON.
#[derive(Debug, Serialize, PartialEq)]
pub struct DocumentSource {
    /// The caller's base64, as sent.
    pub bytes: DataUrl,
}

/// `reasoningContent`: signed reasoning text, or Bedrock's redacted blob.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub enum ReasoningBlock {
    /// `{"reasoningText": {"text", "signature"}}`.
    ReasoningText(ReasoningText),
    /// `{"redactedContent": <base64>}`.
    RedactedContent(String),
}

/// Reasoning text and its signature.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, Clone)]
pub struct ReasoningText {
    /// The reasoning.
    #[serde(default)]
    pub text: String,
    /// The model's signature of it, when signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// An image block.
#[derive(Debug, Serialize, PartialEq)]
pub struct ImageBlock {
    /// `png`, `jpeg`, `gif` or `webp`.
    pub format: &'static str,
    /// The image bytes.
    pub source: ImageSource,
}

/// Image bytes, base64 in JSON.
#[derive(Debug, Serialize, PartialEq)]
pub struct ImageSource {
    /// The caller's base64, as sent.
    pub bytes: DataUrl,
}

/// `toolUse` block.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ToolUseBlock {
    /// OpenAI's tool call id.
    pub tool_use_id: String,
    /// Tool name.
    pub name: String,
    /// Arguments as JSON.
    pub input: Value,
}

/// `toolResult` block.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ToolResultBlock {
    /// The call answered.
    pub tool_use_id: String,
    /// The result as text blocks.
    pub content: Vec<ToolResultContent>,
}

/// Content of a tool result.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub enum ToolResultContent {
    /// `{"text": "..."}`.
    Text(String),
    /// `{"image": ...}`.
    Image(ImageBlock),
    /// `{"document": ...}`.
    Document(DocumentBlock),
}

/// `toolConfig`.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ToolConfig {
    /// At least one tool.
    pub tools: Vec<ToolEntry>,
    /// Absent means auto.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ConverseToolChoice>,
}

/// One entry of `toolConfig.tools`.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub enum ToolEntry {
    /// A function.
    ToolSpec(ToolSpec),
    /// Cache the tools up to here.
    CachePoint(CachePointBlock),
}

/// `toolSpec`.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ToolSpec {
    /// Name.
    pub name: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `{"json": <schema>}`.
    pub input_schema: InputSchema,
    /// Schema-exact tool input, where the model takes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// `inputSchema`.
#[derive(Debug, Serialize, PartialEq)]
pub struct InputSchema {
    /// JSON schema.
    pub json: Value,
}

/// `toolChoice`: Converse has auto, any and tool (no "none").
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum ConverseToolChoice {
    /// `{"auto": {}}`.
    Auto(Empty),
    /// `{"any": {}}`.
    Any(Empty),
    /// `{"tool": {"name": ...}}`.
    Tool(NamedTool),
}

/// `{}`.
#[derive(Debug, Serialize, PartialEq)]
pub struct Empty {}

/// `{"name": ...}`.
#[derive(Debug, Serialize, PartialEq)]
pub struct NamedTool {
    /// Tool name.
    pub name: String,
}

/// A system prompt block.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub enum SystemBlock {
    /// `{"text": "..."}`, non-blank.
    Text(String),
    /// Cache the prompt up to here.
    CachePoint(CachePointBlock),
}
