//! Amazon Bedrock Runtime's wire: Converse bodies, the event-stream codec,
//! ConverseStream events and the request options' names.

pub mod converse;
pub mod eventstream;
pub mod options;
pub mod stream;
