//! A Responses request, parsed and checked field by field onto the
//! conversation layer, with what its answer echoes back.
//!
//! The gateway keeps no state: `previous_response_id`, `conversation` and
//! `background: true` are refused with a message that says so; `store` is
//! taken and nothing is kept. Fields Converse has no use for but that
//! clients send by default are taken and not sent (`prompt_cache_key`,
//! `prompt_cache_retention`, `client_metadata`, `parallel_tool_calls`,
//! `truncation: "disabled"`, `stream_options`, `text.verbosity`); every
//! other unknown or unsupported field is a 400 naming it.

use super::input::{parse_input, Reading};
use super::tools::{parse_tool_choice, parse_tools, ToolNames};
use crate::api::body::{self, Body};
use crate::api::chat::options::{metadata_pairs, service_tier};
use crate::api::fields::{
    is_tool_name, opt_bool, opt_number_in, opt_positive_int, take_opt_string, take_string,
};
use crate::catalog::resolve::{Model, Models};
use crate::conversation::output::OutputFormat;
use crate::conversation::reasoning::{Effort, ReasoningAsk};
use crate::conversation::{Conversation, Sampling};
use crate::error::{clip, ApiError, MAX_ECHO_CHARS};
use crate::policy::options::RequestOptions;
use serde_json::{Map, Value};

/// A validated Responses request.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponsesRequest {
    /// What the request asks of the model.
    pub conversation: Conversation,
    /// Answer as server-sent events.
    pub stream: bool,
    /// `timeout`, in seconds (the gateway's extension, as for chat).
    pub timeout_seconds: Option<u64>,
    /// Every tool, by its Converse name.
    pub tools: ToolNames,
    /// `reasoning.summary` was set: reasoning text comes back as summary parts.
    pub summary: bool,
    /// `include` has `reasoning.encrypted_content`.
    pub encrypted_reasoning: bool,
    /// The request's settings, as the answer's `response` object echoes
    /// them: JSON members (`"tools":[...],...`) without the braces.
    pub echo: String,
}

/// The stateless gateway's answer to a field that needs server state.
const STATELESS: &str = "This gateway keeps no state: send the whole conversation in `input` (as Codex and the Agents SDK do with `store: false`), with earlier reasoning as `reasoning` items carrying their `encrypted_content`.";

/// Fields taken and not sent to Bedrock (each documented in docs/api/responses.md).
const TAKEN: [&str; 3] = [
    "prompt_cache_key",
    "prompt_cache_retention",
    "client_metadata",
];

/// Parses and validates a request body.
pub fn parse(
    body: &[u8],
    models: &Models,
    item_key: Option<&[u8]>,
) -> Result<ResponsesRequest, ApiError> {
    let Body { model, fields } = body::read(body, models)?;
    parse_fields(model.into_converse()?, fields, item_key)
}

/// Appends `"name":<value>` (and a comma before it unless first) to `echo`.
fn echo_member(echo: &mut String, name: &str, value: &Value) {
    if !echo.is_empty() {
        echo.push(',');
    }
    echo.push('"');
    echo.push_str(name);
    echo.push_str("\":");
    echo.push_str(&serde_json::to_string(value).unwrap_or_else(|_| "null".into()));
}

