//! Server-sent events writer: `data: <json>\n\n` lines and the final `[DONE]`.

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
