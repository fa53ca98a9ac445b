//! Operator-declared models: ids callers may send, the target Bedrock
//! receives for each, the surface that serves it, and the catalog row whose
//! capabilities apply (a chat model's or an embedding model's).
//!
//! Declared in the plugin configuration's `models` (from
//! `BEDROCK_MODELS_FILE` with `make run`), e.g. an application inference
//! profile ARN for cost allocation, a short alias of a profile id, or a
//! model Bedrock serves both through Converse and through its
//! OpenAI-compatible APIs, moved to the latter (`surface: openai`).

use super::embedding::{find_embedding, find_embedding_profile};
use super::openai::{find_openai, OpenAiInfo};
use super::{find, find_profile, EmbeddingInfo, ModelInfo};
use crate::aws::arn;
use std::rc::Rc;

/// Which Bedrock surface serves a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// Converse (and ConverseStream), translated by the gateway.
    Converse,
    /// Bedrock's OpenAI-compatible APIs, near-passthrough.
    OpenAi,
}

impl Surface {
    /// The names `BEDROCK_MODELS_FILE` uses.
    pub fn from_name(name: &str) -> Option<Surface> {
        match name {
            "converse" => Some(Surface::Converse),
            "openai" => Some(Surface::OpenAi),
            _ => None,
        }
    }
}

/// What serves a declared model, and the catalog row that says how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serves {
    /// Converse, under the capabilities of this Converse catalog row.
    Converse(&'static ModelInfo),
    /// Bedrock's OpenAI-compatible APIs, as this row of the
    /// OpenAI-compatible catalog says.
    OpenAi(&'static OpenAiInfo),
    /// InvokeModel, as this embedding model's row says.
    Embedding(&'static EmbeddingInfo),
}

/// What serves the catalog row of a base id, of either kind.
fn base_row(id: &str) -> Option<Serves> {
    find(id)
        .map(Serves::Converse)
        .or_else(|| find_embedding(id).map(Serves::Embedding))
}

/// What serves the row a base or profile id resolves to on Converse or
/// InvokeModel.
fn target_row(id: &str) -> Option<Serves> {
    base_row(id)
        .or_else(|| find_profile(id).map(Serves::Converse))
        .or_else(|| find_embedding_profile(id).map(Serves::Embedding))
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
    /// `surface`: `converse` or `openai` (`None`: Converse where the
    /// Converse catalog serves the target, else the OpenAI-compatible surface).
    pub surface: Option<String>,
}

/// A validated declared model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// What callers send in `model`.
    pub id: Rc<str>,
    /// What Bedrock receives (the id itself unless `target` was given).
    pub target: Rc<str>,
    /// What serves it.
    pub serves: Serves,
}

impl Declared {
    /// The Converse catalog row whose capabilities apply (`None` for a model
    /// on the OpenAI-compatible surface).
    pub fn base(&self) -> Option<&'static ModelInfo> {
        match self.serves {
            Serves::Converse(base) => Some(base),
            Serves::OpenAi(_) | Serves::Embedding(_) => None,
        }
    }

    /// Its provider, the models list's `owned_by`.
    pub fn provider(&self) -> &'static str {
        match self.serves {
            Serves::Converse(base) => base.provider,
            Serves::OpenAi(info) => info.provider,
            Serves::Embedding(info) => info.provider,
        }
    }
}

/// Why a target the Converse catalog lacks is not served, when the
/// OpenAI-compatible catalog knows it.
fn not_on_converse(id: &str, target: &str) -> String {
    match find_openai(target) {
        Some(info) if info.messages => format!(
            "models: {id:?}: Bedrock serves {target:?} only through the Anthropic Messages API on bedrock-mantle, which this gateway does not speak"
        ),
        Some(_) => format!(
            "models: {id:?}: Bedrock serves {target:?} only through its OpenAI-compatible APIs: declare it with \"surface\": \"openai\" (or leave `surface` out)"
        ),
        None => format!(
            "models: {id:?}: target {target:?} is not in the catalog; name its `base`"
        ),
    }
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
    /// Converse accepts), the surface, and a `base` that is a catalog row,
    /// given or resolved from the target (an ARN does not say what it
    /// serves).
    pub fn validate(self) -> Result<Declared, String> {
        let id = self.id;
        let surface = match self.surface.as_deref() {
            None => None,
            Some(name) => Some(Surface::from_name(name).ok_or_else(|| {
                format!("models: {id:?}: surface {name:?} is not \"converse\" or \"openai\"")
            })?),
        };
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
        let on_converse = target_row(&target);
        let on_openai = find_openai(&target).filter(|info| {
            let reach = info.reach(&target);
            reach.runtime || reach.mantle
        });
        let openai = match surface {
            Some(Surface::OpenAi) => true,
            Some(Surface::Converse) => false,
            None => on_converse.is_none() && !is_arn && self.base.is_none() && on_openai.is_some(),
        };
        if openai {
            if is_arn {
                return Err(format!(
                    "models: {id:?}: an ARN target is served by Converse only: Bedrock refuses application inference profiles on its OpenAI-compatible APIs (AWS user guide, Responses API)"
                ));
            }
            if self.base.is_some() {
                return Err(format!(
                    "models: {id:?}: `base` names a Converse catalog row; a model on the OpenAI-compatible surface takes none"
                ));
            }
            let info = on_openai.ok_or_else(|| match on_converse {
                Some(_) => format!(
                    "models: {id:?}: Bedrock does not serve {target:?} through its OpenAI-compatible APIs (src/catalog/openai.json)"
                ),
                None => not_on_converse(&id, &target),
            })?;
            return Ok(Declared {
                id: id.into(),
                target: target.into(),
                serves: Serves::OpenAi(info),
            });
        }
        let serves = match (&self.base, is_arn) {
            (Some(b), _) => base_row(b).ok_or_else(|| {
                format!("models: {id:?}: base {b:?} is not a model of the catalog")
            })?,
            (None, true) => {
                return Err(format!(
                    "models: {id:?}: an ARN target needs `base`, the catalog model it serves"
                ))
            }
            (None, false) => on_converse.ok_or_else(|| not_on_converse(&id, &target))?,
        };
        if let (Serves::Embedding(_), Some(Surface::Converse)) = (serves, surface) {
            return Err(format!(
                "models: {id:?}: an embedding model is served by InvokeModel; `surface` applies to chat models"
            ));
        }
        Ok(Declared {
            id: id.into(),
            target: target.into(),
            serves,
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