/// Parses and validates the fields of a body whose model is read.
pub fn parse_fields(
    model: Model,
    mut obj: Map<String, Value>,
    item_key: Option<&[u8]>,
) -> Result<ResponsesRequest, ApiError> {
    for key in ["previous_response_id", "conversation"] {
        if obj.get(key).is_some_and(|v| !v.is_null()) {
            return Err(ApiError::invalid(key, STATELESS));
        }
    }
    if opt_bool(&mut obj, "background")? == Some(true) {
        return Err(ApiError::invalid(
            "background",
            "This gateway keeps no state, so it runs no background responses: send the request without `background`, and stream it if it is long.",
        ));
    }
    let mut echo = String::with_capacity(256);
    let tools_value = obj.remove("tools");
    echo_member(
        &mut echo,
        "tools",
        tools_value.as_ref().unwrap_or(&Value::Array(Vec::new())),
    );
    let (tools, names) = parse_tools(tools_value)?;
    let choice_value = obj.remove("tool_choice");
    echo_member(
        &mut echo,
        "tool_choice",
        choice_value
            .as_ref()
            .filter(|v| !v.is_null())
            .unwrap_or(&Value::from("auto")),
    );
    let tool_choice = parse_tool_choice(choice_value, &names, !tools.is_empty())?;
    let parallel = opt_bool(&mut obj, "parallel_tool_calls")?.unwrap_or(true);
    echo_member(&mut echo, "parallel_tool_calls", &Value::Bool(parallel));
    let instructions = take_opt_string(&mut obj, "instructions", &|| "instructions".into())?;
    echo_member(
        &mut echo,
        "instructions",
        &instructions.clone().map_or(Value::Null, Value::String),
    );
    let messages = parse_input(
        instructions,
        obj.remove("input"),
        &Reading {
            names: &names,
            item_key,
        },
    )?;
    let stream = opt_bool(&mut obj, "stream")?.unwrap_or(false);
    let timeout_seconds = opt_positive_int(&mut obj, "timeout")?;
    let temperature = opt_number_in(&mut obj, "temperature", 0, 2)?;
    let top_p = opt_number_in(&mut obj, "top_p", 0, 1)?;
    let max_tokens = opt_positive_int(&mut obj, "max_output_tokens")?;
    echo_member(
        &mut echo,
        "temperature",
        &Value::from(temperature.unwrap_or(1.0)),
    );
    echo_member(&mut echo, "top_p", &Value::from(top_p.unwrap_or(1.0)));
    echo_member(
        &mut echo,
        "max_output_tokens",
        &max_tokens.map_or(Value::Null, Value::from),
    );
    let (text_value, output_format) = parse_text(obj.remove("text"))?;
    echo_member(&mut echo, "text", &text_value);
    let (reasoning_value, reasoning, summary) = parse_reasoning(obj.remove("reasoning"))?;
    echo_member(&mut echo, "reasoning", &reasoning_value);
    let encrypted_reasoning = parse_include(obj.remove("include"))?;
    let store = opt_bool(&mut obj, "store")?.unwrap_or(true);
    echo_member(&mut echo, "store", &Value::Bool(store));
    let options = parse_options(&mut obj, &mut echo)?;
    check_truncation(&mut obj, &mut echo)?;
    check_rest(&mut obj)?;
    echo_member(&mut echo, "previous_response_id", &Value::Null);
    echo_member(&mut echo, "background", &Value::Bool(false));
    Ok(ResponsesRequest {
        conversation: Conversation {
            model,
            messages,
            sampling: Sampling {
                temperature,
                top_p,
                max_tokens,
                stop: Vec::new(),
            },
            tools,
            tool_choice,
            reasoning,
            output_format,
            options,
            auto_cache_points: false,
        },
        stream,
        timeout_seconds,
        tools: names,
        summary,
        encrypted_reasoning,
        echo,
    })
}

