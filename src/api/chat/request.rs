//! The OpenAI chat-completions request, parsed and validated field by field.
//!
//! Parsing goes through one `serde_json::Value` tree so that every refusal can
//! name its `param` exactly (`messages.[2].role`); strings are moved out of
//! the tree, not copied.

use super::message::parse_messages;
use super::options::parse_options;
use super::reasoning::parse_ask;
use super::response_format::parse_response_format;
use super::tools::{parse_tool_choice, parse_tools};
use crate::api::body::{self, Body};
use crate::api::fields::{opt_bool, opt_number_in, opt_positive_int};
use crate::catalog::resolve::{Model, Models};
use crate::conversation::{Conversation, Sampling};
use crate::error::ApiError;
use serde_json::{Map, Value};

/// A validated chat-completions request: the conversation, and how the
/// answer travels back.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// What the request asks of the model.
    pub conversation: Conversation,
    /// Answer as server-sent events.
    pub stream: bool,
    /// `stream_options.include_usage`.
    pub include_usage: bool,
    /// `timeout`, in seconds.
    pub timeout_seconds: Option<u64>,
}

/// Fields OpenAI clients send that Bedrock Converse cannot honour; accepted and ignored.
pub const IGNORED_FIELDS: &[&str] = &[
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "store",
    "parallel_tool_calls",
    "top_logprobs",
    "prediction",
    "modalities",
    "web_search_options",
];

/// Parses and validates a request body for Converse (a model served on
/// Bedrock's OpenAI-compatible surface is refused: [`crate::api::chat::plan`]
/// routes those before parsing).
pub fn parse(body: &[u8], models: &Models) -> Result<ChatRequest, ApiError> {
    let Body { model, fields } = body::read(body, models)?;
    parse_fields(model.into_converse()?, fields)
}

/// Parses and validates the fields of a body whose model is read.
pub fn parse_fields(model: Model, mut obj: Map<String, Value>) -> Result<ChatRequest, ApiError> {
    let messages = parse_messages(obj.remove("messages"))?;
    let stream = opt_bool(&mut obj, "stream")?.unwrap_or(false);
    let include_usage = parse_stream_options(obj.remove("stream_options"))?;
    let timeout_seconds = opt_positive_int(&mut obj, "timeout")?;
    let temperature = opt_number_in(&mut obj, "temperature", 0, 2)?;
    let top_p = opt_number_in(&mut obj, "top_p", 0, 1)?;
    // Both are validated; `max_tokens` wins when both are sent.
    let max_tokens = opt_positive_int(&mut obj, "max_tokens")?;
    let max_completion_tokens = opt_positive_int(&mut obj, "max_completion_tokens")?;
    let max_tokens = max_tokens.or(max_completion_tokens);
    let stop = parse_stop(obj.remove("stop"))?;
    let tools = parse_tools(obj.remove("tools"))?;
    let tool_choice = parse_tool_choice(obj.remove("tool_choice"), &tools)?;
    let reasoning = parse_ask(&mut obj)?;
    let response_format = parse_response_format(obj.remove("response_format"))?;
    let options = parse_options(&mut obj)?;
    check_unsupported(&mut obj)?;
    Ok(ChatRequest {
        conversation: Conversation {
            model,
            messages,
            sampling: Sampling {
                temperature,
                top_p,
                max_tokens,
                stop,
            },
            tools,
            tool_choice,
            reasoning,
            output_format: response_format,
            options,
            auto_cache_points: false,
        },
        stream,
        include_usage,
        timeout_seconds,
    })
}

fn parse_stream_options(v: Option<Value>) -> Result<bool, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Object(mut o)) => match o.remove("include_usage") {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(b),
            Some(_) => Err(ApiError::invalid(
                "stream_options.include_usage",
                "`stream_options.include_usage` must be a boolean.",
            )),
        },
        Some(_) => Err(ApiError::invalid(
            "stream_options",
            "`stream_options` must be an object.",
        )),
    }
}

fn parse_stop(v: Option<Value>) -> Result<Vec<String>, ApiError> {
    let stops = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|s| match s {
                Value::String(s) => Ok(s),
                _ => Err(ApiError::invalid(
                    "stop",
                    "`stop` must be a string or a list of strings.",
                )),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => {
            return Err(ApiError::invalid(
                "stop",
                "`stop` must be a string or a list of strings.",
            ))
        }
    };
    if stops.len() > 4 {
        return Err(ApiError::invalid(
            "stop",
            "`stop` takes at most 4 sequences.",
        ));
    }
    if stops.iter().any(String::is_empty) {
        return Err(ApiError::invalid(
            "stop",
            "Stop sequences must not be empty.",
        ));
    }
    Ok(stops)
}

/// Fields that change the answer in a way Bedrock cannot reproduce are refused.
fn check_unsupported(obj: &mut Map<String, Value>) -> Result<(), ApiError> {
    match obj.remove("n") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.as_u64() == Some(1) => {}
        Some(_) => return Err(ApiError::invalid("n", "Only `n: 1` is supported.")),
    }
    match obj.remove("logprobs") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => {}
        Some(_) => {
            return Err(ApiError::invalid(
                "logprobs",
                "Bedrock does not return log probabilities.",
            ))
        }
    }
    for key in ["functions", "function_call"] {
        if obj.get(key).is_some_and(|v| !v.is_null()) {
            return Err(ApiError::invalid(
                key,
                format!("`{key}` is deprecated by OpenAI; send `tools` and `tool_choice` instead."),
            ));
        }
    }
    Ok(())
}
