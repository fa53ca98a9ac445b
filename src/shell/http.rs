//! HTTP context: reads host values, feeds the [`Exchange`], applies its [`Step`].

use super::host;
use super::limiter::SharedLimiter;
use super::telemetry;
use crate::config::Config;
use crate::exchange::step::merge_request_headers;
use crate::exchange::{BodyProgress, Effect, Exchange, Step, Verdict};
use crate::header::first;
use crate::request::sigv4::SigningKeys;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType, LogLevel, MapType};
use std::rc::Rc;
use std::time::SystemTime;

/// One request through the filter.
pub struct Http {
    exchange: Exchange<SharedLimiter>,
    /// What access logs were told so far.
    published: telemetry::Published,
    forwarded_at: Option<SystemTime>,
    answered_at: Option<SystemTime>,
}

fn now() -> SystemTime {
    hostcalls::get_current_time().unwrap_or_else(|_| SystemTime::now())
}

fn body(buffer: BufferType, size: usize) -> Vec<u8> {
    hostcalls::get_buffer(buffer, 0, size)
        .ok()
        .flatten()
        .unwrap_or_default()
}

fn apply_effect(effect: &Effect) -> Result<(), proxy_wasm::types::Status> {
    match effect {
        Effect::SetRequestHeader(k, v) => host::set_header(MapType::HttpRequestHeaders, k, v),
        Effect::RemoveRequestHeader(k) => host::remove_header(MapType::HttpRequestHeaders, k),
        Effect::ReplaceRequestBody(b) => host::replace_buffer(BufferType::HttpRequestBody, b),
        Effect::SetResponseHeader(k, v) => host::set_header(MapType::HttpResponseHeaders, k, v),
        Effect::RemoveResponseHeader(k) => host::remove_header(MapType::HttpResponseHeaders, k),
        Effect::ReplaceResponseBody(b) => host::replace_buffer(BufferType::HttpResponseBody, b),
        Effect::LocalReply {
            status,
            headers,
            body,
        } => {
            let mut all: Vec<(&str, &str)> = vec![("content-type", "application/json")];
            all.extend(headers.iter().map(|(k, v)| (*k, v.as_str())));
            host::send_local_response(*status, &all, body)
        }
    }
}

impl Http {
    /// A context for one request under `config`.
    pub fn new(config: Rc<Config>, signing_keys: Rc<SigningKeys>) -> Http {
        Http {
            exchange: Exchange::with_limiter(config, SharedLimiter).with_signing_keys(signing_keys),
            published: telemetry::Published::default(),
            forwarded_at: None,
            answered_at: None,
        }
    }

    /// Applies `step`, then publishes whatever the record learned.
    ///
    /// Request-header changes go to the host as one whole-map replacement.
    fn apply(&mut self, step: Step) -> Action {
        let header_changes = step
            .effects
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Effect::SetRequestHeader(..) | Effect::RemoveRequestHeader(..)
                )
            })
            .count();
        let batched = header_changes > 1;
        if batched {
            let block = host::get_headers(MapType::HttpRequestHeaders);
            let current = block.pairs();
            let map = merge_request_headers(&current, &step.effects);
            if let Err(status) = host::set_headers(MapType::HttpRequestHeaders, &map) {
                host::log(
                    LogLevel::Error,
                    &format!("bedrock-openai-filter: host refused the request headers: {status:?}"),
                );
            }
        }
        for effect in &step.effects {
            if batched
                && matches!(
                    effect,
                    Effect::SetRequestHeader(..) | Effect::RemoveRequestHeader(..)
                )
            {
                continue;
            }
            if let Err(status) = apply_effect(effect) {
                host::log(
                    LogLevel::Error,
                    &format!("bedrock-openai-filter: host refused an effect: {status:?}"),
                );
            }
        }
        self.published.publish(self.exchange.record());
        match step.verdict {
            Verdict::Continue => Action::Continue,
            Verdict::Pause => Action::Pause,
        }
    }
}

impl Context for Http {}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _n: usize, end_of_stream: bool) -> Action {
        let block = host::get_headers(MapType::HttpRequestHeaders);
        let headers = block.pairs();
        let step = self.exchange.on_request_headers(&headers, end_of_stream);
        self.apply(step)
    }

    fn on_http_request_body(&mut self, size: usize, end_of_stream: bool) -> Action {
        match self.exchange.on_request_body_progress(size, end_of_stream) {
            BodyProgress::Wait(step) => self.apply(step),
            BodyProgress::Ready => {
                let now = now();
                self.forwarded_at = Some(now);
                let bytes = body(BufferType::HttpRequestBody, size);
                let step = self.exchange.on_request_body(&bytes, now);
                self.apply(step)
            }
        }
    }

    fn on_http_response_headers(&mut self, _n: usize, end_of_stream: bool) -> Action {
        self.answered_at = Some(now());
        let block = host::get_headers(MapType::HttpResponseHeaders);
        let headers = block.pairs();
        let status = first(&headers, ":status")
            .and_then(|v| v.parse().ok())
            .unwrap_or(502);
        let step = self
            .exchange
            .on_response_headers(status, &headers, end_of_stream);
        self.apply(step)
    }

    fn on_http_response_body(&mut self, size: usize, end_of_stream: bool) -> Action {
        match self.exchange.on_response_body_progress(size, end_of_stream) {
            BodyProgress::Wait(step) => self.apply(step),
            BodyProgress::Ready => {
                let bytes = body(BufferType::HttpResponseBody, size);
                let step = self.exchange.on_response_body(&bytes, end_of_stream);
                self.apply(step)
            }
        }
    }

    fn on_log(&mut self) {
        let latency = match (self.forwarded_at, self.answered_at) {
            (Some(sent), Some(answered)) => answered
                .duration_since(sent)
                .ok()
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            _ => None,
        };
        telemetry::emit(self.exchange.record(), latency);
    }
}
