//! Embedding models (served through `InvokeModel`, one body family each):
//! rows of their own schema in the catalog's data (`embedding_models`), so
//! that a chat row keeps only chat columns and an embedding row only these.

use super::{EMBEDDING_MODELS, GEO_PREFIXES};

/// The body an embedding model takes and the answer it gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbeddingFamily {
    /// Titan Text Embeddings V2: `inputText`, `dimensions`; the token count in the body.
    TitanV2,
    /// Titan Embeddings G1 - Text: `inputText` only; the token count in the body.
    TitanG1,
    /// Cohere Embed v3: `texts`, `input_type`, `truncate`; no dimension field.
    CohereV3,
    /// Cohere Embed v4: v3's fields and `output_dimension`.
    CohereV4,
    /// Nova Multimodal Embeddings: `singleEmbeddingParams` with a purpose and a dimension.
    Nova,
}

impl EmbeddingFamily {
    /// The family's name in the catalog's data (`titan-v2`).
    pub fn name(self) -> &'static str {
        match self {
            EmbeddingFamily::TitanV2 => "titan-v2",
            EmbeddingFamily::TitanG1 => "titan-g1",
            EmbeddingFamily::CohereV3 => "cohere-v3",
            EmbeddingFamily::CohereV4 => "cohere-v4",
            EmbeddingFamily::Nova => "nova",
        }
    }
}

/// One embedding row: what a Bedrock embedding model takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddingInfo {
    /// Bedrock's base model id (`amazon.titan-embed-text-v2:0`).
    pub id: &'static str,
    /// The provider, the models list's `owned_by`.
    pub provider: &'static str,
    /// The provider's name for it.
    pub name: &'static str,
    /// Its body family.
    pub family: EmbeddingFamily,
    /// The base id can be invoked on demand (otherwise only through a profile).
    pub on_demand: bool,
    /// Geo prefixes of its system-defined cross-region inference profiles.
    pub profiles: &'static [&'static str],
    /// How many inputs one `InvokeModel` call takes.
    pub inputs_per_call: u16,
    /// The vector sizes it offers, increasing.
    pub dimensions: &'static [u16],
    /// The size it answers with when none is asked for.
    pub default_dimensions: u16,
    /// The most characters (Unicode scalar values) one input may have, when
    /// Bedrock documents a limit.
    pub max_input_chars: Option<u32>,
    /// The most tokens one input may have (Bedrock counts them).
    pub max_input_tokens: u32,
    /// AWS lists it as legacy.
    pub legacy: bool,
}

impl EmbeddingInfo {
    /// Whether the request may carry an `input_type` that reaches the model
    /// (Cohere's input type, Nova's embedding purpose).
    pub fn takes_input_type(&self) -> bool {
        matches!(
            self.family,
            EmbeddingFamily::CohereV3 | EmbeddingFamily::CohereV4 | EmbeddingFamily::Nova
        )
    }
}

/// Looks an embedding model up by its exact base id.
pub fn find_embedding(id: &str) -> Option<&'static EmbeddingInfo> {
    EMBEDDING_MODELS
        .binary_search_by(|m| m.id.cmp(id))
        .ok()
        .and_then(|i| EMBEDDING_MODELS.get(i))
}

/// Looks up a cross-region inference profile of an embedding model
/// (`<geo>.<base id>`), for the geos its row lists.
pub fn find_embedding_profile(id: &str) -> Option<&'static EmbeddingInfo> {
    let (geo, base) = id.split_once('.')?;
    if !GEO_PREFIXES.contains(&geo) {
        return None;
    }
    find_embedding(base).filter(|m| m.profiles.contains(&geo))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_sorted_and_defaults_offered() {
        assert!(EMBEDDING_MODELS.windows(2).all(|w| w[0].id < w[1].id));
        for m in &EMBEDDING_MODELS {
            assert!(m.dimensions.contains(&m.default_dimensions), "{}", m.id);
            assert!(
                super::super::find(m.id).is_none(),
                "{} is also a chat row",
                m.id
            );
        }
    }

    #[test]
    fn families_and_profiles() {
        let v2 = find_embedding("amazon.titan-embed-text-v2:0").unwrap();
        assert_eq!(
            (v2.family, v2.inputs_per_call),
            (EmbeddingFamily::TitanV2, 1)
        );
        assert_eq!(v2.dimensions, &[256, 512, 1024]);
        let v4 = find_embedding_profile("global.cohere.embed-v4:0").unwrap();
        assert_eq!(
            (v4.family, v4.inputs_per_call),
            (EmbeddingFamily::CohereV4, 96)
        );
        assert!(find_embedding_profile("apac.cohere.embed-v4:0").is_none());
        assert!(find_embedding_profile("us.amazon.titan-embed-text-v2:0").is_none());
        assert!(!v2.takes_input_type() && v4.takes_input_type());
    }
}
