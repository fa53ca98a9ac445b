//! The configuration's `models`: operator-declared model ids, read field by
//! field (the catalog validates what they name).

use super::fields::Fields;
use crate::catalog::declared::RawDeclared;
use serde_json::Value;

/// Reads `models[i]` (its fields' types; [`RawDeclared::validate`] checks the values).
pub fn read_one(v: Value, i: usize) -> Result<RawDeclared, String> {
    let mut f = Fields::new(
        v,
        &format!("models[{i}]"),
        &["id", "target", "base", "surface"],
    )?;
    Ok(RawDeclared {
        id: f.required_string("id")?,
        target: f.string("target")?,
        base: f.string("base")?,
        surface: f.string("surface")?,
    })
}

/// Reads every entry of the configuration's `models`.
pub fn read_all(items: Vec<Value>) -> Result<Vec<RawDeclared>, String> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| read_one(v, i))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::declared::validate_all;

    fn raw(json: &str) -> Vec<RawDeclared> {
        read(json).unwrap()
    }

    fn read(json: &str) -> Result<Vec<RawDeclared>, String> {
        match serde_json::from_str(json).unwrap() {
            Value::Array(items) => read_all(items),
            _ => panic!("not an array: {json}"),
        }
    }

    #[test]
    fn the_documented_example_validates() {
        let d = validate_all(raw(r#"[
            {"id": "arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/a1b2c3d4e5f6",
             "base": "anthropic.claude-3-5-sonnet-20240620-v1:0"},
            {"id": "claude-fast", "target": "us.anthropic.claude-3-5-haiku-20241022-v1:0"}]"#))
        .unwrap();
        assert_eq!(&*d[1].id, "claude-fast");
        assert_eq!(
            d[1].base().map(|b| b.id),
            Some("anthropic.claude-3-5-haiku-20241022-v1:0")
        );
        assert_eq!(d[0].target, d[0].id);
        assert_eq!(
            d[0].base().map(|b| b.id),
            Some("anthropic.claude-3-5-sonnet-20240620-v1:0")
        );
    }

    #[test]
    fn bad_entries_are_refused_with_a_reason() {
        for (json, why) in [
            (
                r#"[{"id": "x", "target": "us.anthropic.claude-3-5-haiku-20241022-v1:0", "base": "nope"}]"#,
                "not a model of the catalog",
            ),
            (
                r#"[{"id": "arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/a1"}]"#,
                "needs `base`",
            ),
            (
                r#"[{"id": "a", "target": "arn:aws:bedrock:us-west-2:12:application-inference-profile/a1", "base": "meta.llama3-8b-instruct-v1:0"}]"#,
                "account",
            ),
            (r#"[{"id": "a", "target": "gpt-4o"}]"#, "not in the catalog"),
            (r#"[{"id": "a b"}]"#, "must be"),
            (
                r#"[{"id": "a", "target": "meta.llama3-8b-instruct-v1:0"}, {"id": "a", "target": "meta.llama3-8b-instruct-v1:0"}]"#,
                "twice",
            ),
        ] {
            let err = validate_all(raw(json)).unwrap_err();
            assert!(err.contains(why), "{json}: {err}");
        }
        let err = read(r#"[{"id": "a", "extra": 1}]"#).unwrap_err();
        assert!(err.contains("models[0]: unknown field \"extra\""), "{err}");
        let err = read(r#"[{"target": "a"}]"#).unwrap_err();
        assert_eq!(err, "models[0].id is required");
    }
}
