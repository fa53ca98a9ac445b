//! The `messages` array: roles, content parts, tool calls and tool results.

use crate::api::chat::parts::{parse_cache_control, parse_content};
use crate::api::chat::reasoning::parse_blocks;
use crate::api::fields::{is_tool_name, is_tool_use_id, take_opt_string, take_string};
use crate::conversation::message::{Message, Role, ToolCall};
use crate::conversation::parts::Part;
use crate::error::{clip, ApiError, MAX_ECHO_CHARS};
use serde_json::{Map, Value};

/// Parses the `messages` field.
pub fn parse_messages(v: Option<Value>) -> Result<Vec<Message>, ApiError> {
    let items = match v {
        None | Some(Value::Null) => {
            return Err(ApiError::invalid("messages", "`messages` is required."))
        }
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(ApiError::invalid(
                "messages",
                "`messages` must be an array.",
            ))
        }
    };
    if items.is_empty() {
        return Err(ApiError::invalid(
            "messages",
            "`messages` must not be empty.",
        ));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, m)| parse_message(i, m))
        .collect()
}

fn parse_role(i: usize, v: Option<Value>) -> Result<Role, ApiError> {
    // Formatted only for an error: a valid message costs no allocation here.
    let param = || format!("messages.[{i}].role");
    match v {
        Some(Value::String(r)) => match r.as_str() {
            "system" | "developer" => Ok(Role::System),
            "user" => Ok(Role::User),
            "assistant" => Ok(Role::Assistant),
            "tool" => Ok(Role::Tool),
            _ => Err(ApiError::invalid(
                param(),
                format!(
                    "Unknown role `{}`; expected system, developer, user, assistant or tool.",
                    clip(&r, MAX_ECHO_CHARS)
                ),
            )),
        },
        None | Some(Value::Null) => Err(ApiError::invalid(param(), "Each message needs a `role`.")),
        Some(_) => Err(ApiError::invalid(param(), "`role` must be a string.")),
    }
}

fn parse_message(i: usize, v: Value) -> Result<Message, ApiError> {
    let Value::Object(mut m) = v else {
        return Err(ApiError::invalid(
            format!("messages.[{i}]"),
            "Each message must be an object.",
        ));
    };
    let role = parse_role(i, m.remove("role"))?;
    let tool_calls = match m.remove("tool_calls") {
        None | Some(Value::Null) => Vec::new(),
        Some(_) if role != Role::Assistant => {
            return Err(ApiError::invalid(
                format!("messages.[{i}].tool_calls"),
                "Only assistant messages carry `tool_calls`.",
            ))
        }
        Some(Value::Array(calls)) => calls
            .into_iter()
            .enumerate()
            .map(|(j, c)| parse_tool_call(i, j, c))
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(ApiError::invalid(
                format!("messages.[{i}].tool_calls"),
                "`tool_calls` must be an array.",
            ))
        }
    };
    let tool_call_id = if role == Role::Tool {
        let param = || format!("messages.[{i}].tool_call_id");
        let id = take_string(&mut m, "tool_call_id", &param)?;
        if !is_tool_use_id(&id) {
            return Err(ApiError::invalid(
                param(),
                "`tool_call_id` must be 1-64 characters of [a-zA-Z0-9_.:-].",
            ));
        }
        Some(id)
    } else {
        None
    };
    let thinking_blocks = match role {
        Role::Assistant => parse_blocks(i, m.remove("thinking_blocks"))?,
        _ => Vec::new(),
    };
    let content_optional = role == Role::Assistant;
    let mut parts = parse_content(i, content_optional, m.remove("content"))?;
    // LiteLLM's message-level `cache_control`: a cache point after the message.
    if let Some(mark) = parse_cache_control(m.remove("cache_control"), &|| {
        format!("messages.[{i}].cache_control")
    })? {
        parts.push(Part::CachePoint(mark));
    }
    Ok(Message {
        role,
        parts,
        tool_calls,
        tool_call_id,
        thinking_blocks,
    })
}

fn parse_tool_call(i: usize, j: usize, v: Value) -> Result<ToolCall, ApiError> {
    let base = format!("messages.[{i}].tool_calls.[{j}]");
    let Value::Object(mut c) = v else {
        return Err(ApiError::invalid(base, "Each tool call must be an object."));
    };
    let id = take_string(&mut c, "id", &|| format!("{base}.id"))?;
    if !is_tool_use_id(&id) {
        return Err(ApiError::invalid(
            format!("{base}.id"),
            "Tool call ids must be 1-64 characters of [a-zA-Z0-9_.:-].",
        ));
    }
    match take_opt_string(&mut c, "type", &|| format!("{base}.type"))?.as_deref() {
        None | Some("function") => {}
        Some(_) => {
            return Err(ApiError::invalid(
                format!("{base}.type"),
                "Only `function` tool calls are supported.",
            ))
        }
    }
    let Some(Value::Object(mut f)) = c.remove("function") else {
        return Err(ApiError::invalid(
            format!("{base}.function"),
            "A tool call needs a `function` object.",
        ));
    };
    let name = take_string(&mut f, "name", &|| format!("{base}.function.name"))?;
    if !is_tool_name(&name) {
        return Err(ApiError::invalid(
            format!("{base}.function.name"),
            "Tool names must be 1-64 characters of [a-zA-Z0-9_-].",
        ));
    }
    let args_param = || format!("{base}.function.arguments");
    let raw = take_opt_string(&mut f, "arguments", &args_param)?.unwrap_or_default();
    let arguments = if raw.trim().is_empty() {
        Value::Object(Map::new())
    } else {
        serde_json::from_str(&raw).map_err(|e| {
            ApiError::invalid(args_param(), format!("`arguments` is not valid JSON: {e}"))
        })?
    };
    Ok(ToolCall {
        id,
        name,
        arguments,
    })
}
