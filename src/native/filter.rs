//! One stream: reads Envoy's values, feeds the [`Exchange`], applies its
//! [`Step`] (what `src/shell/http.rs` does for the `.wasm`).

use super::abi::{self, CalloutAnswer, Direction, HeaderBlock, HeaderKind, Host, Level, Status};
use super::config::FilterConfig;
use super::limiter::ProcessLimiter;
use super::telemetry::{self, Published};
use crate::error::ApiError;
use crate::exchange::step::Callout;
use crate::exchange::{BodyProgress, Effect, Exchange, Name, Step, Verdict};
use crate::header::first;
use crate::header::withheld::upstream_headers;
use std::sync::Arc;
use std::time::SystemTime;

/// The filter of one stream.
pub struct Filter {
    config: Arc<FilterConfig>,
    /// `None` when this thread could not parse the configuration (every
    /// request is then answered with a 500).
    exchange: Option<Exchange<ProcessLimiter>>,
    /// The request headers as the header hook read them, kept until the
    /// body hook rewrites the headers.
    caller: Option<HeaderBlock>,
    published: Published,
    forwarded_at: Option<SystemTime>,
    answered_at: Option<SystemTime>,
    /// The calls of the filter's own in flight: Envoy's callout id and the
    /// exchange's id of each.
    callouts: Vec<(u64, u32)>,
    /// The local reply the running hook sends once it returns.
    reply: Option<Reply>,
    /// A hook panicked: the stream was answered with a 500 or reset, and
    /// every later hook lets it go.
    broken: bool,
}

/// A header or body hook's answer to Envoy for `verdict`; `replied`: a
/// local reply went out in this hook.
fn headers_status(verdict: Verdict) -> Status {
    match verdict {
        Verdict::Continue => Status::Continue,
        Verdict::Pause => Status::StopHeaders,
    }
}

fn body_status(verdict: Verdict, replied: bool) -> Status {
    match (verdict, replied) {
        (Verdict::Continue, _) => Status::Continue,
        (Verdict::Pause, true) => Status::StopBody,
        (Verdict::Pause, false) => Status::Buffer,
    }
}

/// The values of header `name` in `pairs`, in order.
fn values<'a>(pairs: &'a [(&'a str, &'a str)], name: &'a str) -> impl Iterator<Item = &'a str> {
    pairs
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
}

/// Whether `name` is one of the names before position `at` (each name is handled once).
fn seen(pairs: &[(&str, &str)], at: usize, name: &str) -> bool {
    pairs
        .get(..at)
        .is_some_and(|before| before.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)))
}

/// Makes the request headers `upstream_headers(caller, set)`: removes the
/// names that are not there, sets the ones whose values differ (the
/// others are left as Envoy holds them), then has Envoy pick the route
/// again (the marked route of `credentials: envoy`). `false` as soon as
/// Envoy refuses a change.
///
/// Compares by borrowing (no copy of a name or value): it runs twice per
/// request, over every header.
fn rewrite_request_headers(host: &Host, caller: &[(&str, &str)], set: &[(Name, String)]) -> bool {
    let target = upstream_headers(caller, set);
    let current = host.headers(HeaderKind::Request);
    let current = current.pairs();
    let mut changed = false;
    for (i, (name, _)) in current.iter().enumerate() {
        if seen(&current, i, name) || target.iter().any(|(t, _)| t.eq_ignore_ascii_case(name)) {
            continue;
        }
        if !host.remove_header(HeaderKind::Request, name) {
            return false;
        }
        changed = true;
    }
    for (i, (name, _)) in target.iter().enumerate() {
        if seen(&target, i, name) || values(&target, name).eq(values(&current, name)) {
            continue;
        }
        let mut want = values(&target, name);
        let ok = want
            .next()
            .is_none_or(|v| host.set_header(HeaderKind::Request, name, v))
            && want
                .filter(|v| !v.is_empty())
                .all(|v| host.add_header(HeaderKind::Request, name, v));
        if !ok {
            return false;
        }
        changed = true;
    }
    if changed {
        host.clear_route_cache();
    }
    true
}

/// Starts one call of the filter's own and notes its ids in `callouts`.
fn dispatch(host: &Host, call: &Callout, callouts: &mut Vec<(u64, u32)>) -> bool {
    let headers: Vec<(&str, &str)> = call
        .headers
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_str()))
        .collect();
    let timeout_ms = u64::try_from(call.timeout.as_millis()).unwrap_or(u64::MAX);
    match host.http_callout(&call.cluster, &headers, &call.body, timeout_ms) {
        Some(id) => {
            callouts.push((id, call.id));
            true
        }
        None => false,
    }
}

