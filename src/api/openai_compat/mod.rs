//! Bedrock's own OpenAI-compatible APIs as a second upstream: a model the
//! catalog serves there (GPT-5.x, Gemma 4, Grok, gpt-oss on mantle, …) is
//! forwarded nearly as sent, to bedrock-runtime's `/openai/v1` or to
//! bedrock-mantle, instead of being translated onto Converse.
//!
//! The body is checked for shape ([`shape`]), the project's policy applies
//! as to every call (allow-list, output caps, service tier, guardrail, rate
//! limits and token budgets), `model` becomes the id the endpoint takes, and
//! the call is signed for that endpoint's service ([`mod@plan`]). The answer
//! comes back as Bedrock sent it, `model` put back to what the caller named
//! and its usage read for metrics and budgets ([`answer`], and [`stream`]
//! for server-sent events, forwarded as they arrive).
//!
//! The hook every API's route calls once `api::body::read` found a model
//! on this surface: [`plan()`] with the API ([`CompatApi`]), the model, the
//! body's other fields and the request's [`Planning`](crate::api::Planning).

pub mod answer;
pub mod json_span;
pub mod plan;
pub mod shape;
pub mod stream;

pub use plan::plan;

/// The OpenAI APIs the passthrough forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompatApi {
    /// `POST …/chat/completions`.
    ChatCompletions,
    /// `POST …/responses`.
    Responses,
}

impl CompatApi {
    /// Its name in messages.
    pub fn name(self) -> &'static str {
        match self {
            CompatApi::ChatCompletions => "Chat Completions",
            CompatApi::Responses => "Responses",
        }
    }

    /// Its path below an OpenAI base URL (`/openai/v1`, `/v1`, or the gateway's).
    pub fn path(self) -> &'static str {
        match self {
            CompatApi::ChatCompletions => "/chat/completions",
            CompatApi::Responses => "/responses",
        }
    }

    /// The gateway's route for it.
    pub fn route(self) -> &'static str {
        match self {
            CompatApi::ChatCompletions => "POST /v1/amazon-bedrock/chat/completions",
            CompatApi::Responses => "POST /v1/amazon-bedrock/responses",
        }
    }
}
