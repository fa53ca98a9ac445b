//! The tools offered to the model and how the caller asks it to use them.

use super::parts::CacheMark;
use serde_json::Value;

/// A function tool offered to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    /// Function name (`[a-zA-Z0-9_-]{1,64}`).
    pub name: String,
    /// Description, if any.
    pub description: Option<String>,
    /// JSON schema of the arguments (`{"type":"object"}` when absent).
    pub parameters: Value,
    /// `function.strict`: schema-exact arguments.
    pub strict: Option<bool>,
    /// `cache_control` on the tool: a cache point after it.
    pub cache: Option<CacheMark>,
}

/// OpenAI `tool_choice`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    /// `"auto"`.
    Auto,
    /// `"required"`.
    Required,
    /// `"none"`.
    None,
    /// `{"type":"function","function":{"name":...}}`.
    Function(String),
}
