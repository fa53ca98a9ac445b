//! OpenAI chat completions (`POST /v1/amazon-bedrock/chat/completions`):
//! the request parsed onto the conversation layer ([`request`] and its
//! parts), the call planned ([`plan`]), and the answer written back as a
//! `chat.completion` or as `chat.completion.chunk` events ([`answer`]).

pub mod answer;
pub mod chunks;
pub mod completion;
pub mod message;
pub mod options;
pub mod parts;
pub mod plan;
pub mod reasoning;
pub mod replay;
pub mod request;
pub mod response_format;
pub mod stream;
pub mod tools;
pub mod wire;
