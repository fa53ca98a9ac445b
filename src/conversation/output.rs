//! The answer's format, when the caller asks for more than free text: any
//! JSON object, or JSON that follows a schema.

use serde_json::Value;

/// The answer's format, when it is not free text.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputFormat {
    /// `{"type": "json_object"}`: any valid JSON object.
    JsonObject,
    /// `{"type": "json_schema", "json_schema": {...}}`.
    JsonSchema {
        /// `json_schema.name` (`[a-zA-Z0-9_-]{1,64}`).
        name: String,
        /// `json_schema.description`.
        description: Option<String>,
        /// `json_schema.schema`: a JSON schema object.
        schema: Value,
    },
}
