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

/// Removes `key`; null or absent is `None`, anything but a boolean an error.
pub fn opt_bool(obj: &mut Map<String, Value>, key: &'static str) -> Result<Option<bool>, ApiError> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(_) => Err(ApiError::invalid(
            key,
            format!("`{key}` must be a boolean."),
        )),
    }
}

/// Removes `key`; null or absent is `None`, anything but a positive integer an error.
pub fn opt_positive_int(
    obj: &mut Map<String, Value>,
    key: &'static str,
) -> Result<Option<u64>, ApiError> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(x) if x > 0 => Ok(Some(x)),
            _ => Err(ApiError::invalid(
                key,
                format!("`{key}` must be a positive integer."),
            )),
        },
        Some(_) => Err(ApiError::invalid(
            key,
            format!("`{key}` must be a positive integer."),
        )),
    }
}

/// Removes `key`; null or absent is `None`, anything but a number in `min..=max` an error.
///
/// The bounds are whole numbers so that the message formats integers: a float
/// `Display` would ship core's float formatter in the `.wasm` for one message.
pub fn opt_number_in(
    obj: &mut Map<String, Value>,
    key: &'static str,
    min: u8,
    max: u8,
) -> Result<Option<f64>, ApiError> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(x) if (f64::from(min)..=f64::from(max)).contains(&x) => Ok(Some(x)),
            _ => Err(ApiError::invalid(
                key,
                format!("`{key}` must be between {min} and {max}."),
            )),
        },
        Some(_) => Err(ApiError::invalid(key, format!("`{key}` must be a number."))),
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
