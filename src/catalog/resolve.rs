//! Which model a caller's `model` names, and which surface serves it: a
//! declared id, a Converse catalog base id or cross-region inference profile
//! id (Converse), an id Bedrock serves through its OpenAI-compatible APIs,
//! or an embedding model's id (InvokeModel); a model Bedrock serves only
//! through an API the gateway does not speak is a 400 saying which,
//! anything else 404 `model_not_found`.

use super::declared::{Declared, Serves};
use super::embedding::{find_embedding, find_embedding_profile};
use super::openai::{find_openai, listed_ids, OpenAiInfo, OPENAI_MODELS};
use super::{find, find_profile, EmbeddingInfo, ModelInfo, EMBEDDING_MODELS, MODELS};
use crate::error::ApiError;
use std::borrow::Cow;
use std::rc::Rc;

/// A model Bedrock serves through its OpenAI-compatible APIs: what the caller
/// named, what Bedrock receives, and the row that says where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenAiModel {
    /// The id the caller sent: echoed in answers, shown in metrics.
    pub id: Rc<str>,
    /// The id Bedrock receives (`id` unless declared with a `target`).
    pub target: Rc<str>,
    /// Its row of the OpenAI-compatible catalog.
    pub info: &'static OpenAiInfo,
}

/// Who serves the chat model a request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Served {
    /// Converse, translated by the gateway.
    Converse(Model),
    /// Bedrock's OpenAI-compatible APIs, near-passthrough.
    OpenAi(OpenAiModel),
}

impl Served {
    /// The id the caller sent.
    pub fn id(&self) -> &str {
        match self {
            Served::Converse(m) => &m.id,
            Served::OpenAi(m) => &m.id,
        }
    }

    /// The Converse model, for an API that speaks only Converse; a model on
    /// another surface is a 400 saying so.
    pub fn into_converse(self) -> Result<Model, ApiError> {
        match self {
            Served::Converse(model) => Ok(model),
            Served::OpenAi(m) => Err(ApiError::wrong_endpoint(format!(
                "`{}` is served by Bedrock's OpenAI-compatible APIs (Chat Completions, Responses), not by Converse.",
                crate::error::clip(&m.id, crate::error::MAX_ECHO_CHARS)
            ))),
        }
    }
}

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
    /// A chat model, and the surface that serves it.
    Chat(Served),
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

    /// The Converse catalog row `id` names (a declaration wins over the catalog).
    pub fn info(&self, id: &str) -> Option<&'static ModelInfo> {
        match self.declared(id) {
            Some(d) => d.base(),
            None => find(id).or_else(|| find_profile(id)),
        }
    }

    /// The provider of the model `id` names, on any surface this gateway
    /// serves, of either kind (`None`: not a model callers may send).
    pub fn provider(&self, id: &str) -> Option<&'static str> {
        match self.declared(id) {
            Some(d) => Some(d.provider()),
            None => find(id)
                .or_else(|| find_profile(id))
                .map(|info| info.provider)
                .or_else(|| {
                    find_openai(id)
                        .filter(|info| !info.messages)
                        .map(|info| info.provider)
                })
                .or_else(|| {
                    find_embedding(id)
                        .or_else(|| find_embedding_profile(id))
                        .map(|e| e.provider)
                }),
        }
    }

    /// Resolves the caller's `model` (consumed: its text becomes the id
    /// echoed back), whatever its kind, and picks the surface that serves
    /// a chat model: a declaration's, else Converse for the Converse
    /// catalog's ids (models Bedrock serves both ways keep Converse), else
    /// the OpenAI-compatible catalog's.
    pub fn find(&self, id: String) -> Result<Found, ApiError> {
        if let Some(d) = self.declared(&id) {
            let target = (d.target != d.id).then(|| Rc::clone(&d.target));
            let id = Rc::clone(&d.id);
            return Ok(match d.serves {
                Serves::Converse(info) => Found::Chat(Served::Converse(Model { id, target, info })),
                Serves::OpenAi(info) => Found::Chat(Served::OpenAi(OpenAiModel {
                    target: Rc::clone(&d.target),
                    id,
                    info,
                })),
                Serves::Embedding(info) => Found::Embedding(EmbeddingModel { id, target, info }),
            });
        }
        if let Some(info) = find(&id).or_else(|| find_profile(&id)) {
            return Ok(Found::Chat(Served::Converse(Model {
                id: id.into(),
                target: None,
                info,
            })));
        }
        if let Some(info) = find_embedding(&id).or_else(|| find_embedding_profile(&id)) {
            return Ok(Found::Embedding(EmbeddingModel {
                id: id.into(),
                target: None,
                info,
            }));
        }
        match find_openai(&id) {
            Some(info) if info.messages => Err(ApiError::wrong_endpoint(format!(
                "Bedrock serves `{}` only through the Anthropic Messages API on bedrock-mantle (POST https://bedrock-mantle.<region>.api.aws/anthropic/v1/messages, model `{}`), which this gateway does not speak; it is not a Converse or OpenAI-compatible model.",
                crate::error::clip(&id, crate::error::MAX_ECHO_CHARS),
                info.id
            ))),
            Some(info) => {
                let id: Rc<str> = id.into();
                Ok(Found::Chat(Served::OpenAi(OpenAiModel {
                    target: Rc::clone(&id),
                    id,
                    info,
                })))
            }
            None => Err(ApiError::model_not_found(&id)),
        }
    }

    /// Every id callers may send, for the models list: the chat base ids
    /// that can be invoked on demand, each known cross-region profile, the
    /// ids of the OpenAI-compatible surface that are not Converse's, the
    /// embedding models' ids and profiles, then the declared ids; each with
    /// its provider.
    pub fn listed(&self) -> Vec<(Cow<'_, str>, &'static str)> {
        let mut out = Vec::with_capacity(MODELS.len() * 3 + 80 + self.declared.len());
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
        for info in OPENAI_MODELS.iter().filter(|m| !m.messages) {
            out.extend(
                listed_ids(info)
                    .into_iter()
                    .filter(|id| find(id).or_else(|| find_profile(id)).is_none())
                    .map(|id| (Cow::Owned(id), info.provider)),
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
                .map(|d| (Cow::Borrowed(&*d.id), d.provider())),
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
            Found::Chat(served) => served.into_converse(),
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