/// `text`: its `format` (`text`, `json_object`, `json_schema`); `verbosity`
/// is taken and not sent. Returns what the answer echoes and the format.
fn parse_text(v: Option<Value>) -> Result<(Value, Option<OutputFormat>), ApiError> {
    let default = || serde_json::json!({"format": {"type": "text"}});
    let mut t = match v {
        None | Some(Value::Null) => return Ok((default(), None)),
        Some(Value::Object(t)) => t,
        Some(_) => return Err(ApiError::invalid("text", "`text` must be an object.")),
    };
    let echoed = Value::Object(t.clone());
    match t.remove("verbosity") {
        None | Some(Value::Null) => {}
        Some(Value::String(v)) if ["low", "medium", "high"].contains(&v.as_str()) => {}
        Some(_) => {
            return Err(ApiError::invalid(
                "text.verbosity",
                "`text.verbosity` must be low, medium or high.",
            ))
        }
    }
    let format = match t.remove("format") {
        None | Some(Value::Null) => None,
        Some(Value::Object(mut f)) => {
            let kind = take_string(&mut f, "type", &|| "text.format.type".into())?;
            match kind.as_str() {
                "text" => None,
                "json_object" => Some(OutputFormat::JsonObject),
                "json_schema" => {
                    let name = take_string(&mut f, "name", &|| "text.format.name".into())?;
                    if !is_tool_name(&name) {
                        return Err(ApiError::invalid(
                            "text.format.name",
                            "`name` must be 1-64 characters of [a-zA-Z0-9_-].",
                        ));
                    }
                    let description = take_opt_string(&mut f, "description", &|| {
                        "text.format.description".into()
                    })?
                    .filter(|d| !d.trim().is_empty());
                    opt_bool(&mut f, "strict")?;
                    match f.remove("schema") {
                        Some(schema @ Value::Object(_)) => Some(OutputFormat::JsonSchema {
                            name,
                            description,
                            schema,
                        }),
                        _ => {
                            return Err(ApiError::invalid(
                                "text.format.schema",
                                "`schema` must be a JSON schema object.",
                            ))
                        }
                    }
                }
                _ => {
                    return Err(ApiError::invalid(
                        "text.format.type",
                        "`text.format.type` must be text, json_object or json_schema.",
                    ))
                }
            }
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "text.format",
                "`text.format` must be an object.",
            ))
        }
    };
    if let Some(k) = t.keys().next() {
        return Err(ApiError::invalid(
            format!("text.{}", clip(k, MAX_ECHO_CHARS)),
            "`text` takes only `format` and `verbosity`.",
        ));
    }
    Ok((echoed, format))
}

/// `reasoning`: its `effort` (the same map as chat's `reasoning_effort`) and
/// whether a `summary` is wanted. Returns what the answer echoes too.
fn parse_reasoning(v: Option<Value>) -> Result<(Value, Option<ReasoningAsk>, bool), ApiError> {
    let mut r = match v {
        None | Some(Value::Null) => return Ok((Value::Null, None, false)),
        Some(Value::Object(r)) => r,
        Some(_) => {
            return Err(ApiError::invalid(
                "reasoning",
                "`reasoning` must be an object.",
            ))
        }
    };
    let effort = match r.remove("effort") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_str().and_then(Effort::from_name).ok_or_else(|| {
            ApiError::invalid(
                "reasoning.effort",
                "`reasoning.effort` must be none, minimal, low, medium, high or xhigh.",
            )
        })?),
    };
    let mut summary = None;
    for key in ["summary", "generate_summary"] {
        match r.remove(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if ["auto", "concise", "detailed"].contains(&s.as_str()) => {
                summary = Some(s);
            }
            Some(_) => {
                return Err(ApiError::invalid(
                    format!("reasoning.{key}"),
                    format!("`reasoning.{key}` must be auto, concise or detailed."),
                ))
            }
        }
    }
    if let Some(k) = r.keys().next() {
        return Err(ApiError::invalid(
            format!("reasoning.{}", clip(k, MAX_ECHO_CHARS)),
            "`reasoning` takes `effort` and `summary`.",
        ));
    }
    let echoed = serde_json::json!({
        "effort": effort.map(Effort::name),
        "summary": summary.as_deref(),
    });
    Ok((echoed, effort.map(ReasoningAsk::Effort), summary.is_some()))
}

