//! `response_format`: free text, a JSON object, or an answer that follows a JSON schema.

use crate::api::fields::{is_tool_name, take_opt_string, take_string};
use crate::conversation::output::OutputFormat;
use crate::error::ApiError;
use serde_json::Value;

/// Parses `response_format` (absent, null or `{"type": "text"}`: none).
pub fn parse_response_format(v: Option<Value>) -> Result<Option<OutputFormat>, ApiError> {
    let mut f = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(f)) => f,
        Some(_) => {
            return Err(ApiError::invalid(
                "response_format",
                "`response_format` must be an object.",
            ))
        }
    };
    let kind = take_string(&mut f, "type", &|| "response_format.type".to_string())?;
    match kind.as_str() {
        "text" => Ok(None),
        "json_object" => Ok(Some(OutputFormat::JsonObject)),
        "json_schema" => {
            let Some(Value::Object(mut s)) = f.remove("json_schema") else {
                return Err(ApiError::invalid(
                    "response_format.json_schema",
                    "`response_format.json_schema` must be an object with a `name` and a `schema`.",
                ));
            };
            let name = take_string(&mut s, "name", &|| {
                "response_format.json_schema.name".to_string()
            })?;
            if !is_tool_name(&name) {
                return Err(ApiError::invalid(
                    "response_format.json_schema.name",
                    "`name` must be 1-64 characters of [a-zA-Z0-9_-].",
                ));
            }
            let description = take_opt_string(&mut s, "description", &|| {
                "response_format.json_schema.description".to_string()
            })?
            .filter(|d| !d.trim().is_empty());
            let schema = match s.remove("schema") {
                Some(schema @ Value::Object(_)) => schema,
                None | Some(Value::Null) => {
                    return Ok(Some(OutputFormat::JsonObject));
                }
                Some(_) => {
                    return Err(ApiError::invalid(
                        "response_format.json_schema.schema",
                        "`schema` must be a JSON schema object.",
                    ))
                }
            };
            Ok(Some(OutputFormat::JsonSchema {
                name,
                description,
                schema,
            }))
        }
        _ => Err(ApiError::invalid(
            "response_format.type",
            "`response_format.type` must be text, json_object or json_schema.",
        )),
    }
}
