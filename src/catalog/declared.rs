//! Operator-declared models: ids callers may send, the target Bedrock
//! receives for each, and the catalog row whose capabilities apply.
//!
//! Declared in the plugin configuration's `models` (from
//! `BEDROCK_MODELS_FILE` with `make run`), e.g. an application inference
//! profile ARN for cost allocation, or a short alias of a profile id.

use super::embedding::{find_embedding, find_embedding_profile};
use super::{find, find_profile, EmbeddingInfo, ModelInfo};
use crate::aws::arn;
use std::rc::Rc;

/// The catalog row a declared model stands for: a chat model or an
/// embedding model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// A chat model (Converse).
    Chat(&'static ModelInfo),
    /// An embedding model (InvokeModel).
    Embedding(&'static EmbeddingInfo),
}

impl Base {
    /// The row's base id.
    pub fn id(&self) -> &'static str {
        match self {
            Base::Chat(m) => m.id,
            Base::Embedding(m) => m.id,
        }
    }

    /// The row's provider (the models list's `owned_by`).
    pub fn provider(&self) -> &'static str {
        match self {
            Base::Chat(m) => m.provider,
            Base::Embedding(m) => m.provider,
        }
    }
}

/// The row of a catalog base id, of either kind.
fn base_row(id: &str) -> Option<Base> {
    find(id)
        .map(Base::Chat)
        .or_else(|| find_embedding(id).map(Base::Embedding))
}

/// The row a base or profile id resolves to, of either kind.
fn target_row(id: &str) -> Option<Base> {
    base_row(id)
        .or_else(|| find_profile(id).map(Base::Chat))
        .or_else(|| find_embedding_profile(id).map(Base::Embedding))
}

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
    /// The catalog row whose capabilities apply (a chat or an embedding model).
    pub base: Base,
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
            (Some(b), _) => base_row(b).ok_or_else(|| {
                format!("models: {id:?}: base {b:?} is not a model of the catalog")
            })?,
            (None, true) => {
                return Err(format!(
                    "models: {id:?}: an ARN target needs `base`, the catalog model it serves"
                ))
            }
            (None, false) => target_row(&target).ok_or_else(|| {
                format!("models: {id:?}: target {target:?} is not in the catalog; name its `base`")
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
