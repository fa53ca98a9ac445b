//! Reading an embedding family's `InvokeModel` answer: its vectors, in the
//! order of the texts sent, and the token count its body carries (Titan's
//! `inputTextTokenCount`; Cohere and Nova report theirs in the
//! `x-amzn-bedrock-input-token-count` header, which the caller reads).
//!
//! Cohere answers `embeddings` as a list of vectors, or (Embed v4 live, and
//! whenever embedding types are asked for) as an object keyed by type: both
//! are read.

use crate::catalog::EmbeddingFamily;
use crate::error::json_fault;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;

/// What one answer held.
#[derive(Debug, Clone, PartialEq)]
pub struct Vectors {
    /// One vector per text sent, in order.
    pub vectors: Vec<Vec<f32>>,
    /// The token count in the body, when the family puts it there.
    pub input_tokens: Option<u64>,
}

/// Titan's answer. Titan V2 sends its vector twice, as `embedding` and as
/// `embeddingsByType.float`; the second is skipped unread once the first is
/// in hand (a 1,024-value vector parsed once, not twice).
struct Titan {
    embedding: Option<Vec<f32>>,
    by_type: Option<ByType>,
    tokens: Option<u64>,
}

impl<'de> Deserialize<'de> for Titan {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Titan;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a Titan embeddings answer")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Titan, A::Error> {
                let mut t = Titan {
                    embedding: None,
                    by_type: None,
                    tokens: None,
                };
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match &*key {
                        "embedding" => t.embedding = map.next_value()?,
                        "embeddingsByType" if t.embedding.is_none() => {
                            t.by_type = map.next_value()?;
                        }
                        "inputTextTokenCount" => t.tokens = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(t)
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Deserialize)]
struct ByType {
    float: Option<Vec<f32>>,
}

#[derive(Deserialize)]
struct Cohere {
    embeddings: CohereVectors,
}

/// Cohere's `embeddings`: a list of vectors, or `{"float": [...], ...}`.
struct CohereVectors(Option<Vec<Vec<f32>>>);

impl<'de> Deserialize<'de> for CohereVectors {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CohereVectors;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of vectors or an object of them by type")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<CohereVectors, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(1));
                while let Some(v) = seq.next_element::<Vec<f32>>()? {
                    out.push(v);
                }
                Ok(CohereVectors(Some(out)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CohereVectors, A::Error> {
                let mut float = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "float" {
                        float = Some(map.next_value::<Vec<Vec<f32>>>()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(CohereVectors(float))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
struct Nova {
    embeddings: Vec<NovaEmbedding>,
    /// Not in AWS's schema; read when present (vercel/ai reads it).
    #[serde(rename = "inputTokenCount")]
    tokens: Option<u64>,
}

#[derive(Deserialize)]
struct NovaEmbedding {
    #[serde(rename = "embeddingType")]
    kind: Option<String>,
    embedding: Vec<f32>,
}

fn missing(what: &str) -> String {
    format!("the answer has no {what}")
}

/// Reads `body`, the answer of `family` to a call that sent `texts` texts.
pub fn read(family: EmbeddingFamily, body: &[u8], texts: usize) -> Result<Vectors, String> {
    let parsed = match family {
        EmbeddingFamily::TitanV2 | EmbeddingFamily::TitanG1 => {
            let a: Titan = serde_json::from_slice(body).map_err(|e| json_fault(&e))?;
            let v = a
                .embedding
                .or_else(|| a.by_type.and_then(|b| b.float))
                .ok_or_else(|| missing("`embedding`"))?;
            Vectors {
                vectors: vec![v],
                input_tokens: a.tokens,
            }
        }
        EmbeddingFamily::CohereV3 | EmbeddingFamily::CohereV4 => {
            let a: Cohere = serde_json::from_slice(body).map_err(|e| json_fault(&e))?;
            Vectors {
                vectors: a
                    .embeddings
                    .0
                    .ok_or_else(|| missing("`embeddings.float`"))?,
                input_tokens: None,
            }
        }
        EmbeddingFamily::Nova => {
            let a: Nova = serde_json::from_slice(body).map_err(|e| json_fault(&e))?;
            let text = a
                .embeddings
                .into_iter()
                .find(|e| e.kind.as_deref().is_none_or(|k| k == "TEXT"))
                .ok_or_else(|| missing("TEXT embedding"))?;
            Vectors {
                vectors: vec![text.embedding],
                input_tokens: a.tokens,
            }
        }
    };
    if parsed.vectors.len() != texts {
        return Err(format!(
            "the answer has {} vectors for {texts} texts",
            parsed.vectors.len()
        ));
    }
    if parsed.vectors.iter().flatten().any(|x| !x.is_finite()) {
        return Err("the answer has a value out of float32's range".into());
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titan_body_and_by_type() {
        let a = read(
            EmbeddingFamily::TitanV2,
            br#"{"embedding":[0.5,-0.25],"embeddingsByType":{"float":[0.5,-0.25]},"inputTextTokenCount":3}"#,
            1,
        )
        .unwrap();
        assert_eq!(
            (a.vectors, a.input_tokens),
            (vec![vec![0.5, -0.25]], Some(3))
        );
        let a = read(
            EmbeddingFamily::TitanV2,
            br#"{"embeddingsByType":{"float":[1.0]},"inputTextTokenCount":1}"#,
            1,
        )
        .unwrap();
        assert_eq!(a.vectors, vec![vec![1.0]]);
        assert!(read(
            EmbeddingFamily::TitanV2,
            br#"{"embeddingsByType":{"binary":[1,0]},"inputTextTokenCount":1}"#,
            1
        )
        .is_err());
    }

    #[test]
    fn cohere_list_and_by_type() {
        let list = br#"{"embeddings":[[1.0,2.0],[3.0,4.0]],"id":"x","response_type":"embeddings_floats","texts":["a","b"]}"#;
        let by_type = br#"{"id":"x","embeddings":{"int8":[[1,2],[3,4]],"float":[[1.0,2.0],[3.0,4.0]]},"response_type":"embeddings_by_type","texts":["a","b"]}"#;
        for body in [&list[..], &by_type[..]] {
            let a = read(EmbeddingFamily::CohereV4, body, 2).unwrap();
            assert_eq!(a.vectors, vec![vec![1.0, 2.0], vec![3.0, 4.0]]);
            assert_eq!(a.input_tokens, None);
        }
        assert!(read(EmbeddingFamily::CohereV3, list, 3).is_err());
        assert!(read(
            EmbeddingFamily::CohereV3,
            br#"{"embeddings":{"int8":[[1]]}}"#,
            1
        )
        .is_err());
    }

    #[test]
    fn nova_text_embedding() {
        let a = read(
            EmbeddingFamily::Nova,
            br#"{"embeddings":[{"embeddingType":"TEXT","embedding":[0.1,0.2]}]}"#,
            1,
        )
        .unwrap();
        assert_eq!(a.vectors, vec![vec![0.1, 0.2]]);
        assert!(read(EmbeddingFamily::Nova, br#"{"embeddings":[]}"#, 1).is_err());
        assert!(read(EmbeddingFamily::Nova, b"not json", 1).is_err());
    }
}
