//! The Responses API over Converse: the request onto Converse, the buffered
//! answer, the event stream, item references and the routes, through the
//! exchange as the shell drives it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../support/mod.rs"]
mod support;

mod answer;
mod harness;
mod request;
mod routes;
mod stream;
