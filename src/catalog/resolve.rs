//! Which model a caller's `model` names: a declared id, a catalog base id or
//! a cross-region inference profile id, of a chat or an embedding model;
//! anything else is 404 `model_not_found`.

use super::declared::{Base, Declared};
use super::embedding::{find_embedding, find_embedding_profile};
use super::{find, find_profile, EmbeddingInfo, ModelInfo, EMBEDDING_MODELS, MODELS};
use crate::error::ApiError;
use std::borrow::Cow;
use std::rc::Rc;

/// A resolved model: what the caller named, what Bedrock receives, and the
/// capabilities that apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    /// The id the caller sent: echoed in answers, shown in metrics.
    pub id: Rc<str>,
    /// What Bedrock receives, when it is not `id` (a declared model).
    target: Option<Rc<str>>,
    /// The catalog row whose capabilities apply.
    pub info: &'static ModelInfo,
}

impl Model {
    /// How the model is named in a refusal: its id, and the catalog model
    /// it stands for when that differs (a declared alias or ARN).
    pub fn named(&self) -> String {
        if &*self.id == self.info.id {
            format!("`{}`", self.id)
        } else {
            format!("`{}` ({})", self.id, self.info.id)
        }
    }

    /// The model id Bedrock receives in the path.
    pub fn target(&self) -> &str {
        self.target.as_deref().unwrap_or(&self.id)
    }
}

/// A resolved embedding model: what the caller named, what Bedrock
/// receives, and the catalog row that applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddingModel {
    /// The id the caller sent: echoed in answers, shown in metrics.
    pub id: Rc<str>,
    /// What Bedrock receives, when it is not `id` (a declared model).
    target: Option<Rc<str>>,
    /// The catalog row that applies.
    pub info: &'static EmbeddingInfo,
}

impl EmbeddingModel {
    /// A model for `info` named `id`, sent to Bedrock as `target` (when it differs).
    pub fn new(id: Rc<str>, target: Option<Rc<str>>, info: &'static EmbeddingInfo) -> Self {
        EmbeddingModel { id, target, info }
    }

    /// How the model is named in a refusal.
    pub fn named(&self) -> String {
        if &*self.id == self.info.id {
            format!("`{}`", self.id)
        } else {
            format!("`{}` ({})", self.id, self.info.id)
        }
    }

    /// The model id Bedrock receives in the path.
    pub fn target(&self) -> &str {
        self.target.as_deref().unwrap_or(&self.id)
    }
}

/// A resolved model of either kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A chat model (Converse).
    Chat(Model),
    /// An embedding model (InvokeModel).
    Embedding(EmbeddingModel),
}

/// The models callers may name: the catalog, its profiles, and the
/// operator's declared models.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Models {
    /// Declared models, sorted by id.
    declared: Vec<Declared>,
}

impl Models {
    /// The catalog plus `declared` (sorted by id, unique).
    pub fn new(declared: Vec<Declared>) -> Models {
        Models { declared }
    }

    fn declared(&self, id: &str) -> Option<&Declared> {
        self.declared
            .binary_search_by(|d| (*d.id).cmp(id))
            .ok()
            .and_then(|i| self.declared.get(i))
    }

