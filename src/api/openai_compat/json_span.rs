//! Where a key's value sits in a JSON object's bytes, so that one value can
//! be replaced and every other byte of Bedrock's answer left as it came (a
//! parse and re-serialization would reorder keys and reformat numbers).

use std::ops::Range;

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b
        .get(i)
        .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
    {
        i += 1;
    }
    i
}

/// The end of the string starting at `i` (its opening quote), just past the
/// closing quote.
fn skip_string(b: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        match b.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

/// The end of the value starting at `i`: a string, an object or array
/// (brackets counted, strings skipped), or a literal or number.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match b.get(j)? {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while b
                .get(j)
                .is_some_and(|c| !matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
            {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

/// The byte range of the value of `key` in the JSON object `obj` (its own
/// members only, not nested ones); `None` when `obj` is not an object or
/// lacks the key. The key is compared as written (no escapes in our keys).
pub fn value_span(obj: &[u8], key: &str) -> Option<Range<usize>> {
    let mut i = skip_ws(obj, 0);
    if obj.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(obj, i + 1);
    if obj.get(i) == Some(&b'}') {
        return None;
    }
    loop {
        if obj.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = skip_string(obj, i)?;
        let name = obj.get(i + 1..key_end - 1)?;
        i = skip_ws(obj, key_end);
        if obj.get(i) != Some(&b':') {
            return None;
        }
        let start = skip_ws(obj, i + 1);
        let end = skip_value(obj, start)?;
        if name == key.as_bytes() {
            return Some(start..end);
        }
        i = skip_ws(obj, end);
        match obj.get(i)? {
            b',' => i = skip_ws(obj, i + 1),
            _ => return None,
        }
    }
}

/// The span of the value at `path` (keys of nested objects, outermost first).
pub fn path_span(obj: &[u8], path: &[&str]) -> Option<Range<usize>> {
    let mut at = 0..obj.len();
    for key in path {
        let inner = value_span(obj.get(at.clone())?, key)?;
        at = at.start + inner.start..at.start + inner.end;
    }
    Some(at)
}

/// `obj` with the string value at `path` replaced by `value` (JSON-escaped),
/// or `None` when there is no string there.
pub fn replace_string(obj: &[u8], path: &[&str], value: &str) -> Option<Vec<u8>> {
    let span = path_span(obj, path)?;
    if obj.get(span.start) != Some(&b'"') {
        return None;
    }
    let quoted = serde_json::to_vec(value).ok()?;
    let mut out = Vec::with_capacity(obj.len() + quoted.len());
    out.extend_from_slice(obj.get(..span.start)?);
    out.extend_from_slice(&quoted);
    out.extend_from_slice(obj.get(span.end..)?);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_own_members_only() {
        let j = br#"{"a": {"model": "inner"}, "s": "x\"}model", "n": -1.5e3, "model" : "m", "z": [1, {"model": 2}]}"#;
        let at = value_span(j, "model").unwrap();
        assert_eq!(&j[at], br#""m""#);
        assert_eq!(&j[value_span(j, "n").unwrap()], b"-1.5e3");
        assert_eq!(&j[path_span(j, &["a", "model"]).unwrap()], br#""inner""#);
        assert!(value_span(j, "missing").is_none());
        assert!(value_span(b"[1]", "a").is_none());
        assert!(value_span(b"{}", "a").is_none());
        assert!(value_span(br#"{"a": "#, "a").is_none());
    }

    #[test]
    fn replaces_a_string_and_keeps_every_other_byte() {
        let j = br#"{"id":"c1","model":"us.openai.gpt-5.6-sol","x":0.10}"#;
        let out = replace_string(j, &["model"], "my \"alias\"").unwrap();
        assert_eq!(out, br#"{"id":"c1","model":"my \"alias\"","x":0.10}"#);
        let r = br#"{"type":"response.created","response":{"id":"r","model":"openai.gpt-5.5"}}"#;
        let out = replace_string(r, &["response", "model"], "gpt").unwrap();
        assert_eq!(
            out,
            br#"{"type":"response.created","response":{"id":"r","model":"gpt"}}"#
        );
        assert!(replace_string(br#"{"model":null}"#, &["model"], "m").is_none());
    }

    #[test]
    fn never_panics_on_any_prefix() {
        let j = br#"{"a": [1, "x\\", {"b": "c"}], "model": "m", "t": true}"#;
        for i in 0..=j.len() {
            let _ = value_span(&j[..i], "model");
            let _ = replace_string(&j[..i], &["a", "b"], "x");
        }
    }
}
