//! bedrock-openai-filter: OpenAI chat completions in front of Amazon Bedrock Converse.
//!
//! Everything outside `shell` is plain Rust with no proxy-wasm types: it is
//! fed bytes and header values and returns what to do with them.
//!
//! - [`request`]: from the caller to Bedrock (headers, parsing, translation, signing);
//! - [`answer`]: from Bedrock back to the caller (buffered, streamed, replayed);
//! - [`exchange`]: the per-request state machine that drives both halves;
//! - [`config`], [`policy`], [`catalog`]: what the operator and the world say;
//! - [`openai`], [`bedrock`]: the two APIs' wire shapes; [`error`]: every failure.

pub mod answer;
pub mod bedrock;
pub mod catalog;
pub mod config;
pub mod error;
pub mod exchange;
pub mod header;
pub mod openai;
pub mod policy;
pub mod request;
pub mod secret;

#[cfg(target_arch = "wasm32")]
mod shell;

#[cfg(all(feature = "native", not(target_arch = "wasm32")))]
mod native;
