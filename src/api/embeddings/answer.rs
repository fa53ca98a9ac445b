//! The embeddings answer: each call's vectors put in their inputs' places,
//! usage summed from Bedrock's own counts (Titan's body; Cohere's and Nova's
//! `x-amzn-bedrock-input-token-count` header; a model that reports none
//! adds 0), and OpenAI's list written once every call has answered.

use super::request::Encoding;
use crate::api::{Handoff, Rewritten};
use crate::bedrock::embed::answer::read;
use crate::catalog::EmbeddingFamily;
use crate::error::ApiError;
use crate::header::{first, HeaderPair};
use crate::outcome::{Outcome, Usage};
use serde::Serialize;

/// The header Bedrock reports an `InvokeModel` call's input tokens in.
pub const INPUT_TOKENS_HEADER: &str = "x-amzn-bedrock-input-token-count";

/// What the answers of one embeddings batch gather into.
#[derive(Debug)]
pub struct EmbeddingsGather {
    /// What every API's answer phase knows.
    pub handoff: Handoff,
    family: EmbeddingFamily,
    encoding: Encoding,
    /// The length every vector must have.
    dimensions: usize,
    /// Inputs per call: call `i` carries inputs `i * per_call ..`.
    per_call: usize,
    /// One slot per input, filled as calls answer.
    vectors: Vec<Vec<f32>>,
    /// Input tokens Bedrock reported so far.
    tokens: u64,
}

#[derive(Serialize)]
struct List<'a> {
    object: &'static str,
    data: Vec<Item>,
    model: &'a str,
    usage: UsageOut,
}

#[derive(Serialize)]
struct Item {
    object: &'static str,
    index: usize,
    embedding: Vector,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Vector {
    Float(Vec<f32>),
    Base64(String),
}

#[derive(Serialize)]
struct UsageOut {
    prompt_tokens: u64,
    total_tokens: u64,
}

impl EmbeddingsGather {
    /// A gather for `inputs` inputs of `family`, `per_call` per call, each
    /// answered with a vector of `dimensions` values.
    pub fn new(
        handoff: Handoff,
        family: EmbeddingFamily,
        encoding: Encoding,
        dimensions: usize,
        per_call: usize,
        inputs: usize,
    ) -> EmbeddingsGather {
        EmbeddingsGather {
            handoff,
            family,
            encoding,
            dimensions,
            per_call: per_call.max(1),
            vectors: vec![Vec::new(); inputs],
            tokens: 0,
        }
    }

    /// Takes the successful answer of call `call`.
    pub fn take<H: HeaderPair>(
        &mut self,
        call: usize,
        headers: &[H],
        body: &[u8],
    ) -> Result<(), ApiError> {
        let start = call.saturating_mul(self.per_call);
        let slots = self
            .vectors
            .get_mut(start..)
            .map(|rest| {
                let n = rest.len().min(self.per_call);
                rest.get_mut(..n).unwrap_or_default()
            })
            .unwrap_or_default();
        if slots.is_empty() {
            return Err(ApiError::internal(format!("no inputs for call {call}")));
        }
        let answer = read(self.family, body, slots.len()).map_err(|why| {
            ApiError::bad_upstream_response(format!(
                "Bedrock's InvokeModel answer is not an embeddings answer of this model: {why}."
            ))
        })?;
        if let Some(v) = answer.vectors.iter().find(|v| v.len() != self.dimensions) {
            return Err(ApiError::bad_upstream_response(format!(
                "Bedrock answered a vector of {} values where {} were asked for.",
                v.len(),
                self.dimensions
            )));
        }
        for (slot, v) in slots.iter_mut().zip(answer.vectors) {
            *slot = v;
        }
        let counted = answer.input_tokens.or_else(|| {
            first(headers, INPUT_TOKENS_HEADER).and_then(|v| v.trim().parse::<u64>().ok())
        });
        self.tokens = self.tokens.saturating_add(counted.unwrap_or(0));
        Ok(())
    }

    /// OpenAI's list, in input order, and the usage for metrics and budgets.
    pub fn finish(&mut self) -> Rewritten {
        let data = std::mem::take(&mut self.vectors)
            .into_iter()
            .enumerate()
            .map(|(index, v)| Item {
                object: "embedding",
                index,
                embedding: match self.encoding {
                    Encoding::Float => Vector::Float(v),
                    Encoding::Base64 => Vector::Base64(float32_le(&v)),
                },
            })
            .collect();
        let list = List {
            object: "list",
            data,
            model: &self.handoff.model,
            usage: UsageOut {
                prompt_tokens: self.tokens,
                total_tokens: self.tokens,
            },
        };
        // Sized once: base64 takes 4 characters per 3 bytes of float32, a
        // float up to about 12 characters of JSON; 64 bytes of framing each.
        let per_vector = match self.encoding {
            Encoding::Float => self.dimensions * 12,
            Encoding::Base64 => (self.dimensions * 4).div_ceil(3) * 4,
        };
        let mut body = Vec::with_capacity(128 + list.data.len() * (per_vector + 64));
        match serde_json::to_writer(&mut body, &list) {
            Ok(()) => Rewritten::json(
                body,
                Outcome {
                    usage: Some(Usage {
                        input: self.tokens,
                        total: self.tokens,
                        ..Usage::default()
                    }),
                    finish_reason: None,
                },
            ),
            Err(e) => Rewritten::error(&ApiError::internal(format!(
                "could not write the embeddings answer: {e}"
            ))),
        }
    }
}

/// The base64 of `vector`'s float32 values, each as 4 little-endian bytes:
/// what OpenAI answers for `encoding_format: "base64"` and its SDKs decode
/// (Python: `np.frombuffer(b64decode(s), dtype="float32")`; npm: a
/// `Float32Array` over `Buffer.from(s, "base64")`).
fn float32_le(vector: &[f32]) -> String {
    let mut bytes = Vec::with_capacity(vector.len() * 4);
    for x in vector {
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    crate::base64::encode(&bytes)
}

#[cfg(test)]
mod tests {
    use super::float32_le;

    #[test]
    fn float32_little_endian() {
        // 1.0f32 = 0x3F800000 -> bytes 00 00 80 3F.
        assert_eq!(float32_le(&[1.0]), "AACAPw==");
        assert_eq!(float32_le(&[]), "");
    }
}
