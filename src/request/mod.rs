//! The request half: from the caller's headers and body to a signed Converse call.

pub mod bearer;
pub mod caller;
pub mod converse;
pub mod headers;
pub mod parse;
pub mod sigv4;
pub mod upstream;
