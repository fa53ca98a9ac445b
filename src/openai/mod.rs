//! OpenAI chat-completions wire types: the request we accept, the responses we emit.

pub mod request;
pub mod response;
