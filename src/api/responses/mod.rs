//! The OpenAI Responses API (`POST /v1/amazon-bedrock/responses`) over
//! Converse, stateless: the request parsed onto the conversation layer
//! ([`request`], [`input`], [`tools`]), the call planned ([`plan`]), and the
//! answer written back as a `response` object or as its server-sent events
//! ([`answer`], [`events`], [`wire`]). Item ids and reasoning carry what a
//! stateless gateway needs to take them back ([`items`]).

pub mod answer;
pub mod events;
pub mod input;
pub mod items;
pub mod plan;
pub mod request;
pub mod tools;
pub mod wire;
