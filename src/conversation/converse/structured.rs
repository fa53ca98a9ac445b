//! `response_format` on Converse.
//!
//! - `json_schema`, on models with native structured output:
//!   `outputConfig.textFormat` with the schema as a JSON string, made one
//!   Bedrock's constrained decoding takes (see [`fit_schema`]).
//! - `json_schema` elsewhere, on models that can be made to call a tool: one
//!   tool named after the schema, forced; its input is the answer's content.
//! - `json_object`: Converse has no schema-free JSON mode, so the model is
//!   told, at the end of the system prompt, to answer with one JSON object.

use crate::bedrock::converse::{
    ConverseToolChoice, Empty, InputSchema, JsonSchemaDefinition, NamedTool, TextFormat,
    TextFormatStructure, ToolConfig, ToolEntry, ToolSpec,
};
use crate::catalog::resolve::Model;
use crate::conversation::json_text;
use crate::conversation::output::OutputFormat;
use crate::error::ApiError;
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

/// Value bounds Bedrock's constrained decoding refuses ("For 'integer' type,
/// properties maximum, minimum are not supported"; `minItems` above 1 too).
const BOUNDS: [&str; 12] = [
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "minItems",
];

/// Makes `schema` one Bedrock's structured output (and strict tools) take:
/// every object schema that says nothing about it gets `additionalProperties:
/// false` (Bedrock requires it), and value bounds Bedrock refuses become
/// words in the schema's `description` (`minimum 1, maximum 5`), so that the
/// model still sees them (as Vercel's AI SDK does for Anthropic's compiler).
pub(super) fn fit_schema(schema: &mut Value) {
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
            let mut words = Vec::new();
            for key in BOUNDS {
                let keep =
                    key == "minItems" && o.get(key).and_then(Value::as_u64).is_some_and(|n| n <= 1);
                if keep {
                    continue;
                }
                if let Some(v) = o.remove(key) {
                    words.push(format!("{key} {}", json_text(&v)));
                }
            }
            if !words.is_empty() {
                let said = o.get("description").and_then(Value::as_str).unwrap_or("");
                let joined = words.join(", ");
                let description = if said.is_empty() {
                    joined
                } else {
                    format!("{said} ({joined})")
                };
                o.insert("description".into(), Value::String(description));
            }
            for (key, value) in o.iter_mut() {
                match key.as_str() {
                    // Values that are schemas, or maps or lists of schemas.
                    "properties" | "$defs" | "definitions" | "patternProperties" => {
                        if let Value::Object(map) = value {
                            map.values_mut().for_each(fit_schema);
                        }
                    }
                    "items" | "additionalItems" | "not" | "if" | "then" | "else" | "contains"
                    | "anyOf" | "oneOf" | "allOf" | "prefixItems" => {
                        fit_schema(value);
                    }
                    _ => {}
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(fit_schema),
        _ => {}
    }
}

/// Decides how `format` is carried out on `model`; `caller_tools`: the
/// request has tools of its own; `forcing_refused`: thinking forbids a
/// forced tool choice.
pub(super) fn plan(
    model: &Model,
    format: OutputFormat,
    caller_tools: bool,
    forcing_refused: bool,
) -> Result<Structured, ApiError> {
    let OutputFormat::JsonSchema {
        name: schema_name,
        description,
        mut schema,
    } = format
    else {
        return Ok(Structured::Instruction);
    };
    let info = model.info;
    if info.structured_output {
        fit_schema(&mut schema);
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
                model.named()
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
        fit_schema(&mut s);
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
