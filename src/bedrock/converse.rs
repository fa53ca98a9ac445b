//! Converse request and response bodies (botocore's bedrock-runtime model, the parts we use).

use crate::request::parse::data_url::DataUrl;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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
    /// Tools; required whenever the history holds tool blocks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_config: Option<ToolConfig>,
    /// The project's guardrail, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guardrail_config: Option<GuardrailConfig>,
    /// Model-specific fields (reasoning switches), passed to the model as is.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub additional_model_request_fields: Map<String, Value>,
    /// `outputConfig`: effort (adaptive thinking), structured output.
    #[serde(skip_serializing_if = "OutputConfig::is_empty")]
    pub output_config: OutputConfig,
    /// `serviceTier`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<ServiceTierConfig>,
    /// `performanceConfig`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub performance_config: Option<PerformanceConfig>,
    /// `requestMetadata`: pairs for model invocation logs (cost attribution).
    #[serde(skip_serializing_if = "RequestMetadata::is_empty")]
    pub request_metadata: RequestMetadata,
    /// Not sent: the tool whose input is the answer's content (structured
    /// output by a forced tool), for the answer's translation.
    #[serde(skip)]
    pub answer_tool: Option<String>,
}

/// `outputConfig`.
#[derive(Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OutputConfig {
    /// Structured output: the answer follows a JSON schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_format: Option<TextFormat>,
    /// How hard the model works: `low`, `medium`, `high`, `xhigh`, `max`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effort: Option<&'static str>,
}

impl OutputConfig {
    /// Nothing to send.
    pub fn is_empty(&self) -> bool {
        self.effort.is_none() && self.text_format.is_none()
    }
}

/// `outputConfig.textFormat`: `{"type": "json_schema", "structure": {"jsonSchema": ...}}`.
#[derive(Debug, Serialize, PartialEq)]
pub struct TextFormat {
    /// Always `json_schema`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The schema.
    pub structure: TextFormatStructure,
}

/// `structure` of a text format.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TextFormatStructure {
    /// The JSON schema, as a JSON string.
    pub json_schema: JsonSchemaDefinition,
}

/// `jsonSchema`: the schema as a string, its name and description.
#[derive(Debug, Serialize, PartialEq)]
pub struct JsonSchemaDefinition {
    /// The schema, serialized.
    pub schema: String,
    /// The caller's schema name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The caller's description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `serviceTier`.
#[derive(Debug, Serialize, PartialEq)]
pub struct ServiceTierConfig {
    /// `priority`, `default` or `flex`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// `performanceConfig`.
#[derive(Debug, Serialize, PartialEq)]
pub struct PerformanceConfig {
    /// `standard` or `optimized`.
    pub latency: &'static str,
}

/// `requestMetadata`, a JSON object of string pairs, in the order given.
#[derive(Debug, Default, PartialEq)]
pub struct RequestMetadata(pub Vec<(String, String)>);

impl RequestMetadata {
    /// No pairs.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for RequestMetadata {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// `guardrailConfig` (the same two fields in Converse and ConverseStream).
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GuardrailConfig {
    /// Guardrail id or ARN.
    pub guardrail_identifier: String,
    /// `DRAFT` or a version number.
    pub guardrail_version: String,
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
