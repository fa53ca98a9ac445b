//! Converse request and response bodies (botocore's bedrock-runtime model, the parts we use).

mod content;
mod response;

use crate::aws::sigv4::uri_encode;
pub use content::{
    CachePointBlock, ContentBlock, ConverseMessage, ConverseRole, ConverseToolChoice,
    DocumentBlock, DocumentSource, Empty, ImageBlock, ImageSource, InputSchema, NamedTool,
    ReasoningBlock, ReasoningText, SystemBlock, ToolConfig, ToolEntry, ToolResultBlock,
    ToolResultContent, ToolSpec, ToolUseBlock,
};
pub use response::{
    Citation, CitationLocation, CitationsContent, CitedText, ConverseResponse, Output, OutputBlock,
    OutputMessage, OutputReasoning, OutputToolUse, ServedTier, TokenUsage, WebLocation,
};
use serde::Serialize;
use serde_json::{Map, Value};

/// Body of `POST /model/{id}/converse` (and `converse-stream`).
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConverseRequest {
    /// Alternating user/assistant turns, starting with a user turn.
    pub messages: Vec<ConverseMessage>,
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

/// `/model/{model-id}/converse` (or `converse-stream`), the id percent-encoded once.
pub fn path(model_id: &str, stream: bool) -> String {
    let mut path = Vec::with_capacity(model_id.len() + 32);
    path.extend_from_slice(b"/model/");
    uri_encode(&mut path, model_id.as_bytes(), false);
    path.extend_from_slice(if stream {
        b"/converse-stream"
    } else {
        b"/converse"
    });
    // Only ASCII was written: the conversion cannot fail.
    String::from_utf8(path).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_encodes_colon_and_slash_once() {
        assert_eq!(
            path("meta.llama3-8b-instruct-v1:0", false),
            "/model/meta.llama3-8b-instruct-v1%3A0/converse"
        );
        assert_eq!(
            path("arn:aws:bedrock:us-east-1:1:inference-profile/x", true),
            "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fx/converse-stream"
        );
    }
}
