//! bedrock-openai-filter: OpenAI's APIs in front of Amazon Bedrock.
//!
//! Everything outside `shell` is plain Rust with no host types: it is fed
//! bytes and header values and returns what to do with them. The modules
//! form layers, each importing only from those before it (lowest first; see
//! `docs/architecture.md`, checked by `make lint`):
//!
//! - [`secret`], [`outcome`], [`base64`], [`header`], [`error`], [`data_url`]: the ground;
//! - [`aws`]: ARNs, Regions and endpoints, credentials, SigV4, signed calls;
//! - [`catalog`]: the models and what each takes (data);
//! - [`bedrock`]: Bedrock's wire (Converse, the event stream, option names);
//! - [`policy`]: every per-project decision; [`config`]: the plugin
//!   configuration's readers; [`caller`]: who calls, with which credentials;
//! - [`conversation`]: the API-neutral conversation between OpenAI and Converse;
//! - [`api`]: one folder per API the gateway speaks;
//! - [`exchange`]: the per-request state machine, which knows routes, not APIs;
//! - `shell`: the proxy-wasm host, only in the `.wasm`.

pub mod api;
pub mod aws;
pub mod base64;
pub mod bedrock;
pub mod caller;
pub mod catalog;
pub mod config;
pub mod conversation;
pub mod data_url;
pub mod error;
pub mod exchange;
pub mod header;
pub mod outcome;
pub mod policy;
pub mod secret;

#[cfg(target_arch = "wasm32")]
mod shell;

#[cfg(all(feature = "native", not(target_arch = "wasm32")))]
mod native;
