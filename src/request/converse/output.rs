//! `response_format` on Converse.
//!
//! - `json_schema`, on models with native structured output:
//!   `outputConfig.textFormat` with the schema as a JSON string; every object
//!   of the schema gets `additionalProperties: false` where it says nothing
//!   (Bedrock requires it).
//! - `json_schema` elsewhere, on models that can be made to call a tool: one
//!   tool named after the schema, forced; its input is the answer's content.
//! - `json_object`: Converse has no schema-free JSON mode, so the model is
//!   told, at the end of the system prompt, to answer with one JSON object.

use super::rules::name;
use crate::answer::completion::json_text;
use crate::bedrock::converse::{
    ConverseToolChoice, Empty, InputSchema, JsonSchemaDefinition, NamedTool, TextFormat,
    TextFormatStructure, ToolConfig, ToolEntry, ToolSpec,
};
use crate::catalog::resolve::Model;
use crate::error::ApiError;
use crate::request::parse::response_format::ResponseFormat;
use serde_json::Value;

/// The instruction a `json_object` request adds to the system prompt.
pub const JSON_OBJECT_INSTRUCTION: &str =
    "Answer with one valid JSON object and nothing else: no prose, no code fences.";

/// How `response_format` is carried out.
#[derive(Debug)]
pub(super) enum Structured {
    /// `outputConfig.textFormat`.
    Native(TextFormat),
    /// A forced tool whose input is the answer.
    Tool(ToolSpec),
    /// The JSON-object instruction in the system prompt.
    Instruction,
}

/// Sets `additionalProperties: false` on every object schema that says nothing about it.
fn close_objects(schema: &mut Value) {
    match schema {
        Value::Object(o) => {
            let is_object = o.get("type").is_some_and(|t| {
                t == "object"
                    || t.as_array()
                        .is_some_and(|ts| ts.iter().any(|t| t == "object"))
            }) || o.contains_key("properties");
            if is_object && !o.contains_key("additionalProperties") {
                o.insert("additionalProperties".into(), Value::Bool(false));
            }
            for (key, value) in o.iter_mut() {
                match key.as_str() {
                    // Values that are schemas, or maps or lists of schemas.
                    "properties" | "$defs" | "definitions" | "patternProperties" => {
                        if let Value::Object(map) = value {
                            map.values_mut().for_each(close_objects);
                        }
                    }
                    "items" | "additionalItems" | "not" | "if" | "then" | "else" | "contains"
                    | "anyOf" | "oneOf" | "allOf" | "prefixItems" => {
                        close_objects(value);
                    }
                    _ => {}
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

/// Decides how `format` is carried out on `model`; `caller_tools`: the
/// request has tools of its own; `forcing_refused`: thinking forbids a
/// forced tool choice.
pub(super) fn plan(
    model: &Model,
    format: ResponseFormat,
    caller_tools: bool,
    forcing_refused: bool,
) -> Result<Structured, ApiError> {
    let ResponseFormat::JsonSchema {
        name: schema_name,
        description,
        mut schema,
    } = format
    else {
        return Ok(Structured::Instruction);
    };
    let info = model.info;
    if info.structured_output {
        close_objects(&mut schema);
        return Ok(Structured::Native(TextFormat {
            kind: "json_schema",
            structure: TextFormatStructure {
                json_schema: JsonSchemaDefinition {
                    schema: json_text(&schema),
                    name: Some(schema_name),
                    description,
                },
            },
        }));
    }
    let refuse = |why: &str| {
        Err(ApiError::invalid(
            "response_format",
            format!(
                "Model {} has no structured output on Bedrock{why}.",
                name(model)
            ),
        ))
    };
    if !info.tools || !(info.tool_choice.tool || info.tool_choice.any) {
        return refuse(", and cannot be made to call a tool in its place");
    }
    if caller_tools {
        return refuse(
            ": it is carried out by a forced tool, which rules out the request's own `tools`",
        );
    }
    if forcing_refused {
        return refuse(": it is carried out by a forced tool, which thinking rules out");
    }
    Ok(Structured::Tool(ToolSpec {
        name: schema_name,
        description: Some(description.unwrap_or_else(|| {
            "Give the answer as this tool's input, which follows the required JSON schema."
                .to_string()
        })),
        input_schema: InputSchema { json: schema },
        strict: None,
    }))
}

/// The tool configuration of a structured answer by `tool`: that one tool, forced.
pub(super) fn tool_config(model: &Model, tool: ToolSpec) -> ToolConfig {
    let choice = if model.info.tool_choice.tool {
        ConverseToolChoice::Tool(NamedTool {
            name: tool.name.clone(),
        })
    } else {
        ConverseToolChoice::Any(Empty {})
    };
    ToolConfig {
        tools: vec![ToolEntry::ToolSpec(tool)],
        tool_choice: Some(choice),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_are_closed_where_they_say_nothing() {
        let mut s = json!({"type": "object", "properties": {
            "a": {"type": "object", "properties": {"x": {"type": "string"}}},
            "b": {"type": "array", "items": {"type": "object"}},
            "c": {"type": "object", "additionalProperties": true},
            "d": {"anyOf": [{"type": "object"}, {"type": "null"}]}},
            "$defs": {"e": {"properties": {}}}});
        close_objects(&mut s);
        assert_eq!(s["additionalProperties"], false);
        assert_eq!(s["properties"]["a"]["additionalProperties"], false);
        assert_eq!(s["properties"]["b"]["items"]["additionalProperties"], false);
        assert_eq!(
            s["properties"]["c"]["additionalProperties"], true,
            "explicit values stay"
        );
        assert_eq!(
            s["properties"]["d"]["anyOf"][0]["additionalProperties"],
            false
        );
        assert!(s["properties"]["d"]["anyOf"][1]
            .get("additionalProperties")
            .is_none());
        assert_eq!(s["$defs"]["e"]["additionalProperties"], false);
    }
}
