//! The shape of a body the passthrough forwards: the fields each OpenAI API
//! defines, with the JSON type each takes (from the `openai` package's
//! `CompletionCreateParams` and `ResponseCreateParams`; a test in
//! tests/e2e/test_openai_compat.py keeps the two lists equal), and what
//! Bedrock's OpenAI-compatible endpoints or the gateway refuse before
//! anything is sent.

use super::CompatApi;
use crate::catalog::openai::{MANTLE_RESPONSES_TOOLS, RUNTIME_RESPONSES_TOOLS};
use crate::error::{clip, ApiError, MAX_ECHO_CHARS};
use serde_json::{Map, Value};

/// The JSON type of a field (`null` is accepted for every field, as the
/// SDKs' `Optional`s are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string.
    String,
    /// `true` or `false`.
    Bool,
    /// A whole number.
    Integer,
    /// Any number.
    Number,
    /// An object.
    Object,
    /// An array.
    Array,
    /// A string or an array (`stop`, `input`).
    StringOrArray,
    /// A string or an object (`tool_choice`, `conversation`).
    StringOrObject,
}

impl Kind {
    fn accepts(self, v: &Value) -> bool {
        match (self, v) {
            (_, Value::Null) => true,
            (Kind::String, Value::String(_)) | (Kind::Bool, Value::Bool(_)) => true,
            (Kind::Integer, Value::Number(n)) => n.is_i64() || n.is_u64(),
            (Kind::Number, Value::Number(_)) => true,
            (Kind::Object, Value::Object(_)) | (Kind::Array, Value::Array(_)) => true,
            (Kind::StringOrArray, Value::String(_) | Value::Array(_)) => true,
            (Kind::StringOrObject, Value::String(_) | Value::Object(_)) => true,
            _ => false,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::String => "a string",
            Kind::Bool => "a boolean",
            Kind::Integer => "an integer",
            Kind::Number => "a number",
            Kind::Object => "an object",
            Kind::Array => "an array",
            Kind::StringOrArray => "a string or an array",
            Kind::StringOrObject => "a string or an object",
        }
    }
}

/// The gateway's own field of both APIs: seconds allowed for the call
/// (CONTRACT.md), taken out before the body goes upstream.
pub const TIMEOUT: &str = "timeout";

/// `CompletionCreateParams` (openai 2.54), without `model`.
pub const CHAT_FIELDS: &[(&str, Kind)] = &[
    ("messages", Kind::Array),
    ("audio", Kind::Object),
    ("frequency_penalty", Kind::Number),
    ("function_call", Kind::StringOrObject),
    ("functions", Kind::Array),
    ("logit_bias", Kind::Object),
    ("logprobs", Kind::Bool),
    ("max_completion_tokens", Kind::Integer),
    ("max_tokens", Kind::Integer),
    ("metadata", Kind::Object),
    ("modalities", Kind::Array),
    ("moderation", Kind::Object),
    ("n", Kind::Integer),
    ("parallel_tool_calls", Kind::Bool),
    ("prediction", Kind::Object),
    ("presence_penalty", Kind::Number),
    ("prompt_cache_key", Kind::String),
    ("prompt_cache_options", Kind::Object),
    ("prompt_cache_retention", Kind::String),
    ("reasoning_effort", Kind::String),
    ("response_format", Kind::Object),
    ("safety_identifier", Kind::String),
    ("seed", Kind::Integer),
    ("service_tier", Kind::String),
    ("stop", Kind::StringOrArray),
    ("store", Kind::Bool),
    ("stream", Kind::Bool),
    ("stream_options", Kind::Object),
    ("temperature", Kind::Number),
    ("tool_choice", Kind::StringOrObject),
    ("tools", Kind::Array),
    ("top_logprobs", Kind::Integer),
    ("top_p", Kind::Number),
    ("user", Kind::String),
    ("verbosity", Kind::String),
    ("web_search_options", Kind::Object),
];

/// `ResponseCreateParams` (openai 2.54), without `model`.
pub const RESPONSES_FIELDS: &[(&str, Kind)] = &[
    ("background", Kind::Bool),
    ("context_management", Kind::Array),
    ("conversation", Kind::StringOrObject),
    ("include", Kind::Array),
    ("input", Kind::StringOrArray),
    ("instructions", Kind::String),
    ("max_output_tokens", Kind::Integer),
    ("max_tool_calls", Kind::Integer),
    ("metadata", Kind::Object),
    ("moderation", Kind::Object),
    ("parallel_tool_calls", Kind::Bool),
    ("previous_response_id", Kind::String),
    ("prompt", Kind::Object),
    ("prompt_cache_key", Kind::String),
    ("prompt_cache_options", Kind::Object),
    ("prompt_cache_retention", Kind::String),
    ("reasoning", Kind::Object),
    ("safety_identifier", Kind::String),
    ("service_tier", Kind::String),
    ("store", Kind::Bool),
    ("stream", Kind::Bool),
    ("stream_options", Kind::Object),
    ("temperature", Kind::Number),
    ("text", Kind::Object),
    ("tool_choice", Kind::StringOrObject),
    ("tools", Kind::Array),
    ("top_logprobs", Kind::Integer),
    ("top_p", Kind::Number),
    ("truncation", Kind::String),
    ("user", Kind::String),
];

fn fields_of(api: CompatApi) -> &'static [(&'static str, Kind)] {
    match api {
        CompatApi::ChatCompletions => CHAT_FIELDS,
        CompatApi::Responses => RESPONSES_FIELDS,
    }
}

