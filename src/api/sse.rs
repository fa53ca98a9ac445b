//! Server-sent events, as every OpenAI API streams them: one `data:` line
//! per event, errors as an `{"error": ...}` event.

use crate::error::ApiError;
use serde::Serialize;

/// The line that ends an OpenAI stream.
pub const DONE: &[u8] = b"data: [DONE]\n\n";

/// Appends `data: <json of value>\n\n` to `out`.
///
/// Serializing our own response types cannot fail; if it ever did, nothing is
/// appended rather than half a line.
pub fn write_data(out: &mut Vec<u8>, value: &impl Serialize) {
    let start = out.len();
    out.extend_from_slice(b"data: ");
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.truncate(start);
        return;
    }
    out.extend_from_slice(b"\n\n");
}

/// Appends one `{"error": ...}` event and `[DONE]`: how a stream that has
/// started reports a failure (the OpenAI SDKs raise on it).
pub fn write_error(out: &mut Vec<u8>, err: &ApiError) {
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(&err.to_json());
    out.extend_from_slice(b"\n\n");
    out.extend_from_slice(DONE);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_one_event() {
        let mut out = Vec::new();
        write_data(&mut out, &serde_json::json!({"a": "x\ny"}));
        assert_eq!(out, b"data: {\"a\":\"x\\ny\"}\n\n");
    }
}
