//! The OpenAI-compatible catalog: the models Bedrock serves through its own
//! OpenAI-compatible APIs (Chat Completions and Responses, on
//! bedrock-runtime's `/openai/v1` and on bedrock-mantle), and those it
//! serves only through an API this gateway does not speak (the Anthropic
//! Messages API on bedrock-mantle).
//!
//! The facts live in `src/catalog/openai.json`, one sourced row per model;
//! `build.rs` checks it against `models.json` and compiles it into
//! [`OPENAI_MODELS`]. Each endpoint takes its own ids: runtime a
//! cross-Region profile (`us.openai.gpt-5.6-sol`) or an in-Region id
//! (`openai.gpt-oss-120b-1:0`), mantle a bare id (`openai.gpt-oss-120b`)
//! under its model's path prefix (`/v1` or `/openai/v1`). So the id a
//! caller sends says which endpoints can serve it ([`Reach`]), and the API
//! it calls picks between them.

use super::ServiceTiers;

/// Which OpenAI-compatible APIs an endpoint offers for a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Apis {
    /// `POST …/chat/completions`.
    pub chat: bool,
    /// `POST …/responses`.
    pub responses: bool,
}

/// A model on bedrock-runtime's `/openai/v1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeSurface {
    /// The in-Region id, and the base of its profile ids.
    pub id: &'static str,
    /// The in-Region id itself is invoked (otherwise only its profiles).
    pub on_demand: bool,
    /// Geo prefixes of its cross-Region profiles.
    pub profiles: &'static [&'static str],
    /// What runtime offers for it.
    pub apis: Apis,
}

/// A model on bedrock-mantle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MantleSurface {
    /// Mantle's id (bare; mantle has no profiles).
    pub id: &'static str,
    /// The path prefix mantle serves it under: `/v1` or `/openai/v1`.
    pub prefix: &'static str,
    /// What mantle offers for it.
    pub apis: Apis,
}

/// One row of the OpenAI-compatible catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenAiInfo {
    /// The model's bare id (mantle's, where it is on mantle).
    pub id: &'static str,
    /// The provider (`openai`), the models list's `owned_by`.
    pub provider: &'static str,
    /// The provider's name for it.
    pub name: &'static str,
    /// The Converse catalog row of a model Bedrock serves both ways (the
    /// default surface for the ids they share).
    pub converse: Option<&'static str>,
    /// On bedrock-runtime's `/openai/v1`.
    pub runtime: Option<RuntimeSurface>,
    /// On bedrock-mantle.
    pub mantle: Option<MantleSurface>,
    /// Served only through the Anthropic Messages API on bedrock-mantle.
    pub messages: bool,
    /// Chat Completions takes `max_completion_tokens`.
    pub chat_max_completion_tokens: bool,
    /// Chat Completions takes `max_tokens`.
    pub chat_max_tokens: bool,
    /// The field a project's default output cap is written into.
    pub chat_default_field: &'static str,
    /// The service tiers it is served in.
    pub service_tiers: ServiceTiers,
}

include!(concat!(env!("OUT_DIR"), "/openai_catalog.rs"));

/// Which endpoints take one id a caller sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reach {
    /// bedrock-runtime's `/openai/v1` takes it.
    pub runtime: bool,
    /// bedrock-mantle takes it.
    pub mantle: bool,
}

impl OpenAiInfo {
    /// Which endpoints take `id` for this model. bedrock-runtime takes any
    /// geo prefix on its id, as the Converse catalog does: the row's
    /// `profiles` are those the sources show, and Bedrock answers for one
    /// that does not exist.
    pub fn reach(&self, id: &str) -> Reach {
        let runtime = self.runtime.is_some_and(|r| {
            (r.on_demand && r.id == id)
                || id
                    .split_once('.')
                    .is_some_and(|(geo, base)| base == r.id && super::GEO_PREFIXES.contains(&geo))
        });
        Reach {
            runtime,
            mantle: self.mantle.is_some_and(|m| m.id == id),
        }
    }

