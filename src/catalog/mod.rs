//! The model catalog: every Bedrock chat model the filter serves through
//! Converse, and what each one takes; every embedding model it serves
//! through InvokeModel ([`embedding`]); and, in [`openai`], the models
//! Bedrock serves through its own OpenAI-compatible APIs.
//!
//! The facts live in data, `src/catalog/models.json`: one row per model,
//! each naming its sources (AWS's documentation, botocore, peers' published
//! model maps). `build.rs` checks the file and compiles it into [`MODELS`],
//! sorted by id, so a lookup is a binary search and nothing is parsed at
//! start-up. A new model is a new row.

pub mod declared;
pub mod embedding;
pub mod openai;
pub mod resolve;

pub use embedding::{EmbeddingFamily, EmbeddingInfo};

/// What a model accepts as Converse `toolConfig.toolChoice`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolChoiceKinds {
    /// `{"auto": {}}`; without it, no `toolChoice` is sent (auto is implied).
    pub auto: bool,
    /// `{"any": {}}` (OpenAI `required`).
    pub any: bool,
    /// `{"tool": {"name": ...}}` (OpenAI's named function).
    pub tool: bool,
}

/// Where a model accepts Converse `cachePoint` blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachePositions {
    /// In `system`.
    pub system: bool,
    /// In message content.
    pub messages: bool,
    /// In `toolConfig.tools`.
    pub tools: bool,
}

impl CachePositions {
    /// Whether the model takes cache points at all.
    pub fn any(&self) -> bool {
        self.system || self.messages || self.tools
    }
}

/// The Converse `serviceTier` types a model is served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceTiers {
    /// `priority`.
    pub priority: bool,
    /// `default` (every model).
    pub default: bool,
    /// `flex`.
    pub flex: bool,
}

/// How a model is asked to reason, if it can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reasoning {
    /// Claude 3.7 – 4.5: `thinking: {type: "enabled", budget_tokens}`.
    AnthropicBudget,
    /// Claude 4.6 and later: `thinking: {type: "adaptive"}` with an effort.
    AnthropicAdaptive,
    /// Amazon Nova 2: `reasoningConfig: {type: "enabled", maxReasoningEffort}`.
    Nova,
    /// OpenAI gpt-oss: `reasoning_effort`.
    OpenAiEffort,
    /// DeepSeek R1: always reasons and refuses every reasoning field.
    DeepSeekAlways,
    /// DeepSeek V3.x: hybrid thinking, with no request field Bedrock documents.
    DeepSeekHybrid,
}

/// Which sampling parameters a model takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SamplingRule {
    /// `temperature` and `top_p`, together or not.
    Any,
    /// One of them only: Bedrock refuses both in one request.
    TemperatureOrTopP,
    /// Neither.
    None,
}

/// One catalog row: what a Bedrock model takes through Converse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelInfo {
    /// Bedrock's base model id (`anthropic.claude-3-haiku-20240307-v1:0`).
    pub id: &'static str,
    /// The provider (`anthropic`), the models list's `owned_by`.
    pub provider: &'static str,
    /// The provider's name for it.
    pub name: &'static str,
    /// The base id can be invoked on demand (otherwise only through a profile).
    pub on_demand: bool,
    /// Geo prefixes of its system-defined cross-region inference profiles.
    pub profiles: &'static [&'static str],
    /// Takes Converse `system` blocks.
    pub system_prompt: bool,
    /// Takes `toolConfig` in Converse.
    pub tools: bool,
    /// Takes `toolConfig` in ConverseStream.
    pub tools_streaming: bool,
    /// Which `toolChoice` kinds it accepts.
    pub tool_choice: ToolChoiceKinds,
    /// Takes image blocks.
    pub images: bool,
    /// Takes document blocks.
    pub documents: bool,
    /// Answers with citations for documents that ask for them.
    pub citations: bool,
    /// How it is asked to reason (`None`: it cannot be).
    pub reasoning: Option<Reasoning>,
    /// Takes native structured output (`outputConfig.textFormat`).
    pub structured_output: bool,
    /// Takes `toolSpec.strict`.
    pub strict_tools: bool,
    /// Where it takes cache points.
    pub prompt_caching: CachePositions,
    /// Takes a cache point `ttl` of `1h`.
    pub cache_ttl_1h: bool,
    /// The most stop sequences it takes (0: none).
    pub max_stop_sequences: u8,
    /// Which sampling parameters it takes.
    pub sampling: SamplingRule,
    /// Takes a conversation that ends with an assistant turn.
    pub prefill: bool,
    /// Takes `performanceConfig.latency: optimized`.
    pub latency_optimized: bool,
    /// The service tiers it is served in.
    pub service_tiers: ServiceTiers,
    /// AWS lists it as legacy (end of life scheduled or past).
    pub legacy: bool,
}

