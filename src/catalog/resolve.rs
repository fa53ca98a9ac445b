//! Which model a caller's `model` names: a declared id, a catalog base id or
//! a cross-region inference profile id; anything else is 404 `model_not_found`.

use super::declared::Declared;
use super::{find, find_profile, ModelInfo, MODELS};
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

    /// The catalog row `id` names (a declaration wins over the catalog).
    pub fn info(&self, id: &str) -> Option<&'static ModelInfo> {
        match self.declared(id) {
            Some(d) => Some(d.base),
            None => find(id).or_else(|| find_profile(id)),
        }
    }

    /// Resolves the caller's `model` (consumed: its text becomes the id
    /// echoed back).
    pub fn resolve(&self, id: String) -> Result<Model, ApiError> {
        if let Some(d) = self.declared(&id) {
            return Ok(Model {
                target: (d.target != d.id).then(|| Rc::clone(&d.target)),
                id: Rc::clone(&d.id),
                info: d.base,
            });
        }
        match find(&id).or_else(|| find_profile(&id)) {
            Some(info) => Ok(Model {
                id: id.into(),
                target: None,
                info,
            }),
            None => Err(ApiError::model_not_found(&id)),
        }
    }

    /// Every id callers may send, for the models list: the base ids that
    /// can be invoked on demand, each known cross-region profile, then the
    /// declared ids; each with the catalog row it resolves to.
    pub fn listed(&self) -> Vec<(Cow<'_, str>, &'static ModelInfo)> {
        let mut out = Vec::with_capacity(MODELS.len() * 3 + self.declared.len());
        out.extend(
            MODELS
                .iter()
                .filter(|info| info.on_demand)
                .map(|info| (Cow::Borrowed(info.id), info)),
        );
        for info in &MODELS {
            out.extend(
                info.profiles
                    .iter()
                    .map(|geo| (Cow::Owned(format!("{geo}.{}", info.id)), info)),
            );
        }
        out.extend(
            self.declared
                .iter()
                .map(|d| (Cow::Borrowed(&*d.id), d.base)),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::declared::validate_all;
    use super::*;
    use crate::config::models::read_all;

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
        let base = m.resolve("meta.llama3-8b-instruct-v1:0".into()).unwrap();
        assert_eq!(
            (base.target(), base.info.id),
            (
                "meta.llama3-8b-instruct-v1:0",
                "meta.llama3-8b-instruct-v1:0"
            )
        );
        let profile = m
            .resolve("eu.anthropic.claude-sonnet-4-5-20250929-v1:0".into())
            .unwrap();
        assert_eq!(
            profile.target(),
            "eu.anthropic.claude-sonnet-4-5-20250929-v1:0"
        );
        assert_eq!(profile.info.id, "anthropic.claude-sonnet-4-5-20250929-v1:0");
        let alias = m.resolve("claude-fast".into()).unwrap();
        assert_eq!(&*alias.id, "claude-fast");
        assert_eq!(
            alias.target(),
            "us.anthropic.claude-3-5-haiku-20241022-v1:0"
        );
        let arn =
            "arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/a1b2c3d4e5f6";
        let declared = m.resolve(arn.into()).unwrap();
        assert_eq!(
            (declared.target(), declared.info.id),
            (arn, "anthropic.claude-3-5-sonnet-20240620-v1:0")
        );
        for unknown in [
            "gpt-4o",
            "us.gpt-4o",
            "claude-fast ",
            "mars.meta.llama3-8b-instruct-v1:0",
        ] {
            let e = m.resolve(unknown.into()).unwrap_err();
            assert_eq!((e.status, &*e.code), (404, "model_not_found"), "{unknown}");
        }
    }
}
