//! The OpenAI embeddings request, parsed and checked against the model's
//! catalog row before anything is sent: `input` (a string or up to 2,048
//! strings, none empty or over the model's length), `dimensions` (one the
//! model offers), `encoding_format`, `input_type` (an extension: Cohere's
//! names), `user`, and `timeout` (seconds, as chat takes it).

use crate::api::body::{self, EmbeddingBody};
use crate::api::fields::{opt_positive_int, take_opt_string};
use crate::bedrock::embed::Purpose;
use crate::catalog::resolve::{EmbeddingModel, Models};
use crate::error::ApiError;
use serde_json::{Map, Value};

/// OpenAI's limit on inputs per request.
pub const MAX_INPUTS: usize = 2048;

/// How vectors are written in the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// JSON numbers.
    Float,
    /// Base64 of little-endian float32 bytes.
    Base64,
}

/// A checked embeddings request.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingsRequest {
    /// The model, as the caller named it.
    pub model: EmbeddingModel,
    /// The texts, in order.
    pub inputs: Vec<String>,
    /// The vector size asked for (one the model offers), if any.
    pub dimensions: Option<u16>,
    /// How vectors are written back.
    pub encoding: Encoding,
    /// What the embeddings are for (default `search_document`).
    pub purpose: Purpose,
    /// OpenAI's `user`: accepted, not sent (InvokeModel has no documented place for it).
    pub user: Option<String>,
    /// `timeout`, in seconds.
    pub timeout_seconds: Option<u64>,
}

/// What LangChain's `OpenAIEmbeddings` sends by default, and how to send text instead.
const TOKEN_IDS: &str = "`input` holds token ids; Bedrock's embedding models take text, and this gateway does not turn token ids back into text. Send the text itself (with LangChain's OpenAIEmbeddings, set `check_embedding_ctx_length=False`).";

/// Parses and checks a request body.
pub fn parse(body: &[u8], models: &Models) -> Result<EmbeddingsRequest, ApiError> {
    let EmbeddingBody { model, fields } = body::read_embedding(body, models)?;
    parse_fields(model, fields)
}

/// Parses and checks the fields of a body whose model is read.
pub fn parse_fields(
    model: EmbeddingModel,
    mut obj: Map<String, Value>,
) -> Result<EmbeddingsRequest, ApiError> {
    let inputs = parse_input(obj.remove("input"))?;
    check_lengths(&model, &inputs)?;
    let dimensions = parse_dimensions(&model, &mut obj)?;
    let encoding = match take_opt_string(&mut obj, "encoding_format", &|| "encoding_format".into())?
        .as_deref()
    {
        None | Some("float") => Encoding::Float,
        Some("base64") => Encoding::Base64,
        Some(_) => {
            return Err(ApiError::invalid(
                "encoding_format",
                "`encoding_format` must be `float` or `base64`.",
            ))
        }
    };
    let purpose = match take_opt_string(&mut obj, "input_type", &|| "input_type".into())? {
        None => Purpose::default(),
        Some(name) => Purpose::from_cohere(&name).ok_or_else(|| {
            ApiError::invalid(
                "input_type",
                "`input_type` must be `search_document`, `search_query`, `classification` or `clustering`.",
            )
        })?,
    };
    let user = take_opt_string(&mut obj, "user", &|| "user".into())?;
    let timeout_seconds = opt_positive_int(&mut obj, "timeout")?;
    if let Some(key) = obj.keys().next() {
        let key = crate::error::clip(key, crate::error::MAX_ECHO_CHARS).to_string();
        return Err(ApiError::invalid(
            key.clone(),
            format!("Unknown field `{key}`: the embeddings endpoint takes `model`, `input`, `dimensions`, `encoding_format`, `input_type`, `user` and `timeout`."),
        ));
    }
    Ok(EmbeddingsRequest {
        model,
        inputs,
        dimensions,
        encoding,
        purpose,
        user,
        timeout_seconds,
    })
}

/// `input`: a string, or an array of 1 to 2,048 strings; never empty
/// strings, never token ids.
fn parse_input(value: Option<Value>) -> Result<Vec<String>, ApiError> {
    let items = match value {
        None | Some(Value::Null) => return Err(ApiError::invalid("input", "`input` is required.")),
        Some(Value::String(s)) => vec![Value::String(s)],
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(ApiError::invalid(
                "input",
                "`input` must be a string or an array of strings.",
            ))
        }
    };
    if items.is_empty() {
        return Err(ApiError::invalid(
            "input",
            "`input` must not be an empty array.",
        ));
    }
    if items.len() > MAX_INPUTS {
        return Err(ApiError::invalid(
            "input",
            format!(
                "`input` has {} items; at most {MAX_INPUTS} are allowed.",
                items.len()
            ),
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        match item {
            Value::String(s) if s.is_empty() => {
                return Err(ApiError::invalid(
                    "input",
                    format!("`input[{i}]` is an empty string; every input must have text."),
                ))
            }
            Value::String(s) => out.push(s),
            Value::Number(_) | Value::Array(_) => {
                return Err(ApiError::invalid("input", TOKEN_IDS))
            }
            _ => {
                return Err(ApiError::invalid(
                    "input",
                    format!("`input[{i}]` must be a string."),
                ))
            }
        }
    }
    Ok(out)
}

/// Refuses an input longer than the model takes (in characters, as
/// Bedrock's schemas count them).
fn check_lengths(model: &EmbeddingModel, inputs: &[String]) -> Result<(), ApiError> {
    let Some(max) = model.info.max_input_chars else {
        return Ok(());
    };
    let max = max as usize;
    for (i, s) in inputs.iter().enumerate() {
        // A string of at most `max` bytes has at most `max` characters.
        if s.len() > max {
            let chars = s.chars().count();
            if chars > max {
                return Err(ApiError::invalid(
                    "input",
                    format!(
                        "`input[{i}]` has {chars} characters; {} takes at most {max} per input.",
                        model.named()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// `dimensions`: one of the sizes the model offers.
fn parse_dimensions(
    model: &EmbeddingModel,
    obj: &mut Map<String, Value>,
) -> Result<Option<u16>, ApiError> {
    let Some(asked) = opt_positive_int(obj, "dimensions")? else {
        return Ok(None);
    };
    let offered = model.info.dimensions;
    match offered.iter().find(|&&d| u64::from(d) == asked) {
        Some(&d) => Ok(Some(d)),
        None => {
            let list: Vec<String> = offered.iter().map(u16::to_string).collect();
            Err(ApiError::invalid(
                "dimensions",
                format!(
                    "{} does not offer {asked} dimensions; it offers {}.",
                    model.named(),
                    list.join(", ")
                ),
            ))
        }
    }
}
