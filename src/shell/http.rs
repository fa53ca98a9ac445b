//! HTTP context: reads host values, feeds the [`Exchange`], applies its [`Step`].

use super::host;
use super::limiter::SharedLimiter;
use super::telemetry;
use crate::aws::sigv4::SigningKeys;
use crate::config::Config;
use crate::exchange::{BodyProgress, Callout, Effect, Exchange, Step, Verdict};
use crate::header::first;
use crate::header::withheld::upstream_headers;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType, LogLevel, MapType, Status};
use std::rc::Rc;
use std::time::SystemTime;

/// One request through the filter.
pub struct Http {
    exchange: Exchange<SharedLimiter>,
    /// The request header map as the header callback read it (the one read
    /// per request), kept until the body step rewrites the headers.
    request_headers: Option<host::HeaderBlock>,
    /// What access logs were told so far.
    published: telemetry::Published,
    forwarded_at: Option<SystemTime>,
    answered_at: Option<SystemTime>,
    /// The host's token of each call in flight, and the exchange's id for it.
    callouts: Vec<(u32, u32)>,
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

/// Makes one call of the filter's own; notes its token against its id.
fn dispatch(call: &Callout, callouts: &mut Vec<(u32, u32)>) -> Result<(), Status> {
    let headers: Vec<(&str, &str)> = call
        .headers
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_str()))
        .collect();
    let token = hostcalls::dispatch_http_call(
        &call.cluster,
        headers,
        Some(&call.body),
        Vec::new(),
        call.timeout,
    )?;
    callouts.push((token, call.id));
    Ok(())
}

/// Applies one effect; `caller` is the request header map the header
/// callback read (a request-header rewrite starts from it).
fn apply_effect(
    effect: &Effect,
    caller: &[(&str, &str)],
    callouts: &mut Vec<(u32, u32)>,
) -> Result<(), Status> {
    match effect {
        Effect::Dispatch { calls } => calls.iter().try_for_each(|c| dispatch(c, callouts)),
        Effect::RewriteRequestHeaders { set } => {
            host::set_headers(MapType::HttpRequestHeaders, &upstream_headers(caller, set))
        }
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
            request_headers: None,
            published: telemetry::Published::default(),
            forwarded_at: None,
            answered_at: None,
            callouts: Vec::new(),
        }
    }

    /// Applies `step` in order, then publishes whatever the record learned.
    ///
    /// When the host refuses an effect, none after it is applied and the
    /// exchange decides what happens instead (for a change to the request:
    /// an error reply, never the request as it stood).
    fn apply(&mut self, step: Step, caller: &[(&str, &str)]) -> Action {
        let mut verdict = step.verdict;
        for effect in &step.effects {
            if let Err(status) = apply_effect(effect, caller, &mut self.callouts) {
                host::log(
                    LogLevel::Error,
                    &format!("bedrock-openai-filter: host refused an effect ({status:?})"),
                );
                let instead = self.exchange.on_host_refused(effect);
                verdict = instead.verdict;
                for e in &instead.effects {
                    if let Err(status) = apply_effect(e, caller, &mut self.callouts) {
                        host::log(
                            LogLevel::Critical,
                            &format!(
                                "bedrock-openai-filter: host refused the error reply ({status:?})"
                            ),
                        );
                        verdict = Verdict::Pause;
                    }
                }
                break;
            }
        }
        self.published.publish(self.exchange.record());
        match verdict {
            Verdict::Continue => Action::Continue,
            Verdict::Pause => Action::Pause,
        }
    }
}

impl Context for Http {
    /// A call of the filter's own answered (with no headers when it failed
    /// without an answer). The exchange decides what follows: more calls, or
    /// the request's answer as a local reply.
    fn on_http_call_response(
        &mut self,
        token: u32,
        _headers: usize,
        body_size: usize,
        _trailers: usize,
    ) {
        let Some(at) = self.callouts.iter().position(|(t, _)| *t == token) else {
            return;
        };
        let (_, id) = self.callouts.swap_remove(at);
        let block = host::get_headers(MapType::HttpCallResponseHeaders);
        let headers = block.pairs();
        let status = first(&headers, ":status").and_then(|v| v.parse::<u16>().ok());
        let bytes = body(BufferType::HttpCallResponseBody, body_size);
        let now = now();
        let step = self
            .exchange
            .on_callout_response(id, status, &headers, &bytes, now);
        if step
            .effects
            .iter()
            .any(|e| matches!(e, Effect::LocalReply { .. }))
        {
            self.answered_at = Some(now);
            self.callouts.clear();
        }
        let _ = self.apply(step, &[]);
    }
}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _n: usize, end_of_stream: bool) -> Action {
        let block = host::get_headers(MapType::HttpRequestHeaders);
        let headers = block.pairs();
        let step = self.exchange.on_request_headers(&headers, end_of_stream);
        let action = self.apply(step, &headers);
        drop(headers);
        self.request_headers = Some(block);
        action
    }

    fn on_http_request_body(&mut self, size: usize, end_of_stream: bool) -> Action {
        match self.exchange.on_request_body_progress(size, end_of_stream) {
            BodyProgress::Wait(step) => self.apply(step, &[]),
            BodyProgress::Ready => {
                let now = now();
                self.forwarded_at = Some(now);
                let bytes = body(BufferType::HttpRequestBody, size);
                let step = self.exchange.on_request_body(&bytes, now);
                let block = self.request_headers.take();
                let headers = block
                    .as_ref()
                    .map(host::HeaderBlock::pairs)
                    .unwrap_or_default();
                self.apply(step, &headers)
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
        self.apply(step, &[])
    }

    fn on_http_response_body(&mut self, size: usize, end_of_stream: bool) -> Action {
        match self.exchange.on_response_body_progress(size, end_of_stream) {
            BodyProgress::Wait(step) => self.apply(step, &[]),
            BodyProgress::Ready => {
                let bytes = body(BufferType::HttpResponseBody, size);
                let step = self.exchange.on_response_body(&bytes, end_of_stream);
                self.apply(step, &[])
            }
        }
    }

    fn on_log(&mut self) {
        if let Some(hint) = self.exchange.diagnosis() {
            host::log(LogLevel::Warn, hint);
        }
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
