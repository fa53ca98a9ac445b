//! Metrics and access-log filter state from an exchange's [`Record`], with
//! the wasm build's names, labels and keys (`src/shell/telemetry.rs`).
//!
//! Metrics are defined once per configuration (Envoy allows it only then)
//! with their labels; in `/stats/prometheus` they read as the wasm build's:
//! `bedrock_openai_requests{endpoint, project, model, status}` and so on. In
//! `/stats` the prefix differs: `dynamicmodulescustom.` here, `wasmcustom.`
//! there.

use super::abi::{ConfigHost, Host, MetricKind};
use crate::exchange::record::Record;

/// The ids of the filter's metrics in one configuration.
#[derive(Debug, Clone, Copy)]
pub struct Metrics {
    requests: usize,
    /// A refusal once the path named an endpoint.
    rejected: usize,
    /// A refusal before it did (a bad key, an unknown path): the wasm build
    /// names no endpoint then, so neither does this series.
    rejected_unrouted: usize,
    input_tokens: usize,
    output_tokens: usize,
    cache_read_tokens: usize,
    cache_write_tokens: usize,
    upstream_latency: usize,
}

/// The labels of every per-model series, in the wasm build's order (the
/// order of `stats_tags` in envoy/envoy.yaml).
const MODEL_LABELS: &[&str] = &["endpoint", "project", "model"];

impl Metrics {
    /// Defines every metric (only possible while the configuration is created).
    pub fn define(host: &ConfigHost) -> Option<Metrics> {
        let counter = |what: &str, labels: &[&str]| {
            host.define(
                MetricKind::Counter,
                &format!("bedrock_openai.{what}"),
                labels,
            )
        };
        Some(Metrics {
            requests: counter("requests", &["endpoint", "project", "model", "status"])?,
            rejected: counter("rejected", &["endpoint", "project", "reason"])?,
            rejected_unrouted: counter("rejected", &["project", "reason"])?,
            input_tokens: counter("input_tokens", MODEL_LABELS)?,
            output_tokens: counter("output_tokens", MODEL_LABELS)?,
            cache_read_tokens: counter("cache_read_tokens", MODEL_LABELS)?,
            cache_write_tokens: counter("cache_write_tokens", MODEL_LABELS)?,
            upstream_latency: host.define(
                MetricKind::Histogram,
                "bedrock_openai.upstream_latency_ms",
                MODEL_LABELS,
            )?,
        })
    }
}

/// A label value as the wasm build writes it into its stat names:
/// `[A-Za-z0-9_-]`, anything else `_`.
fn label(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Emits the metrics of a finished exchange (the wasm build's `emit`).
pub fn emit(host: &Host, metrics: &Metrics, record: &Record, upstream_latency_ms: Option<u64>) {
    let project = label(
        record
            .project
            .as_ref()
            .map_or("unknown", |p| p.name.as_str()),
    );
    let endpoint = record.endpoint.map(label);
    if let Some(reason) = &record.rejected {
        let reason = label(reason);
        match &endpoint {
            Some(e) => host.increment_counter(metrics.rejected, &[e, &project, &reason], 1),
            None => host.increment_counter(metrics.rejected_unrouted, &[&project, &reason], 1),
        };
    }
    let (Some(model), Some(endpoint)) = (&record.model, endpoint) else {
        return;
    };
    let model = label(model);
    let status = record
        .status
        .map_or_else(|| "none".to_string(), |s| s.to_string());
    host.increment_counter(metrics.requests, &[&endpoint, &project, &model, &status], 1);
    let labels: &[&str] = &[&endpoint, &project, &model];
    if let Some(u) = record.usage {
        host.increment_counter(metrics.input_tokens, labels, u.input);
        host.increment_counter(metrics.output_tokens, labels, u.output);
        if u.cache_reported {
            host.increment_counter(metrics.cache_read_tokens, labels, u.cache_read);
            host.increment_counter(metrics.cache_write_tokens, labels, u.cache_write);
        }
    }
    if let Some(ms) = upstream_latency_ms {
        host.record_histogram(metrics.upstream_latency, labels, ms);
    }
}

/// The filter state keys: the wasm build's (proxy-wasm prefixes its
/// properties with `wasm.`), so that one access-log and rate-limit
/// configuration serves both builds.
const STATE: &str = "wasm.bedrock_openai.";

/// Which facts access logs were told already (each key is set once: Envoy
/// keeps it read-only).
#[derive(Debug, Default)]
pub struct Published {
    endpoint: bool,
    project: bool,
    model: bool,
    usage: bool,
    finish_reason: bool,
    rejected: bool,
}

fn set(host: &Host, key: &str, value: &str) {
    // A refusal only means the key was set already: nothing to do.
    let _ = host.set_filter_state(&format!("{STATE}{key}"), value);
}

impl Published {
    /// Publishes the facts of `record` not published yet as filter state
    /// `wasm.bedrock_openai.*`.
    pub fn publish(&mut self, host: &Host, record: &Record) {
        if let (false, Some(e)) = (self.endpoint, record.endpoint) {
            set(host, "endpoint", e);
            self.endpoint = true;
        }
        if let (false, Some(p)) = (self.project, &record.project) {
            set(host, "project", &p.name);
            self.project = true;
        }
        if let (false, Some(m)) = (self.model, &record.model) {
            set(host, "model", m);
            self.model = true;
        }
        if let (false, Some(u)) = (self.usage, record.usage) {
            set(host, "input_tokens", &u.input.to_string());
            set(host, "output_tokens", &u.output.to_string());
            // The hit count of a fleet-wide token budget (Envoy's rate limit filter).
            set(host, "total_tokens", &u.total.to_string());
            if u.cache_reported {
                set(host, "cache_read_tokens", &u.cache_read.to_string());
                set(host, "cache_write_tokens", &u.cache_write.to_string());
            }
            self.usage = true;
        }
        if let (false, Some(f)) = (self.finish_reason, record.finish_reason) {
            set(host, "finish_reason", f);
            self.finish_reason = true;
        }
        if let (false, Some(r)) = (self.rejected, &record.rejected) {
            set(host, "rejected", r);
            self.rejected = true;
        }
    }
}
