//! A streamed passthrough answer, forwarded event by event as it arrives:
//! Bedrock's OpenAI-compatible endpoints already speak server-sent events,
//! so each complete event goes on unchanged except its `model` (put back to
//! what the caller named), an error's message (cleared of the request's
//! secrets), and the usage chunk the gateway asked for itself (read, not
//! forwarded). Usage and finish are read on the way for metrics and
//! budgets. An event split across network chunks waits (bounded) for its
//! end; nothing waits for the whole answer.

use super::answer::{chat_finish, chat_usage, response_outcome};
use super::json_span::{replace_string, value_span};
use super::CompatApi;
use crate::api::sse;
use crate::error::ApiError;
use crate::outcome::Outcome;
use crate::secret::Redactor;
use serde_json::Value;
use std::rc::Rc;

/// The largest event held while its end has not arrived.
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// The forwarder of one streamed answer.
#[derive(Debug)]
pub struct CompatStream {
    api: CompatApi,
    model: Rc<str>,
    drop_usage_chunk: bool,
    redactor: Redactor,
    /// Bytes of an event whose end has not arrived.
    pending: Vec<u8>,
    outcome: Outcome,
    /// The stream broke (an event over the cap): the rest is dropped.
    broken: bool,
}

/// The end of the first event in `buf` (just past its blank line), if any.
fn event_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(rel) = buf.get(i..)?.iter().position(|&b| b == b'\n') {
        let nl = i + rel;
        match buf.get(nl + 1) {
            Some(b'\n') => return Some(nl + 2),
            Some(b'\r') if buf.get(nl + 2) == Some(&b'\n') => return Some(nl + 3),
            _ => i = nl + 1,
        }
    }
    None
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

impl CompatStream {
    /// A forwarder for `api`'s events, naming `model` in them.
    pub fn new(api: CompatApi, model: Rc<str>, drop_usage_chunk: bool, redactor: Redactor) -> Self {
        CompatStream {
            api,
            model,
            drop_usage_chunk,
            redactor,
            pending: Vec::new(),
            outcome: Outcome::default(),
            broken: false,
        }
    }

    /// Feeds upstream bytes; returns the complete events among them, as the
    /// caller gets them.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        if self.broken {
            return Vec::new();
        }
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::with_capacity(self.pending.len() + 64);
        let mut start = 0;
        while let Some(len) = self.pending.get(start..).and_then(event_end) {
            if let Some(event) = self.pending.get(start..start + len) {
                let event = event.to_vec();
                self.forward(&event, &mut out);
            }
            start += len;
        }
        self.pending.drain(..start);
        if self.pending.len() > MAX_EVENT_BYTES {
            self.pending = Vec::new();
            self.broken = true;
            sse::write_error(
                &mut out,
                &ApiError::bad_upstream_stream("an event exceeded the gateway's limit of 1 MiB."),
            );
        }
        out
    }

    /// End of the upstream body: what is left of an unfinished event goes
    /// out as it came.
    pub fn finish(&mut self) -> Vec<u8> {
        let rest = std::mem::take(&mut self.pending);
        let mut out = Vec::new();
        if !self.broken && rest.iter().any(|b| !b.is_ascii_whitespace()) {
            let mut event = rest;
            event.extend_from_slice(b"\n\n");
            self.forward(&event, &mut out);
        }
        out
    }

    /// Token counts and finish seen so far.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// Appends `event` (its lines and blank line) to `out` as the caller gets it.
    fn forward(&mut self, event: &[u8], out: &mut Vec<u8>) {
        let mut data_lines = event
            .split(|&b| b == b'\n')
            .filter(|l| l.starts_with(b"data:"));
        let (Some(line), None) = (data_lines.next(), data_lines.next()) else {
            out.extend_from_slice(event);
            return;
        };
        let data = line.strip_prefix(b"data:").unwrap_or(line);
        let data = data.strip_suffix(b"\r").unwrap_or(data);
        let payload = data.strip_prefix(b" ").unwrap_or(data);
        if payload.first() != Some(&b'{') {
            out.extend_from_slice(event);
            return;
        }
        let Some(rewritten) = self.rewrite(payload) else {
            return;
        };
        // The event's other lines (`event:`, `id:`) stay as they were.
        for l in event.split_inclusive(|&b| b == b'\n') {
            if l.starts_with(b"data:") {
                out.extend_from_slice(b"data: ");
                out.extend_from_slice(&rewritten);
                out.push(b'\n');
            } else {
                out.extend_from_slice(l);
            }
        }
    }

    /// The payload as the caller gets it (`None`: not forwarded), learning
    /// usage and finish on the way.
    fn rewrite(&mut self, payload: &[u8]) -> Option<Vec<u8>> {
        let error = value_span(payload, "error")
            .and_then(|at| payload.get(at))
            .is_some_and(|v| v != b"null")
            || value_span(payload, "type")
                .and_then(|at| payload.get(at))
                .is_some_and(|v| v == b"\"error\"" || v == b"\"response.failed\"");
        if error {
            // An error's message may echo what the request carried.
            let text = String::from_utf8_lossy(payload).into_owned();
            return Some(self.redactor.redact(text).into_bytes());
        }
        let path: &[&str] = match self.api {
            CompatApi::ChatCompletions => {
                if contains(payload, b"\"usage\"") || contains(payload, b"\"finish_reason\"") {
                    if let Ok(v) = serde_json::from_slice::<Value>(payload) {
                        if let Some(finish) = chat_finish(&v) {
                            self.outcome.finish_reason = Some(finish);
                        }
                        if let Some(usage) = v.get("usage").and_then(chat_usage) {
                            self.outcome.usage = Some(usage);
                            let no_choices = v
                                .get("choices")
                                .and_then(Value::as_array)
                                .is_some_and(|c| c.is_empty());
                            if self.drop_usage_chunk && no_choices {
                                return None;
                            }
                        }
                    }
                }
                &["model"]
            }
            CompatApi::Responses => {
                if contains(payload, b"\"usage\"") {
                    if let Ok(v) = serde_json::from_slice::<Value>(payload) {
                        if let Some(r) = v.get("response") {
                            let outcome = response_outcome(r);
                            if outcome.usage.is_some() {
                                self.outcome.usage = outcome.usage;
                            }
                            if outcome.finish_reason.is_some() {
                                self.outcome.finish_reason = outcome.finish_reason;
                            }
                        }
                    }
                }
                &["response", "model"]
            }
        };
        Some(replace_string(payload, path, &self.model).unwrap_or_else(|| payload.to_vec()))
    }
}