/// A local reply, sent by the hook once it has returned from the filter
/// ([`Filter::take_reply`]): Envoy may end the stream inside the call, and
/// call the stream's other hooks (stream complete) from there.
pub struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Reply {
    /// An OpenAI-shaped error.
    fn error(err: &ApiError) -> Reply {
        Reply {
            status: err.status,
            headers: Vec::new(),
            body: err.to_json(),
        }
    }

    /// Sends it on `host`'s stream.
    pub fn send(&self, host: &Host) {
        let mut all: Vec<(&str, &str)> = vec![("content-type", "application/json")];
        all.extend(self.headers.iter().map(|(k, v)| (*k, v.as_str())));
        host.send_response(self.status, &all, &self.body);
    }
}

/// Applies one effect: `Ok(Some(reply))` for a local reply (to be sent
/// once the hook returns), `Err(effect)` when Envoy refused it.
fn apply_effect(
    host: &Host,
    effect: Effect,
    caller: &[(&str, &str)],
    callouts: &mut Vec<(u64, u32)>,
) -> Result<Option<Reply>, Effect> {
    if let Effect::LocalReply {
        status,
        headers,
        body,
    } = effect
    {
        return Ok(Some(Reply {
            status,
            headers,
            body,
        }));
    }
    let done = match &effect {
        Effect::Dispatch { calls } => calls.iter().all(|c| dispatch(host, c, callouts)),
        Effect::RewriteRequestHeaders { set } => rewrite_request_headers(host, caller, set),
        Effect::ReplaceRequestBody(b) => host.replace_body(Direction::Request, b),
        Effect::SetResponseHeader(k, v) => host.set_header(HeaderKind::Response, k, v),
        Effect::RemoveResponseHeader(k) => host.remove_header(HeaderKind::Response, k),
        Effect::ReplaceResponseBody(b) => host.replace_body(Direction::Response, b),
        // Taken above.
        Effect::LocalReply { .. } => true,
    };
    if done {
        Ok(None)
    } else {
        Err(effect)
    }
}

impl Filter {
    /// A stream under `config`.
    pub fn new(config: Arc<FilterConfig>) -> Filter {
        let exchange = config.local().map(|local| {
            Exchange::with_limiter(local.config, ProcessLimiter)
                .with_signing_keys(local.signing_keys)
        });
        Filter {
            config,
            exchange,
            caller: None,
            published: Published::default(),
            forwarded_at: None,
            answered_at: None,
            callouts: Vec::new(),
            reply: None,
            broken: false,
        }
    }

    /// Applies `step` in order, then publishes what the record learned.
    /// Returns the verdict and whether a local reply is due (the hook sends
    /// it once it has returned: [`Filter::take_reply`]).
    ///
    /// When Envoy refuses an effect, none after it is applied and the
    /// exchange decides what happens instead (for a change to the request:
    /// an error reply, never the request as it stood).
    fn apply(&mut self, host: &Host, step: Step, caller: &[(&str, &str)]) -> (Verdict, bool) {
        let Some(exchange) = self.exchange.as_mut() else {
            return (step.verdict, false);
        };
        let mut verdict = step.verdict;
        for effect in step.effects {
            match apply_effect(host, effect, caller, &mut self.callouts) {
                Ok(reply) => self.reply = reply.or(self.reply.take()),
                Err(refused) => {
                    abi::log(
                        Level::Error,
                        "bedrock-openai-filter: Envoy refused an effect",
                    );
                    let instead = exchange.on_host_refused(&refused);
                    verdict = instead.verdict;
                    for e in instead.effects {
                        match apply_effect(host, e, caller, &mut self.callouts) {
                            Ok(reply) => self.reply = reply.or(self.reply.take()),
                            Err(_) => {
                                abi::log(
                                    Level::Critical,
                                    "bedrock-openai-filter: Envoy refused the error reply",
                                );
                                verdict = Verdict::Pause;
                            }
                        }
                    }
                    break;
                }
            }
        }
        self.published.publish(host, exchange.record());
        (verdict, self.reply.is_some())
    }

    /// The local reply due, if any: the hook sends it after the filter
    /// returned ([`Reply`] says why).
    pub fn take_reply(&mut self) -> Option<Reply> {
        self.reply.take()
    }

    /// No exchange on this thread: answer with a 500 (the log says why).
    fn unconfigured() -> Reply {
        Reply::error(&ApiError::internal(
            "The gateway could not read its configuration on this worker thread; see Envoy's log.",
        ))
    }

    /// Request headers (`end_of_stream`: there is no body).
    pub fn on_request_headers(&mut self, host: &Host, end_of_stream: bool) -> Status {
        if self.broken {
            return Status::Continue;
        }
        let Some(exchange) = self.exchange.as_mut() else {
            self.reply = Some(Self::unconfigured());
            self.broken = true;
            return Status::StopHeaders;
        };
        let block = host.headers(HeaderKind::Request);
        let headers = block.pairs();
        let step = exchange.on_request_headers(&headers, end_of_stream);
        let (verdict, _) = self.apply(host, step, &headers);
        drop(headers);
        self.caller = Some(block);
        headers_status(verdict)
    }

