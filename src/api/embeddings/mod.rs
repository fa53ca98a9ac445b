//! OpenAI embeddings (`POST /v1/amazon-bedrock/embeddings`) over Bedrock's
//! embedding models: the request parsed ([`request`]), one `InvokeModel`
//! call planned per input (per 96 for Cohere) and signed ([`plan`]), and
//! their answers gathered, in order, into OpenAI's list ([`answer`]), with
//! vectors as floats or as base64 of little-endian float32.

pub mod answer;
pub mod plan;
pub mod request;
