//! Small helpers for picking typed fields out of a `serde_json` object with exact `param` errors.

use crate::error::ApiError;
use serde_json::{Map, Value};

/// Removes `key` and requires a string; `param` names it in the error.
pub fn take_string(
    obj: &mut Map<String, Value>,
    key: &str,
    param: &dyn Fn() -> String,
) -> Result<String, ApiError> {
    match obj.remove(key) {
        Some(Value::String(s)) => Ok(s),
        None | Some(Value::Null) => {
            Err(ApiError::invalid(param(), format!("`{key}` is required.")))
        }
        Some(_) => Err(ApiError::invalid(
            param(),
            format!("`{key}` must be a string."),
        )),
    }
}

/// Removes `key` and returns it if it is a string; null or absent is `None`.
pub fn take_opt_string(
    obj: &mut Map<String, Value>,
    key: &str,
    param: &dyn Fn() -> String,
) -> Result<Option<String>, ApiError> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid(
            param(),
            format!("`{key}` must be a string."),
        )),
    }
}

/// True for 1..=64 characters of `[a-zA-Z0-9_-]`, Bedrock's tool-name rule.
pub fn is_tool_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// True for 1..=64 characters of `[a-zA-Z0-9_.:-]`, Bedrock's tool-use-id rule.
pub fn is_tool_use_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}
