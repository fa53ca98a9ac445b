//! Operator-declared models: ids callers may send, the target Bedrock
//! receives for each, and the catalog row whose capabilities apply.
//!
//! Declared in the plugin configuration's `models` (from
//! `BEDROCK_MODELS_FILE` with `make run`), e.g. an application inference
//! profile ARN for cost allocation, or a short alias of a profile id.

use super::{arn, find, find_profile, ModelInfo};
use crate::config::fields::Fields;
use serde_json::Value;
use std::rc::Rc;

/// One entry of the configuration's `models`, as written.
#[derive(Debug)]
pub struct RawDeclared {
    id: String,
    target: Option<String>,
    base: Option<String>,
}

/// A validated declared model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// What callers send in `model`.
    pub id: Rc<str>,
    /// What Bedrock receives (the id itself unless `target` was given).
    pub target: Rc<str>,
    /// The catalog row whose capabilities apply.
    pub base: &'static ModelInfo,
}

/// The longest model id botocore's `ConversationalModelId` allows.
const MAX_ID: usize = 2048;

fn id_chars_ok(s: &str) -> bool {
    (1..=MAX_ID).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:/@+-".contains(&b))
}

impl RawDeclared {
    /// Reads `models[i]` (its fields' types; [`RawDeclared::validate`] checks the values).
    pub fn read(v: Value, i: usize) -> Result<RawDeclared, String> {
        let mut f = Fields::new(v, &format!("models[{i}]"), &["id", "target", "base"])?;
        Ok(RawDeclared {
            id: f.required_string("id")?,
            target: f.string("target")?,
            base: f.string("base")?,
        })
    }

    /// Reads every entry of the configuration's `models`.
    pub fn read_all(items: Vec<Value>) -> Result<Vec<RawDeclared>, String> {
        items
            .into_iter()
            .enumerate()
            .map(|(i, v)| RawDeclared::read(v, i))
            .collect()
    }

    /// Checks one entry: a well-formed id and target (an ARN must be one
    /// Converse accepts) and a `base` that is a catalog row, given or
    /// resolved from the target (an ARN does not say what it serves).
    pub fn validate(self) -> Result<Declared, String> {
        let id = self.id;
        if !id_chars_ok(&id) {
            return Err(format!(
                "models: id {id:?} must be 1-{MAX_ID} characters of [A-Za-z0-9._:/@+-]"
            ));
        }
        let target = self.target.unwrap_or_else(|| id.clone());
        let is_arn = target.starts_with("arn:");
        if is_arn {
            arn::parse(&target)
                .map_err(|why| format!("models: {id:?}: target {target:?} {why}"))?;
        } else if !target
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-:.".contains(&b))
            || target.is_empty()
        {
            return Err(format!(
                "models: {id:?}: target {target:?} is neither a Bedrock model id nor an ARN"
            ));
        }
        let base = match (&self.base, is_arn) {
            (Some(b), _) => find(b).ok_or_else(|| {
                format!("models: {id:?}: base {b:?} is not a model of the catalog")
            })?,
            (None, true) => {
                return Err(format!(
                    "models: {id:?}: an ARN target needs `base`, the catalog model it serves"
                ))
            }
            (None, false) => find(&target)
                .or_else(|| find_profile(&target))
                .ok_or_else(|| {
                    format!(
                        "models: {id:?}: target {target:?} is not in the catalog; name its `base`"
                    )
                })?,
        };
        Ok(Declared {
            id: id.into(),
            target: target.into(),
            base,
        })
    }
}

/// Validates every entry and refuses duplicate ids.
pub fn validate_all(raw: Vec<RawDeclared>) -> Result<Vec<Declared>, String> {
    let mut out: Vec<Declared> = Vec::with_capacity(raw.len());
    for r in raw {
        let d = r.validate()?;
        if out.iter().any(|o| o.id == d.id) {
            return Err(format!("models: id {:?} is declared twice", d.id));
        }
        out.push(d);
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> Vec<RawDeclared> {
        read(json).unwrap()
    }

    fn read(json: &str) -> Result<Vec<RawDeclared>, String> {
        match serde_json::from_str(json).unwrap() {
            Value::Array(items) => RawDeclared::read_all(items),
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
        assert_eq!(d[1].base.id, "anthropic.claude-3-5-haiku-20241022-v1:0");
        assert_eq!(d[0].target, d[0].id);
        assert_eq!(d[0].base.id, "anthropic.claude-3-5-sonnet-20240620-v1:0");
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