    /// Whether a caller naming `id` means this model: an id an endpoint
    /// takes, or (for a model served elsewhere) its id with or without a
    /// geo prefix.
    pub fn names(&self, id: &str) -> bool {
        let reach = self.reach(id);
        reach.runtime
            || reach.mantle
            || (self.messages
                && (id == self.id
                    || id.split_once('.').is_some_and(|(geo, base)| {
                        base == self.id && super::GEO_PREFIXES.contains(&geo)
                    })))
    }
}

/// The row a caller's `id` names, if any.
pub fn find_openai(id: &str) -> Option<&'static OpenAiInfo> {
    OPENAI_MODELS.iter().find(|m| m.names(id))
}

/// Every id callers may send for a model served here, for the models list.
pub fn listed_ids(info: &OpenAiInfo) -> Vec<String> {
    let mut ids = Vec::with_capacity(4);
    if let Some(m) = info.mantle {
        ids.push(m.id.to_string());
    }
    if let Some(r) = info.runtime {
        if r.on_demand && !ids.iter().any(|i| i == r.id) {
            ids.push(r.id.to_string());
        }
        ids.extend(r.profiles.iter().map(|g| format!("{g}.{}", r.id)));
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_endpoint_takes_its_own_ids() {
        let oss = find_openai("openai.gpt-oss-120b").unwrap();
        assert_eq!(
            oss.reach("openai.gpt-oss-120b"),
            Reach {
                runtime: false,
                mantle: true
            }
        );
        assert_eq!(
            oss.reach("openai.gpt-oss-120b-1:0"),
            Reach {
                runtime: true,
                mantle: false
            }
        );
        let sol = find_openai("us.openai.gpt-5.6-sol").unwrap();
        assert_eq!(sol.id, "openai.gpt-5.6-sol");
        assert!(sol.reach("global.openai.gpt-5.6-sol").runtime);
        // A profile the sources do not show is Bedrock's to answer, as on Converse.
        assert!(sol.reach("eu.openai.gpt-5.6-sol").runtime);
        assert!(!sol.reach("mars.openai.gpt-5.6-sol").runtime);
        // The bare id is mantle's (runtime takes only profiles for it).
        assert_eq!(
            sol.reach("openai.gpt-5.6-sol"),
            Reach {
                runtime: false,
                mantle: true
            }
        );
        assert!(find_openai("mars.openai.gpt-5.6-sol").is_none());
        assert!(find_openai("us.openai.gpt-5.5").is_none(), "mantle only");
        assert!(find_openai("openai.gpt-5.6").is_none());
    }

    #[test]
    fn models_served_elsewhere_are_named_with_or_without_a_profile() {
        let mythos = find_openai("anthropic.claude-mythos-5").unwrap();
        assert!(mythos.messages && mythos.runtime.is_none() && mythos.mantle.is_none());
        assert_eq!(find_openai("us.anthropic.claude-mythos-5"), Some(mythos));
        assert!(crate::catalog::find("anthropic.claude-mythos-5").is_none());
    }

    #[test]
    fn rows_are_sorted_and_listed() {
        assert!(OPENAI_MODELS.windows(2).all(|w| w[0].id < w[1].id));
        let oss = find_openai("openai.gpt-oss-20b").unwrap();
        assert_eq!(
            listed_ids(oss),
            [
                "openai.gpt-oss-20b",
                "openai.gpt-oss-20b-1:0",
                "us-gov.openai.gpt-oss-20b-1:0"
            ]
        );
        assert!(RUNTIME_RESPONSES_TOOLS.contains(&"function"));
        assert!(!RUNTIME_RESPONSES_TOOLS.contains(&"web_search"));
        assert!(MANTLE_RESPONSES_TOOLS.contains(&"web_search"));
    }
}
