//! HTTP context: reads host values, feeds the [`Exchange`], applies its [`Step`].

use super::host;
use crate::config::Config;
use crate::exchange::{BodyProgress, Effect, Exchange, Step, Verdict};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType, LogLevel, MapType};
use std::rc::Rc;
use std::time::SystemTime;

/// One request through the filter.
pub struct Http {
    exchange: Exchange,
}

impl Http {
    /// A context for one request under `config`.
    pub fn new(config: Rc<Config>) -> Http {
        Http {
            exchange: Exchange::new(config),
        }
    }

    fn apply(&self, step: Step) -> Action {
        for effect in step.effects {
            let result = match &effect {
                Effect::SetRequestHeader(k, v) => {
                    host::set_header(MapType::HttpRequestHeaders, k, v)
                }
                Effect::RemoveRequestHeader(k) => {
                    host::remove_header(MapType::HttpRequestHeaders, k)
                }
                Effect::ReplaceRequestBody(b) => {
                    host::replace_buffer(BufferType::HttpRequestBody, b)
                }
                Effect::SetResponseHeader(k, v) => {
                    host::set_header(MapType::HttpResponseHeaders, k, v)
                }
                Effect::RemoveResponseHeader(k) => {
                    host::remove_header(MapType::HttpResponseHeaders, k)
                }
                Effect::ReplaceResponseBody(b) => {
                    host::replace_buffer(BufferType::HttpResponseBody, b)
                }
                Effect::LocalReply {
                    status,
                    headers,
                    body,
                } => {
                    let mut all: Vec<(&str, &str)> = vec![("content-type", "application/json")];
                    all.extend(headers.iter().map(|(k, v)| (*k, v.as_str())));
                    host::send_local_response(*status, &all, body)
                }
            };
            if let Err(status) = result {
                host::log(
                    LogLevel::Error,
                    &format!(
                        "bedrock-openai-filter: host refused {}: {status:?}",
                        kind(&effect)
                    ),
                );
            }
        }
        match step.verdict {
            Verdict::Continue => Action::Continue,
            Verdict::Pause => Action::Pause,
        }
    }
}

fn kind(effect: &Effect) -> &'static str {
    match effect {
        Effect::SetRequestHeader(..) => "set request header",
        Effect::RemoveRequestHeader(..) => "remove request header",
        Effect::ReplaceRequestBody(..) => "replace request body",
        Effect::SetResponseHeader(..) => "set response header",
        Effect::RemoveResponseHeader(..) => "remove response header",
        Effect::ReplaceResponseBody(..) => "replace response body",
        Effect::LocalReply { .. } => "local reply",
    }
}

/// All headers of `map`, values decoded lossily (never a panic on non-UTF-8 bytes).
fn headers(map: MapType) -> Vec<(String, String)> {
    hostcalls::get_map_bytes(map)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
        .collect()
}

fn body(buffer: BufferType, size: usize) -> Vec<u8> {
    hostcalls::get_buffer(buffer, 0, size)
        .ok()
        .flatten()
        .unwrap_or_default()
}

impl Context for Http {}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _n: usize, end_of_stream: bool) -> Action {
        let step = self
            .exchange
            .on_request_headers(&headers(MapType::HttpRequestHeaders), end_of_stream);
        self.apply(step)
    }

    fn on_http_request_body(&mut self, size: usize, end_of_stream: bool) -> Action {
        match self.exchange.on_request_body_progress(size, end_of_stream) {
            BodyProgress::Wait(step) => self.apply(step),
            BodyProgress::Ready => {
                let now = hostcalls::get_current_time().unwrap_or_else(|_| SystemTime::now());
                let step = self
                    .exchange
                    .on_request_body(&body(BufferType::HttpRequestBody, size), now);
                self.apply(step)
            }
        }
    }

    fn on_http_response_headers(&mut self, _n: usize, end_of_stream: bool) -> Action {
        let headers = headers(MapType::HttpResponseHeaders);
        let status = headers
            .iter()
            .find(|(k, _)| k == ":status")
            .and_then(|(_, v)| v.parse().ok())
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
}
