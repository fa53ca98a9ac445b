//! What every API's request body starts with: a JSON object and the model
//! it names, read once, so that the route can pick who serves the model
//! before the rest of the body is parsed: Converse, translated by the API's
//! own parser, or Bedrock's OpenAI-compatible APIs, through
//! [`crate::api::openai_compat::plan()`]. A model of the other kind (an
//! embedding model on a chat endpoint, a chat model on the embeddings
//! endpoint) is a 400 naming `model` and the endpoint that serves it.

use super::{CHAT_COMPLETIONS_PATH, EMBEDDINGS_PATH};
use crate::catalog::resolve::{EmbeddingModel, Found, Models, Served};
use crate::error::{clip, ApiError, MAX_ECHO_CHARS};
use serde_json::{Map, Value};

/// A request body as a JSON object, its `model` taken out and resolved.
#[derive(Debug)]
pub struct Body {
    /// The model the body names, and the surface that serves it.
    pub model: Served,
    /// The other fields, for the API's parser to take one by one.
    pub fields: Map<String, Value>,
}

/// An embeddings request body: its embedding model and the other fields.
#[derive(Debug)]
pub struct EmbeddingBody {
    /// The embedding model the body names.
    pub model: EmbeddingModel,
    /// The other fields, for the API's parser to take one by one.
    pub fields: Map<String, Value>,
}

/// The body as a JSON object and its resolved model, of either kind.
fn object(body: &[u8], models: &Models) -> Result<(Found, Map<String, Value>), ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::invalid("body", format!("The request body is not valid JSON: {e}"))
    })?;
    let Value::Object(mut fields) = value else {
        return Err(ApiError::invalid(
            "body",
            "The request body must be a JSON object.",
        ));
    };
    let model = match fields.remove("model") {
        None | Some(Value::Null) => Err(ApiError::invalid("model", "`model` is required.")),
        Some(Value::String(id)) => models.find(id),
        Some(_) => Err(ApiError::invalid("model", "`model` must be a string.")),
    }?;
    Ok((model, fields))
}

/// The 400 for a model sent to an endpoint that does not serve its kind.
fn served_elsewhere(id: &str, kind: &str, path: &str, here: &str) -> ApiError {
    ApiError::invalid(
        "model",
        format!(
            "`{}` is {kind}: send it to POST {path}. This endpoint serves {here}.",
            clip(id, MAX_ECHO_CHARS)
        ),
    )
}

/// Reads `body`: a JSON object with a chat `model` the gateway serves.
pub fn read(body: &[u8], models: &Models) -> Result<Body, ApiError> {
    match object(body, models)? {
        (Found::Chat(model), fields) => Ok(Body { model, fields }),
        (Found::Embedding(e), _) => Err(served_elsewhere(
            &e.id,
            "an embedding model",
            EMBEDDINGS_PATH,
            "chat models",
        )),
    }
}

/// Reads `body`: a JSON object with an embedding `model` the gateway serves.
pub fn read_embedding(body: &[u8], models: &Models) -> Result<EmbeddingBody, ApiError> {
    match object(body, models)? {
        (Found::Embedding(model), fields) => Ok(EmbeddingBody { model, fields }),
        (Found::Chat(m), _) => Err(served_elsewhere(
            m.id(),
            "a chat model",
            CHAT_COMPLETIONS_PATH,
            "embedding models",
        )),
    }
}