include!(concat!(env!("OUT_DIR"), "/catalog.rs"));

/// Looks a model up by its exact base id.
pub fn find(id: &str) -> Option<&'static ModelInfo> {
    MODELS
        .binary_search_by(|m| m.id.cmp(id))
        .ok()
        .and_then(|i| MODELS.get(i))
}

/// Looks up a cross-region inference profile id (`<geo>.<base id>`): the
/// base model's row, whichever geo the prefix names.
pub fn find_profile(id: &str) -> Option<&'static ModelInfo> {
    let (geo, base) = id.split_once('.')?;
    if !GEO_PREFIXES.contains(&geo) {
        return None;
    }
    find(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exact_ids_only() {
        assert!(find("meta.llama3-8b-instruct-v1:0").is_some());
        assert!(find("meta.llama3-8b-instruct-v1").is_none());
        assert!(find("META.llama3-8b-instruct-v1:0").is_none());
    }

    #[test]
    fn ids_are_sorted_and_unique() {
        assert!(MODELS.windows(2).all(|w| w[0].id < w[1].id));
    }

    #[test]
    fn profiles_resolve_to_their_base_row() {
        let base = "anthropic.claude-sonnet-4-5-20250929-v1:0";
        for geo in GEO_PREFIXES {
            assert_eq!(
                find_profile(&format!("{geo}.{base}")).map(|m| m.id),
                Some(base)
            );
        }
        assert!(find_profile(base).is_none());
        assert!(find_profile(&format!("mars.{base}")).is_none());
        assert!(find_profile("us.not-a-model").is_none());
    }

    #[test]
    fn the_nine_original_models_keep_their_capabilities() {
        let table = [
            ("amazon.titan-text-express-v1", false, false, false, false),
            (
                "anthropic.claude-3-sonnet-20240229-v1:0",
                true,
                true,
                true,
                true,
            ),
            (
                "anthropic.claude-3-haiku-20240307-v1:0",
                true,
                true,
                true,
                true,
            ),
            (
                "anthropic.claude-3-5-sonnet-20240620-v1:0",
                true,
                true,
                true,
                true,
            ),
            ("meta.llama3-8b-instruct-v1:0", true, false, false, false),
            ("meta.llama3-70b-instruct-v1:0", true, false, false, false),
            (
                "mistral.mistral-7b-instruct-v0:2",
                false,
                false,
                false,
                false,
            ),
            (
                "mistral.mixtral-8x7b-instruct-v0:1",
                false,
                false,
                false,
                false,
            ),
            ("mistral.mistral-large-2402-v1:0", true, true, false, false),
        ];
        for (id, system, tools, streaming, images) in table {
            let m = find(id).unwrap();
            assert_eq!(
                (m.system_prompt, m.tools, m.tools_streaming, m.images),
                (system, tools, streaming, images),
                "{id}"
            );
            assert!(
                m.on_demand && m.prefill && m.max_stop_sequences == 4,
                "{id}"
            );
            assert_eq!(m.sampling, SamplingRule::Any, "{id}");
        }
    }
}