/// Checks every field of `body` (the `model` taken out) against `api`'s:
/// unknown fields are a 400 naming them all, a field of the wrong type a
/// 400 naming it; the required ones must be there.
pub fn check(api: CompatApi, body: &Map<String, Value>) -> Result<(), ApiError> {
    let known = fields_of(api);
    let unknown: Vec<&str> = body
        .keys()
        .map(String::as_str)
        .filter(|k| *k != TIMEOUT && !known.iter().any(|(name, _)| name == k))
        .collect();
    if let Some(first) = unknown.first() {
        let names: Vec<String> = unknown
            .iter()
            .take(8)
            .map(|k| format!("`{}`", clip(k, MAX_ECHO_CHARS)))
            .collect();
        return Err(ApiError::invalid(
            clip(first, MAX_ECHO_CHARS).to_string(),
            format!(
                "Unknown field{} {} for the {} API.",
                if unknown.len() > 1 { "s" } else { "" },
                names.join(", "),
                api.name()
            ),
        ));
    }
    for (name, kind) in known {
        if let Some(v) = body.get(*name) {
            if !kind.accepts(v) {
                return Err(ApiError::invalid(
                    *name,
                    format!("`{name}` must be {}.", kind.name()),
                ));
            }
        }
    }
    if let Some(v) = body.get(TIMEOUT) {
        if !Kind::Integer.accepts(v) {
            return Err(ApiError::invalid(TIMEOUT, "`timeout` must be an integer."));
        }
    }
    if api == CompatApi::ChatCompletions && !matches!(body.get("messages"), Some(Value::Array(_))) {
        return Err(ApiError::invalid("messages", "`messages` is required."));
    }
    Ok(())
}

/// The fields that need a response stored by the server (the gateway keeps
/// none, even where bedrock-mantle would: the same rule as the Responses API
/// over Converse): `previous_response_id`, `conversation`, `background: true`.
pub fn refuse_state(body: &Map<String, Value>) -> Result<(), ApiError> {
    for key in ["previous_response_id", "conversation"] {
        if body.get(key).is_some_and(|v| !v.is_null()) {
            return Err(ApiError::stateless(key));
        }
    }
    if body.get("background") == Some(&Value::Bool(true)) {
        return Err(ApiError::stateless("background"));
    }
    Ok(())
}

/// Refuses a Responses tool the endpoint does not run (bedrock-runtime runs
/// no built-in tool such as `web_search`; bedrock-mantle runs `web_search`),
/// naming it.
pub fn check_tools(body: &Map<String, Value>, mantle: bool) -> Result<(), ApiError> {
    let Some(Value::Array(tools)) = body.get("tools") else {
        return Ok(());
    };
    let (allowed, endpoint): (&[&str], &str) = if mantle {
        (&MANTLE_RESPONSES_TOOLS, "bedrock-mantle")
    } else {
        (&RUNTIME_RESPONSES_TOOLS, "bedrock-runtime")
    };
    for (i, tool) in tools.iter().enumerate() {
        let param = || format!("tools[{i}].type");
        let Some(kind) = tool.get("type").and_then(Value::as_str) else {
            return Err(ApiError::invalid(
                param(),
                format!("`tools[{i}]` must be an object with a string `type`."),
            ));
        };
        if !allowed.contains(&kind) {
            return Err(ApiError::invalid(
                param(),
                format!(
                    "Bedrock's Responses API on {endpoint} does not take tools of type `{}`; it takes {}.",
                    clip(kind, MAX_ECHO_CHARS),
                    allowed.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn unknown_fields_are_named_and_types_checked() {
        let e = check(
            CompatApi::ChatCompletions,
            &obj(json!({"messages": [], "guardrailConfig": {}, "zz": 1})),
        )
        .unwrap_err();
        assert_eq!(
            (e.status, e.param.as_deref()),
            (400, Some("guardrailConfig"))
        );
        assert!(
            e.message.contains("`guardrailConfig`, `zz`"),
            "{}",
            e.message
        );
        let e = check(
            CompatApi::ChatCompletions,
            &obj(json!({"messages": [], "max_tokens": 1.5})),
        )
        .unwrap_err();
        assert_eq!(e.param.as_deref(), Some("max_tokens"));
        let e = check(CompatApi::ChatCompletions, &obj(json!({"stream": true}))).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("messages"));
        check(
            CompatApi::ChatCompletions,
            &obj(json!({"messages": [], "stop": "x", "tool_choice": null, "timeout": 5})),
        )
        .unwrap();
        check(
            CompatApi::Responses,
            &obj(json!({"input": "hi", "reasoning": {"effort": "low"}, "stream": false})),
        )
        .unwrap();
        let e = check(CompatApi::Responses, &obj(json!({"messages": []}))).unwrap_err();
        assert!(e.message.contains("Responses API"));
    }

    #[test]
    fn state_is_refused() {
        for body in [
            json!({"previous_response_id": "resp_1"}),
            json!({"conversation": "conv_1"}),
            json!({"background": true}),
        ] {
            let e = refuse_state(&obj(body)).unwrap_err();
            assert_eq!((e.status, &*e.code), (400, "unsupported_parameter"));
            assert!(e.message.contains("keeps no state"));
        }
        refuse_state(&obj(
            json!({"background": false, "previous_response_id": null}),
        ))
        .unwrap();
    }

    #[test]
    fn built_in_tools_follow_the_endpoint() {
        let body =
            obj(json!({"tools": [{"type": "function", "name": "f"}, {"type": "web_search"}]}));
        let e = check_tools(&body, false).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("tools[1].type"));
        assert!(e.message.contains("bedrock-runtime"));
        check_tools(&body, true).unwrap();
        let e =
            check_tools(&obj(json!({"tools": [{"type": "code_interpreter"}]})), true).unwrap_err();
        assert!(e.message.contains("`code_interpreter`"));
        let e = check_tools(&obj(json!({"tools": [7]})), true).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("tools[0].type"));
    }
}
