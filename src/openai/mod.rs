//! OpenAI chat-completions wire types: the request we accept, the responses we emit.

pub mod image;
pub mod json;
pub mod message;
pub mod request;
pub mod response;
pub mod tools;