/// The `include` values the gateway knows; only `reasoning.encrypted_content`
/// changes the answer. Returns whether it was asked.
fn parse_include(v: Option<Value>) -> Result<bool, ApiError> {
    const KNOWN: [&str; 8] = [
        "reasoning.encrypted_content",
        "message.output_text.logprobs",
        "message.input_image.image_url",
        "file_search_call.results",
        "web_search_call.results",
        "web_search_call.action.sources",
        "computer_call_output.output.image_url",
        "code_interpreter_call.outputs",
    ];
    let items = match v {
        None | Some(Value::Null) => return Ok(false),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(ApiError::invalid(
                "include",
                "`include` must be an array of strings.",
            ))
        }
    };
    let mut encrypted = false;
    for (i, item) in items.iter().enumerate() {
        match item.as_str() {
            Some("reasoning.encrypted_content") => encrypted = true,
            Some("message.output_text.logprobs") => {
                return Err(ApiError::invalid(
                    format!("include.[{i}]"),
                    "Bedrock does not return log probabilities.",
                ))
            }
            Some(s) if KNOWN.contains(&s) => {}
            _ => {
                return Err(ApiError::invalid(
                    format!("include.[{i}]"),
                    "Unknown `include` value.",
                ))
            }
        }
    }
    Ok(encrypted)
}

/// `service_tier`, `metadata`, `user` and `safety_identifier` (the end
/// user, as chat's `user`): Bedrock's request options.
fn parse_options(
    obj: &mut Map<String, Value>,
    echo: &mut String,
) -> Result<RequestOptions, ApiError> {
    let service_tier = service_tier(obj.remove("service_tier"))?;
    let metadata_value = obj.remove("metadata");
    echo_member(
        echo,
        "metadata",
        metadata_value
            .as_ref()
            .filter(|v| !v.is_null())
            .unwrap_or(&Value::Object(Map::new())),
    );
    let metadata = metadata_pairs(metadata_value)?;
    let user = take_opt_string(obj, "user", &|| "user".into())?;
    let safety = take_opt_string(obj, "safety_identifier", &|| "safety_identifier".into())?;
    echo_member(
        echo,
        "user",
        &user.clone().map_or(Value::Null, Value::String),
    );
    echo_member(
        echo,
        "safety_identifier",
        &safety.clone().map_or(Value::Null, Value::String),
    );
    Ok(RequestOptions {
        service_tier,
        latency: None,
        user: safety.or(user),
        metadata,
    })
}

/// `truncation`: only `disabled` (Bedrock answers a too-long input with an error).
fn check_truncation(obj: &mut Map<String, Value>, echo: &mut String) -> Result<(), ApiError> {
    match take_opt_string(obj, "truncation", &|| "truncation".into())?.as_deref() {
        None | Some("disabled") => {
            echo_member(echo, "truncation", &Value::from("disabled"));
            Ok(())
        }
        Some(_) => Err(ApiError::invalid(
            "truncation",
            "Only `truncation: \"disabled\"` is supported: the gateway does not drop items from `input`.",
        )),
    }
}

/// The fields left: those taken and not sent, then a 400 for the first other one.
fn check_rest(obj: &mut Map<String, Value>) -> Result<(), ApiError> {
    for key in TAKEN {
        obj.remove(key);
    }
    match obj.remove("stream_options") {
        None | Some(Value::Null) | Some(Value::Object(_)) => {}
        Some(_) => {
            return Err(ApiError::invalid(
                "stream_options",
                "`stream_options` must be an object.",
            ))
        }
    }
    match obj.remove("top_logprobs") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.as_u64() == Some(0) => {}
        Some(_) => {
            return Err(ApiError::invalid(
                "top_logprobs",
                "Bedrock does not return log probabilities.",
            ))
        }
    }
    match obj.keys().next() {
        None => Ok(()),
        Some(k) => Err(ApiError::invalid(
            clip(k, MAX_ECHO_CHARS).to_string(),
            format!(
                "`{}` is not supported by this gateway's Responses API.",
                clip(k, MAX_ECHO_CHARS)
            ),
        )),
    }
}
