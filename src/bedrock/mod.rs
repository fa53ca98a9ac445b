//! Amazon Bedrock Runtime wire types: Converse bodies and ConverseStream events.

pub mod converse;
pub mod stream;
