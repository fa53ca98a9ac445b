//! OpenAI ⇄ Converse translation: pure functions, no I/O.

pub mod replay;
pub mod request;
pub mod response;
pub mod stream;
