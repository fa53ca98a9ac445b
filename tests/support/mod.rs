//! Helpers shared by the integration tests and the micro-benchmarks (each is
//! its own crate and includes this module with `mod support;`; benches/micro.rs
//! by path).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use bedrock_openai_filter::api::chat::request::parse;
use bedrock_openai_filter::catalog::resolve::Models;
use bedrock_openai_filter::conversation::converse::to_converse;
use bedrock_openai_filter::error::ApiError;
use serde_json::Value;

/// An event-stream frame with string `headers` and the JSON `payload`,
/// written by aws-smithy-eventstream (AWS's own encoder).
pub fn frame(headers: &[(&str, &str)], payload: &Value) -> Vec<u8> {
    let mut m = Message::new(serde_json::to_vec(payload).unwrap());
    for (k, v) in headers {
        m = m.add_header(Header::new(
            k.to_string(),
            HeaderValue::String(v.to_string().into()),
        ));
    }
    let mut out = Vec::new();
    write_message_to(&m, &mut out).unwrap();
    out
}

/// A ConverseStream event frame of type `name`.
pub fn event_frame(name: &str, payload: &Value) -> Vec<u8> {
    frame(
        &[
            (":event-type", name),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload,
    )
}

/// xorshift64*: a small deterministic generator, so differential tests are
/// reproducible from their seed.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A size in `0..n`.
    pub fn size(&mut self, n: usize) -> usize {
        usize::try_from(self.below(n as u64)).unwrap_or(0)
    }

    /// One of `items`.
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.size(items.len())]
    }

    /// `min..=max` characters drawn from `alphabet`.
    pub fn text(&mut self, alphabet: &[u8], min: usize, max: usize) -> String {
        let len = min + self.size(max - min + 1);
        (0..len)
            .map(|_| alphabet[self.size(alphabet.len())] as char)
            .collect()
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// A stream of frames cut back into its frames (by their length prefixes).
pub fn split_frames(mut bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while bytes.len() >= 4 {
        let len = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        let (frame, rest) = bytes.split_at(len.min(bytes.len()));
        out.push(frame);
        bytes = rest;
    }
    out
}

/// The Converse body `body` (an OpenAI request) becomes, as JSON, with the
/// project's `prompt_caching: "auto"` when `auto_cache`.
pub fn translate_with(body: &Value, auto_cache: bool) -> Result<Value, ApiError> {
    let mut req = parse(body.to_string().as_bytes(), &Models::default())?;
    req.conversation.auto_cache_points = auto_cache;
    Ok(serde_json::to_value(to_converse(req.conversation)?).unwrap())
}

/// [`translate_with`] without a caching policy.
pub fn translate(body: &Value) -> Result<Value, ApiError> {
    translate_with(body, false)
}

/// The Converse body of `body`, which must translate.
pub fn translated(body: Value) -> Value {
    translate(&body).unwrap_or_else(|e| panic!("{body}: {e}"))
}

/// The error `body` is refused with, which it must be.
pub fn refused(body: Value) -> ApiError {
    match translate(&body) {
        Ok(v) => panic!("{body} translated into {v}"),
        Err(e) => e,
    }
}
