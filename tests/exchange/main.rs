//! Exchange scripts (quinn `Pair` style): host events in, effects out, no host mocks.
//! `script` and `effects` are the harness; each other module is one concern.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod effects;
mod script;

mod fail_closed;
mod refused_bodies;
mod refused_headers;
mod round_trip;
mod secrets;
mod upstream;
