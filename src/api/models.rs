//! `GET /v1/amazon-bedrock/models`: the models a project may call, in OpenAI's list shape.

use crate::catalog::resolve::Models;
use crate::policy::Policy;
use serde::Serialize;
use std::borrow::Cow;

#[derive(Serialize)]
struct ModelList<'a> {
    object: &'static str,
    data: Vec<ModelEntry<'a>>,
}

#[derive(Serialize)]
struct ModelEntry<'a> {
    id: Cow<'a, str>,
    object: &'static str,
    created: u64,
    owned_by: &'static str,
}

/// The JSON body listing every model id `policy` allows: its
/// `allowed_models` in order, or every id [`Models::listed`] gives.
pub fn model_list(policy: &Policy, models: &Models) -> Vec<u8> {
    let data = match &policy.allowed_models {
        Some(ids) => ids
            .iter()
            .filter_map(|id| {
                models
                    .owner(id)
                    .map(|owner| (Cow::Borrowed(id.as_str()), owner))
            })
            .collect(),
        None => models.listed(),
    };
    let data = data
        .into_iter()
        .map(|(id, owned_by)| ModelEntry {
            id,
            object: "model",
            created: 0,
            owned_by,
        })
        .collect();
    serde_json::to_vec(&ModelList {
        object: "list",
        data,
    })
    .unwrap_or_default()
}