    /// A request body chunk: buffered until the whole body is in, which is
    /// then translated, signed and forwarded.
    pub fn on_request_body(&mut self, host: &Host, end_of_stream: bool) -> Status {
        let Some(exchange) = self.exchange.as_mut().filter(|_| !self.broken) else {
            return Status::Continue;
        };
        match exchange.on_request_body_progress(host.body_size(Direction::Request), end_of_stream) {
            BodyProgress::Wait(step) => {
                let (verdict, replied) = self.apply(host, step, &[]);
                body_status(verdict, replied)
            }
            BodyProgress::Ready => {
                let now = SystemTime::now();
                self.forwarded_at = Some(now);
                let body = host.read_body(Direction::Request);
                let step = exchange.on_request_body(&body, now);
                let block = self.caller.take();
                let headers = block.as_ref().map(HeaderBlock::pairs).unwrap_or_default();
                let (verdict, replied) = self.apply(host, step, &headers);
                body_status(verdict, replied)
            }
        }
    }

    /// A call of the filter's own answered (no headers: it failed without
    /// an answer). The exchange decides what follows: more calls, or the
    /// request's answer, sent from here.
    pub fn on_callout_done(&mut self, host: &Host, callout_id: u64, answer: &CalloutAnswer) {
        let Some(exchange) = self.exchange.as_mut().filter(|_| !self.broken) else {
            return;
        };
        let Some(at) = self.callouts.iter().position(|(c, _)| *c == callout_id) else {
            return;
        };
        let (_, id) = self.callouts.swap_remove(at);
        let headers = answer.headers.pairs();
        let status = first(&headers, ":status").and_then(|v| v.parse::<u16>().ok());
        let now = SystemTime::now();
        let step = exchange.on_callout_response(id, status, &headers, &answer.body, now);
        if step
            .effects
            .iter()
            .any(|e| matches!(e, Effect::LocalReply { .. }))
        {
            self.answered_at = Some(now);
            self.callouts.clear();
        }
        self.apply(host, step, &[]);
    }

    /// Response headers.
    pub fn on_response_headers(&mut self, host: &Host, end_of_stream: bool) -> Status {
        let Some(exchange) = self.exchange.as_mut().filter(|_| !self.broken) else {
            return Status::Continue;
        };
        self.answered_at = Some(SystemTime::now());
        let block = host.headers(HeaderKind::Response);
        let headers = block.pairs();
        let status = first(&headers, ":status")
            .and_then(|v| v.parse().ok())
            .unwrap_or(502);
        let step = exchange.on_response_headers(status, &headers, end_of_stream);
        let (verdict, _) = self.apply(host, step, &[]);
        headers_status(verdict)
    }

    /// A response body chunk: buffered until the end, or translated as it comes (a stream).
    pub fn on_response_body(&mut self, host: &Host, end_of_stream: bool) -> Status {
        let Some(exchange) = self.exchange.as_mut().filter(|_| !self.broken) else {
            return Status::Continue;
        };
        let size = host.body_size(Direction::Response);
        match exchange.on_response_body_progress(size, end_of_stream) {
            BodyProgress::Wait(step) => {
                let (verdict, replied) = self.apply(host, step, &[]);
                body_status(verdict, replied)
            }
            BodyProgress::Ready => {
                let body = host.read_body(Direction::Response);
                let step = exchange.on_response_body(&body, end_of_stream);
                let (verdict, replied) = self.apply(host, step, &[]);
                body_status(verdict, replied)
            }
        }
    }

    /// The stream is over (before the access log): log hints and metrics.
    pub fn on_stream_complete(&mut self, host: &Host) {
        let Some(exchange) = self.exchange.as_ref().filter(|_| !self.broken) else {
            return;
        };
        // Today's hints are about the wasm plugin's flag, which this build
        // does not have (docs/native.md); any other would apply here too.
        if let Some(hint) = exchange.diagnosis().filter(|h| !h.contains("wasm plugin")) {
            abi::log(Level::Warn, hint);
        }
        let latency = match (self.forwarded_at, self.answered_at) {
            (Some(sent), Some(answered)) => answered
                .duration_since(sent)
                .ok()
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            _ => None,
        };
        telemetry::emit(host, &self.config.metrics, exchange.record(), latency);
    }

    /// A request hook panicked: answer with an OpenAI-shaped 500, and let
    /// every later hook pass.
    pub fn panicked_on_request(&mut self, _host: &Host) {
        self.broken = true;
        self.reply = Some(Reply::error(&ApiError::internal(
            "The gateway failed on this request; see Envoy's log.",
        )));
    }

    /// A response hook panicked: the answer may be half-written, so the
    /// stream is reset.
    pub fn panicked_on_response(&mut self, host: &Host) {
        self.broken = true;
        host.reset_stream("bedrock_openai_filter_panicked");
    }
}
