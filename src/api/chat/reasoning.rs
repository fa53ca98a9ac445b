//! What the caller asks of reasoning: OpenAI's `reasoning_effort`, the
//! Anthropic-style `thinking` body extension, and the `thinking_blocks` an
//! assistant message carries back.

use crate::api::fields::{take_opt_string, take_string};
use crate::base64::decoded_len;
use crate::conversation::reasoning::{Effort, ReasoningAsk, ThinkingBlock};
use crate::error::ApiError;
use serde_json::{Map, Value};

fn parse_effort(v: Value) -> Result<Effort, ApiError> {
    v.as_str().and_then(Effort::from_name).ok_or_else(|| {
        ApiError::invalid(
            "reasoning_effort",
            "`reasoning_effort` must be none, minimal, low, medium, high or xhigh.",
        )
    })
}

fn parse_thinking(v: Value) -> Result<ReasoningAsk, ApiError> {
    let Value::Object(mut t) = v else {
        return Err(ApiError::invalid(
            "thinking",
            "`thinking` must be an object such as {\"type\": \"enabled\", \"budget_tokens\": 2048}.",
        ));
    };
    let kind = take_string(&mut t, "type", &|| "thinking.type".to_string())?;
    match kind.as_str() {
        "enabled" => match t.remove("budget_tokens") {
            Some(Value::Number(n)) if n.as_u64().is_some_and(|b| b >= 1024) => {
                Ok(ReasoningAsk::Budget(n.as_u64().unwrap_or(1024)))
            }
            _ => Err(ApiError::invalid(
                "thinking.budget_tokens",
                "`thinking.budget_tokens` must be an integer of at least 1024.",
            )),
        },
        "adaptive" => Ok(ReasoningAsk::Adaptive),
        "disabled" => Ok(ReasoningAsk::Disabled),
        _ => Err(ApiError::invalid(
            "thinking.type",
            "`thinking.type` must be enabled, adaptive or disabled.",
        )),
    }
}

/// Parses `reasoning_effort` and `thinking` (one of them at most).
pub fn parse_ask(obj: &mut Map<String, Value>) -> Result<Option<ReasoningAsk>, ApiError> {
    let effort = match obj.remove("reasoning_effort") {
        None | Some(Value::Null) => None,
        Some(v) => Some(ReasoningAsk::Effort(parse_effort(v)?)),
    };
    let thinking = match obj.remove("thinking") {
        None | Some(Value::Null) => None,
        Some(v) => Some(parse_thinking(v)?),
    };
    match (effort, thinking) {
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "thinking",
            "Send either `reasoning_effort` or `thinking`, not both.",
        )),
        (e, t) => Ok(e.or(t)),
    }
}

fn parse_block(base: String, v: Value) -> Result<ThinkingBlock, ApiError> {
    let Value::Object(mut b) = v else {
        return Err(ApiError::invalid(
            base,
            "Each thinking block must be an object.",
        ));
    };
    let kind = take_string(&mut b, "type", &|| format!("{base}.type"))?;
    match kind.as_str() {
        "thinking" => Ok(ThinkingBlock::Thinking {
            thinking: take_opt_string(&mut b, "thinking", &|| format!("{base}.thinking"))?
                .unwrap_or_default(),
            signature: take_opt_string(&mut b, "signature", &|| format!("{base}.signature"))?
                .filter(|s| !s.is_empty()),
        }),
        "redacted_thinking" => {
            let data = take_string(&mut b, "data", &|| format!("{base}.data"))?;
            if decoded_len(&data).is_none_or(|n| n == 0) {
                return Err(ApiError::invalid(
                    format!("{base}.data"),
                    "`data` of a redacted thinking block must be the base64 the gateway sent.",
                ));
            }
            Ok(ThinkingBlock::RedactedThinking { data })
        }
        _ => Err(ApiError::invalid(
            format!("{base}.type"),
            "A thinking block's `type` must be thinking or redacted_thinking.",
        )),
    }
}

/// Parses an assistant message's `thinking_blocks` (message `i`).
pub fn parse_blocks(i: usize, v: Option<Value>) -> Result<Vec<ThinkingBlock>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(j, b)| parse_block(format!("messages.[{i}].thinking_blocks.[{j}]"), b))
            .collect(),
        Some(_) => Err(ApiError::invalid(
            format!("messages.[{i}].thinking_blocks"),
            "`thinking_blocks` must be an array.",
        )),
    }
}
