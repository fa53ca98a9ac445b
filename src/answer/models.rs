//! `GET /v1/amazon-bedrock/models`: the models a project may call, in OpenAI's list shape.

use crate::policy::Policy;
use serde::Serialize;

#[derive(Serialize)]
struct ModelList {
    object: &'static str,
    data: Vec<ModelEntry>,
}

#[derive(Serialize)]
struct ModelEntry {
    id: &'static str,
    object: &'static str,
    created: u64,
    owned_by: &'static str,
}

/// The JSON body listing every model `policy` allows.
pub fn model_list(policy: &Policy) -> Vec<u8> {
    let data = policy
        .models()
        .map(|m| ModelEntry {
            id: m.id,
            object: "model",
            created: 0,
            owned_by: "amazon-bedrock",
        })
        .collect();
    serde_json::to_vec(&ModelList {
        object: "list",
        data,
    })
    .unwrap_or_default()
}