    /// The chat catalog row `id` names (a declaration wins over the catalog).
    pub fn info(&self, id: &str) -> Option<&'static ModelInfo> {
        match self.declared(id) {
            Some(Declared {
                base: Base::Chat(info),
                ..
            }) => Some(info),
            Some(_) => None,
            None => find(id).or_else(|| find_profile(id)),
        }
    }

    /// The provider of the model `id` names, of either kind (`None`: unknown).
    pub fn provider(&self, id: &str) -> Option<&'static str> {
        match self.declared(id) {
            Some(d) => Some(d.base.provider()),
            None => self.info(id).map(|i| i.provider).or_else(|| {
                find_embedding(id)
                    .or_else(|| find_embedding_profile(id))
                    .map(|e| e.provider)
            }),
        }
    }

    /// Resolves the caller's `model` (consumed: its text becomes the id
    /// echoed back), whatever its kind.
    pub fn find(&self, id: String) -> Result<Found, ApiError> {
        if let Some(d) = self.declared(&id) {
            let target = (d.target != d.id).then(|| Rc::clone(&d.target));
            let id = Rc::clone(&d.id);
            return Ok(match d.base {
                Base::Chat(info) => Found::Chat(Model { id, target, info }),
                Base::Embedding(info) => Found::Embedding(EmbeddingModel { id, target, info }),
            });
        }
        if let Some(info) = find(&id).or_else(|| find_profile(&id)) {
            return Ok(Found::Chat(Model {
                id: id.into(),
                target: None,
                info,
            }));
        }
        match find_embedding(&id).or_else(|| find_embedding_profile(&id)) {
            Some(info) => Ok(Found::Embedding(EmbeddingModel {
                id: id.into(),
                target: None,
                info,
            })),
            None => Err(ApiError::model_not_found(&id)),
        }
    }

    /// Every id callers may send, for the models list: the chat base ids
    /// that can be invoked on demand, each known cross-region profile, the
    /// same for the embedding models, then the declared ids; each with its
    /// provider.
    pub fn listed(&self) -> Vec<(Cow<'_, str>, &'static str)> {
        let mut out = Vec::with_capacity(MODELS.len() * 3 + self.declared.len());
        out.extend(
            MODELS
                .iter()
                .filter(|info| info.on_demand)
                .map(|info| (Cow::Borrowed(info.id), info.provider)),
        );
        for info in &MODELS {
            out.extend(
                info.profiles
                    .iter()
                    .map(|geo| (Cow::Owned(format!("{geo}.{}", info.id)), info.provider)),
            );
        }
        out.extend(
            EMBEDDING_MODELS
                .iter()
                .filter(|info| info.on_demand)
                .map(|info| (Cow::Borrowed(info.id), info.provider)),
        );
        for info in &EMBEDDING_MODELS {
            out.extend(
                info.profiles
                    .iter()
                    .map(|geo| (Cow::Owned(format!("{geo}.{}", info.id)), info.provider)),
            );
        }
        out.extend(
            self.declared
                .iter()
                .map(|d| (Cow::Borrowed(&*d.id), d.base.provider())),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::declared::validate_all;
    use super::*;
    use crate::config::models::read_all;

    fn chat(m: &Models, id: &str) -> Result<Model, ApiError> {
        match m.find(id.into())? {
            Found::Chat(model) => Ok(model),
            Found::Embedding(e) => panic!("{} is an embedding model", e.id),
        }
    }

    fn models() -> Models {
        let raw = read_all(serde_json::from_str(
            r#"[{"id": "claude-fast", "target": "us.anthropic.claude-3-5-haiku-20241022-v1:0"},
                {"id": "arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/a1b2c3d4e5f6",
                 "base": "anthropic.claude-3-5-sonnet-20240620-v1:0"}]"#,
        )
        .unwrap())
        .unwrap();
        Models::new(validate_all(raw).unwrap())
    }

    #[test]
    fn resolves_each_kind_of_id() {
        let m = models();
        let base = chat(&m, "meta.llama3-8b-instruct-v1:0").unwrap();
        assert_eq!(
            (base.target(), base.info.id),
            (
                "meta.llama3-8b-instruct-v1:0",
                "meta.llama3-8b-instruct-v1:0"
            )
        );
        let profile = chat(&m, "eu.anthropic.claude-sonnet-4-5-20250929-v1:0").unwrap();
        assert_eq!(
            profile.target(),
            "eu.anthropic.claude-sonnet-4-5-20250929-v1:0"
        );
        assert_eq!(profile.info.id, "anthropic.claude-sonnet-4-5-20250929-v1:0");
        let alias = chat(&m, "claude-fast").unwrap();
        assert_eq!(&*alias.id, "claude-fast");
        assert_eq!(
            alias.target(),
            "us.anthropic.claude-3-5-haiku-20241022-v1:0"
        );
        let arn =
            "arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/a1b2c3d4e5f6";
        let declared = chat(&m, arn).unwrap();
        assert_eq!(
            (declared.target(), declared.info.id),
            (arn, "anthropic.claude-3-5-sonnet-20240620-v1:0")
        );
        match m.find("global.cohere.embed-v4:0".into()).unwrap() {
            Found::Embedding(e) => {
                assert_eq!(
                    (e.target(), e.info.id),
                    ("global.cohere.embed-v4:0", "cohere.embed-v4:0")
                )
            }
            other => panic!("{other:?}"),
        }
        for unknown in [
            "gpt-4o",
            "us.gpt-4o",
            "claude-fast ",
            "mars.meta.llama3-8b-instruct-v1:0",
        ] {
            let e = chat(&m, unknown).unwrap_err();
            assert_eq!((e.status, &*e.code), (404, "model_not_found"), "{unknown}");
        }
    }
}
