//! Bedrock's embedding wire: the `InvokeModel` path, the request body of
//! each embedding family ([`EmbeddingFamily`]) and the reading of each
//! family's answer ([`answer`]). Facts from AWS's model parameter pages (the
//! catalog's `embedding_models` rows name them).

pub mod answer;

use crate::aws::sigv4::uri_encode;
use crate::catalog::EmbeddingFamily;
use serde::Serialize;

/// `POST /model/{modelId}/invoke`, the model id percent-encoded once.
pub fn invoke_path(model_id: &str) -> String {
    let mut path = Vec::with_capacity(model_id.len() + 16);
    path.extend_from_slice(b"/model/");
    uri_encode(&mut path, model_id.as_bytes(), false);
    path.extend_from_slice(b"/invoke");
    // Only ASCII was written: the conversion cannot fail.
    String::from_utf8(path).unwrap_or_default()
}

/// What the embeddings are for: Cohere's input types, which name Nova's
/// embedding purposes too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Purpose {
    /// Documents to index (Cohere `search_document`, Nova `GENERIC_INDEX`).
    #[default]
    SearchDocument,
    /// A search query (Cohere `search_query`, Nova `TEXT_RETRIEVAL`: this
    /// endpoint indexes text).
    SearchQuery,
    /// Classification (Cohere `classification`, Nova `CLASSIFICATION`).
    Classification,
    /// Clustering (Cohere `clustering`, Nova `CLUSTERING`).
    Clustering,
}

impl Purpose {
    /// Every purpose, in the order messages list them.
    pub const ALL: [Purpose; 4] = [
        Purpose::SearchDocument,
        Purpose::SearchQuery,
        Purpose::Classification,
        Purpose::Clustering,
    ];

    /// Cohere's `input_type` (also the name callers send).
    pub fn cohere(self) -> &'static str {
        match self {
            Purpose::SearchDocument => "search_document",
            Purpose::SearchQuery => "search_query",
            Purpose::Classification => "classification",
            Purpose::Clustering => "clustering",
        }
    }

    /// Nova's `embeddingPurpose`.
    pub fn nova(self) -> &'static str {
        match self {
            Purpose::SearchDocument => "GENERIC_INDEX",
            Purpose::SearchQuery => "TEXT_RETRIEVAL",
            Purpose::Classification => "CLASSIFICATION",
            Purpose::Clustering => "CLUSTERING",
        }
    }

    /// The purpose Cohere's `input_type` `name` names.
    pub fn from_cohere(name: &str) -> Option<Purpose> {
        Purpose::ALL.into_iter().find(|p| p.cohere() == name)
    }
}

#[derive(Serialize)]
struct Titan<'a> {
    #[serde(rename = "inputText")]
    input_text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    dimensions: Option<u16>,
}

#[derive(Serialize)]
struct Cohere<'a> {
    texts: &'a [String],
    input_type: &'static str,
    /// `NONE`: an input over the model's token limit is an error, as
    /// OpenAI's is (v3: NONE | START | END; v4: NONE | LEFT | RIGHT).
    truncate: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_dimension: Option<u16>,
}

#[derive(Serialize)]
struct Nova<'a> {
    #[serde(rename = "taskType")]
    task_type: &'static str,
    #[serde(rename = "singleEmbeddingParams")]
    params: NovaParams<'a>,
}

#[derive(Serialize)]
struct NovaParams<'a> {
    #[serde(rename = "embeddingPurpose")]
    purpose: &'static str,
    #[serde(rename = "embeddingDimension", skip_serializing_if = "Option::is_none")]
    dimension: Option<u16>,
    text: NovaText<'a>,
}

#[derive(Serialize)]
struct NovaText<'a> {
    /// `NONE`: fail when the text is over the model's token limit.
    #[serde(rename = "truncationMode")]
    truncation_mode: &'static str,
    value: &'a str,
}

/// The `InvokeModel` body of `family` for `texts` (one text for the
/// one-input families), with the vector size `dimensions` when the caller
/// chose one the family has a field for, and `purpose`.
pub fn request_body(
    family: EmbeddingFamily,
    texts: &[String],
    dimensions: Option<u16>,
    purpose: Purpose,
) -> Result<Vec<u8>, serde_json::Error> {
    let first = texts.first().map_or("", String::as_str);
    match family {
        EmbeddingFamily::TitanV2 => serde_json::to_vec(&Titan {
            input_text: first,
            dimensions,
        }),
        EmbeddingFamily::TitanG1 => serde_json::to_vec(&Titan {
            input_text: first,
            dimensions: None,
        }),
        EmbeddingFamily::CohereV3 | EmbeddingFamily::CohereV4 => serde_json::to_vec(&Cohere {
            texts,
            input_type: purpose.cohere(),
            truncate: "NONE",
            output_dimension: dimensions.filter(|_| family == EmbeddingFamily::CohereV4),
        }),
        EmbeddingFamily::Nova => serde_json::to_vec(&Nova {
            task_type: "SINGLE_EMBEDDING",
            params: NovaParams {
                purpose: purpose.nova(),
                dimension: dimensions,
                text: NovaText {
                    truncation_mode: "NONE",
                    value: first,
                },
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn body(family: EmbeddingFamily, texts: &[&str], dims: Option<u16>, p: Purpose) -> Value {
        let texts: Vec<String> = texts.iter().map(|s| s.to_string()).collect();
        serde_json::from_slice(&request_body(family, &texts, dims, p).unwrap()).unwrap()
    }

    #[test]
    fn each_family_s_body() {
        assert_eq!(
            body(
                EmbeddingFamily::TitanV2,
                &["hi"],
                Some(256),
                Purpose::SearchQuery
            ),
            json!({"inputText": "hi", "dimensions": 256})
        );
        assert_eq!(
            body(
                EmbeddingFamily::TitanV2,
                &["hi"],
                None,
                Purpose::SearchQuery
            ),
            json!({"inputText": "hi"})
        );
        assert_eq!(
            body(
                EmbeddingFamily::TitanG1,
                &["hi"],
                Some(1536),
                Purpose::default()
            ),
            json!({"inputText": "hi"})
        );
        assert_eq!(
            body(
                EmbeddingFamily::CohereV3,
                &["a", "b"],
                Some(1024),
                Purpose::SearchQuery
            ),
            json!({"texts": ["a", "b"], "input_type": "search_query", "truncate": "NONE"})
        );
        assert_eq!(
            body(
                EmbeddingFamily::CohereV4,
                &["a"],
                Some(512),
                Purpose::Clustering
            ),
            json!({"texts": ["a"], "input_type": "clustering", "truncate": "NONE", "output_dimension": 512})
        );
        assert_eq!(
            body(EmbeddingFamily::Nova, &["a"], Some(384), Purpose::default()),
            json!({"taskType": "SINGLE_EMBEDDING", "singleEmbeddingParams": {
                "embeddingPurpose": "GENERIC_INDEX", "embeddingDimension": 384,
                "text": {"truncationMode": "NONE", "value": "a"}}})
        );
    }

    #[test]
    fn purposes_and_path() {
        for p in Purpose::ALL {
            assert_eq!(Purpose::from_cohere(p.cohere()), Some(p));
        }
        assert_eq!(Purpose::from_cohere("image"), None);
        assert_eq!(Purpose::SearchQuery.nova(), "TEXT_RETRIEVAL");
        assert_eq!(
            invoke_path("amazon.titan-embed-text-v2:0"),
            "/model/amazon.titan-embed-text-v2%3A0/invoke"
        );
    }
}
