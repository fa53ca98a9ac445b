//! `tools` and `tool_choice`.

use crate::api::chat::parts::parse_cache_control;
use crate::api::fields::{is_tool_name, take_opt_string, take_string};
use crate::conversation::tools::{Tool, ToolChoice};
use crate::error::{clip, ApiError, MAX_ECHO_CHARS};
use serde_json::{Map, Value};

/// Parses `tools` (absent, null or empty: no tools).
pub fn parse_tools(v: Option<Value>) -> Result<Vec<Tool>, ApiError> {
    let items = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(ApiError::invalid("tools", "`tools` must be an array.")),
    };
    let tools: Vec<Tool> = items
        .into_iter()
        .enumerate()
        .map(|(i, t)| parse_tool(i, t))
        .collect::<Result<_, _>>()?;
    for (i, t) in tools.iter().enumerate() {
        if tools.iter().skip(i + 1).any(|u| u.name == t.name) {
            return Err(ApiError::invalid(
                "tools",
                format!("Tool `{}` is defined twice.", t.name),
            ));
        }
    }
    Ok(tools)
}

fn parse_tool(i: usize, v: Value) -> Result<Tool, ApiError> {
    let base = format!("tools.[{i}]");
    let Value::Object(mut t) = v else {
        return Err(ApiError::invalid(base, "Each tool must be an object."));
    };
    match take_opt_string(&mut t, "type", &|| format!("{base}.type"))?.as_deref() {
        Some("function") => {}
        _ => {
            return Err(ApiError::invalid(
                format!("{base}.type"),
                "Only `function` tools are supported.",
            ))
        }
    }
    let Some(Value::Object(mut f)) = t.remove("function") else {
        return Err(ApiError::invalid(
            format!("{base}.function"),
            "A tool needs a `function` object.",
        ));
    };
    let name = take_string(&mut f, "name", &|| format!("{base}.function.name"))?;
    if !is_tool_name(&name) {
        return Err(ApiError::invalid(
            format!("{base}.function.name"),
            format!(
                "Tool name `{}` must be 1-64 characters of [a-zA-Z0-9_-] (Bedrock's rule).",
                clip(&name, MAX_ECHO_CHARS)
            ),
        ));
    }
    let description = take_opt_string(&mut f, "description", &|| {
        format!("{base}.function.description")
    })?
    .filter(|d| !d.trim().is_empty());
    let parameters = match f.remove("parameters") {
        None | Some(Value::Null) => Value::Object(Map::from_iter([(
            "type".to_string(),
            Value::from("object"),
        )])),
        Some(Value::Object(o)) => Value::Object(o),
        Some(_) => {
            return Err(ApiError::invalid(
                format!("{base}.function.parameters"),
                "`parameters` must be a JSON schema object.",
            ))
        }
    };
    let strict = match f.remove("strict") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(b),
        Some(_) => {
            return Err(ApiError::invalid(
                format!("{base}.function.strict"),
                "`strict` must be a boolean.",
            ))
        }
    };
    let cache = parse_cache_control(t.remove("cache_control"), &|| {
        format!("{base}.cache_control")
    })?;
    Ok(Tool {
        name,
        description,
        parameters,
        strict,
        cache,
    })
}

/// Parses `tool_choice`; a named function must be one of `tools`.
pub fn parse_tool_choice(v: Option<Value>, tools: &[Tool]) -> Result<Option<ToolChoice>, ApiError> {
    let choice = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => match s.as_str() {
            "auto" => ToolChoice::Auto,
            "required" => ToolChoice::Required,
            "none" => ToolChoice::None,
            _ => {
                return Err(ApiError::invalid(
                    "tool_choice",
                    "`tool_choice` must be auto, required, none or a function.",
                ))
            }
        },
        Some(Value::Object(mut o)) => {
            let Some(Value::Object(mut f)) = o.remove("function") else {
                return Err(ApiError::invalid(
                    "tool_choice.function",
                    "`tool_choice` needs a `function` object.",
                ));
            };
            ToolChoice::Function(take_string(&mut f, "name", &|| {
                "tool_choice.function.name".to_string()
            })?)
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "tool_choice",
                "`tool_choice` must be a string or an object.",
            ))
        }
    };
    match &choice {
        ToolChoice::Auto | ToolChoice::None => {}
        ToolChoice::Required if tools.is_empty() => {
            return Err(ApiError::invalid(
                "tool_choice",
                "`tool_choice: required` needs `tools`.",
            ))
        }
        ToolChoice::Required => {}
        ToolChoice::Function(name) if !tools.iter().any(|t| &t.name == name) => {
            return Err(ApiError::invalid(
                "tool_choice.function.name",
                format!(
                    "`{}` is not one of the `tools`.",
                    clip(name, MAX_ECHO_CHARS)
                ),
            ))
        }
        ToolChoice::Function(_) => {}
    }
    Ok(Some(choice))
}
