//! The answer half: Bedrock's answer (or error) back into OpenAI's shape.

pub(crate) mod buffered;
pub mod completion;
pub mod eventstream;
pub mod models;
pub mod replay;
pub mod sse;
pub mod stream;
