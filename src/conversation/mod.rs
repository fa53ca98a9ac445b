//! The API-neutral conversation, between the OpenAI shapes (the `api` folders)
//! and Converse (`crate::bedrock`): what a request asks of a model (turns,
//! tools, reasoning, structured output, caching, documents, options), how
//! that becomes a Converse request under the model's rules ([`converse`]),
//! and what the model answered, buffered ([`answer`]) or streamed
//! ([`stream`]). A second OpenAI API reuses all of it: only its parsing and
//! its answer writing are its own.

pub mod answer;
pub mod converse;
pub mod message;
pub mod output;
pub mod parts;
pub mod reasoning;
pub mod stream;
pub mod tools;

use crate::catalog::resolve::Model;
use crate::policy::options::RequestOptions;
use message::Message;
use output::OutputFormat;
use reasoning::ReasoningAsk;
use tools::{Tool, ToolChoice};

/// Sampling settings passed to Converse `inferenceConfig` unchanged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sampling {
    /// 0 <= x <= 2.
    pub temperature: Option<f64>,
    /// 0 <= x <= 1.
    pub top_p: Option<f64>,
    /// x > 0.
    pub max_tokens: Option<u64>,
    /// Stop sequences (at most 4, none empty).
    pub stop: Vec<String>,
}

/// What a request asks of a model, whichever OpenAI API it came through.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    /// The requested model.
    pub model: Model,
    /// The conversation as sent.
    pub messages: Vec<Message>,
    /// Inference settings.
    pub sampling: Sampling,
    /// Function tools offered to the model.
    pub tools: Vec<Tool>,
    /// How the model should use them, if the caller said.
    pub tool_choice: Option<ToolChoice>,
    /// What the caller asks of reasoning, if anything.
    pub reasoning: Option<ReasoningAsk>,
    /// The answer's format, unless free text.
    pub output_format: Option<OutputFormat>,
    /// Service tier, latency, `user` and `metadata`.
    pub options: RequestOptions,
    /// Cache points after the system prompt and the tools (the project's
    /// `prompt_caching: "auto"`; set by the policy, not by the caller).
    pub auto_cache_points: bool,
}

/// `value` as compact JSON text. Through `serde_json::to_string`, the
/// serializer the answers are written with: `Value`'s `Display` would ship
/// a second one in the `.wasm`. A `Value` always serializes (its keys are
/// strings), so the empty fallback is never taken.
pub fn json_text(value: &serde_json::Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
