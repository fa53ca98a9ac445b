//! Amazon Bedrock Runtime wire types and error mapping.

pub mod converse;
pub mod error;
pub mod stream;
