//! Amazon Bedrock Runtime's wire: Converse bodies, the event-stream codec,
//! ConverseStream events, the request options' names, and the embedding
//! families' InvokeModel bodies and answers.

pub mod converse;
pub mod embed;
pub mod eventstream;
pub mod options;
pub mod stream;
