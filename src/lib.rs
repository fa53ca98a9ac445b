//! bedrock-openai-filter: OpenAI chat completions in front of Amazon Bedrock Converse.
//!
//! Everything outside `shell` is plain Rust with no proxy-wasm types: it is
//! fed bytes and header values and returns what to do with them.

#![warn(missing_docs)]

mod answer;
pub mod bedrock;
pub mod caller;
pub mod config;
pub mod error;
pub mod eventstream;
pub mod exchange;
pub mod header;
pub mod models;
pub mod openai;
pub mod policy;
pub mod project_auth;
pub mod rate_limit;
pub mod record;
pub mod sigv4;
pub mod sse;
pub mod step;
pub mod translate;
pub mod upstream;

#[cfg(target_arch = "wasm32")]
mod shell;
