//! Operator-declared models: ids callers may send, the target Bedrock
//! receives for each, and the catalog row whose capabilities apply.
//!
//! Declared in the plugin configuration's `models` (from
//! `BEDROCK_MODELS_FILE` with `make run`), e.g. an application inference
//! profile ARN for cost allocation, or a short alias of a profile id.

use super::{find, find_profile, ModelInfo};
use crate::aws::arn;
use std::rc::Rc;

/// One entry of the configuration's `models`, as written (read by
/// `config::models`).
#[derive(Debug)]
pub struct RawDeclared {
    /// What callers send in `model`.
    pub id: String,
    /// What Bedrock receives, when it is not `id`.
    pub target: Option<String>,
    /// The catalog row whose capabilities apply, when the target does not say.
    pub base: Option<String>,
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
