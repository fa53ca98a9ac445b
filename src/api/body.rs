//! What every API's request body starts with: a JSON object and the model
//! it names, read once, so that the route can pick who serves the model
//! before the rest of the body is parsed: Converse, translated by the API's
//! own parser, or Bedrock's OpenAI-compatible APIs, through
//! [`crate::api::openai_compat::plan()`].

use crate::catalog::resolve::{Models, Served};
use crate::error::ApiError;
use serde_json::{Map, Value};

/// A request body as a JSON object, its `model` taken out and resolved.
#[derive(Debug)]
pub struct Body {
    /// The model the body names, and the surface that serves it.
    pub model: Served,
    /// The other fields, for the API's parser to take one by one.
    pub fields: Map<String, Value>,
}

/// Reads `body`: a JSON object with a `model` the gateway serves.
pub fn read(body: &[u8], models: &Models) -> Result<Body, ApiError> {
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
        Some(Value::String(id)) => models.serve(id),
        Some(_) => Err(ApiError::invalid("model", "`model` must be a string.")),
    }?;
    Ok(Body { model, fields })
}
