//! Metrics and access-log attributes from an exchange's [`Record`].
//!
//! Metric names carry their labels
//! (`bedrock_openai.requests.endpoint.<e>.project.<p>.model.<m>.status.<s>`);
//! `stats_tags` in the Envoy config turn them into Prometheus labels.

use super::host;
use crate::exchange::record::Record;
use proxy_wasm::types::{LogLevel, MetricType};
use std::cell::RefCell;
use std::rc::Rc;

thread_local! {
    /// Metric ids by name, sorted by name (a binary search: no hasher, and
    /// no random seed, in the .wasm).
    static METRICS: RefCell<Vec<(String, u32)>> = const { RefCell::new(Vec::new()) };
}

/// A label value safe inside a stat name: `[A-Za-z0-9_-]`, anything else `_`.
pub fn label(value: &str) -> String {
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

fn metric(kind: MetricType, name: String) -> Option<u32> {
    METRICS.with(|m| {
        let mut m = m.try_borrow_mut().ok()?;
        match m.binary_search_by(|(k, _)| k.as_str().cmp(&name)) {
            Ok(i) => m.get(i).map(|(_, id)| *id),
            Err(i) => {
                let id = host::define_metric(kind, &name).ok()?;
                m.insert(i, (name, id));
                Some(id)
            }
        }
    })
}

fn count(name: String, by: u64) {
    if let Some(id) = metric(MetricType::Counter, name) {
        let _ = host::increment_metric(id, i64::try_from(by).unwrap_or(i64::MAX));
    }
}

/// The ids of one (endpoint, project, model, status) combination's
/// metrics, each defined the first time it is used.
struct Series {
    endpoint: &'static str,
    project: String,
    model: Rc<str>,
    status: Option<u16>,
    /// `endpoint.<e>.project.<p>.model.<m>`, the scope after `bedrock_openai.<what>`.
    scope: String,
    requests: Option<u32>,
    input_tokens: Option<u32>,
    output_tokens: Option<u32>,
    cache_read_tokens: Option<u32>,
    cache_write_tokens: Option<u32>,
    upstream_latency: Option<u32>,
}

impl Series {
    fn new(endpoint: &'static str, project: &str, model: Rc<str>, status: Option<u16>) -> Series {
        let scope = format!(
            "endpoint.{}.project.{}.model.{}",
            label(endpoint),
            label(project),
            label(&model)
        );
        let s = status.map_or_else(|| "none".to_string(), |s| s.to_string());
        let requests = metric(
            MetricType::Counter,
            format!("bedrock_openai.requests.{scope}.status.{s}"),
        );
        Series {
            endpoint,
            project: project.to_string(),
            model,
            status,
            scope,
            requests,
            input_tokens: None,
            output_tokens: None,
            cache_read_tokens: None,
            cache_write_tokens: None,
            upstream_latency: None,
        }
    }

    /// The id of `what` in this series' scope, defining it on first use.
    fn id(slot: &mut Option<u32>, scope: &str, kind: MetricType, what: &str) -> Option<u32> {
        if slot.is_none() {
            *slot = metric(kind, format!("bedrock_openai.{what}.{scope}"));
        }
        *slot
    }
}

thread_local! {
    /// Metric ids by series, so a request formats no metric name once its
    /// combination has been seen (bounded by projects × models × statuses).
    static SERIES: RefCell<Vec<Series>> = const { RefCell::new(Vec::new()) };
}

fn add(id: Option<u32>, by: u64) {
    if let Some(id) = id {
        let _ = host::increment_metric(id, i64::try_from(by).unwrap_or(i64::MAX));
    }
}

/// Emits the metrics of a finished exchange.
pub fn emit(record: &Record, upstream_latency_ms: Option<u64>) {
    let project = record
        .project
        .as_ref()
        .map_or("unknown", |p| p.name.as_str());
    if let Some(reason) = &record.rejected {
        let endpoint = record
            .endpoint
            .map_or_else(String::new, |e| format!(".endpoint.{}", label(e)));
        count(
            format!(
                "bedrock_openai.rejected{endpoint}.project.{}.reason.{}",
                label(project),
                label(reason)
            ),
            1,
        );
    }
    let (Some(model), Some(endpoint)) = (&record.model, record.endpoint) else {
        return;
    };
    SERIES.with(|all| {
        let Ok(mut all) = all.try_borrow_mut() else {
            return;
        };
        let found = all.iter().position(|s| {
            s.status == record.status
                && s.endpoint == endpoint
                && s.model == *model
                && s.project == project
        });
        let index = found.unwrap_or_else(|| {
            all.push(Series::new(
                endpoint,
                project,
                Rc::clone(model),
                record.status,
            ));
            all.len() - 1
        });
        let Some(series) = all.get_mut(index) else {
            return;
        };
        add(series.requests, 1);
        let scope = &series.scope;
        if let Some(u) = record.usage {
            let counter = MetricType::Counter;
            add(
                Series::id(&mut series.input_tokens, scope, counter, "input_tokens"),
                u.input,
            );
            add(
                Series::id(&mut series.output_tokens, scope, counter, "output_tokens"),
                u.output,
            );
            if u.cache_reported {
                add(
                    Series::id(
                        &mut series.cache_read_tokens,
                        scope,
                        counter,
                        "cache_read_tokens",
                    ),
                    u.cache_read,
                );
                add(
                    Series::id(
                        &mut series.cache_write_tokens,
                        scope,
                        counter,
                        "cache_write_tokens",
                    ),
                    u.cache_write,
                );
            }
        }
        if let Some(ms) = upstream_latency_ms {
            let kind = MetricType::Histogram;
            if let Some(id) = Series::id(
                &mut series.upstream_latency,
                scope,
                kind,
                "upstream_latency_ms",
            ) {
                let _ = host::record_metric(id, ms);
            }
        }
    });
}

/// Which facts access logs were told already.
#[derive(Debug, Default)]
pub struct Published {
    endpoint: bool,
    project: bool,
    model: bool,
    usage: bool,
    finish_reason: bool,
    rejected: bool,
}

fn set(key: &str, value: &str) {
    if host::set_property(key, value).is_err() {
        host::log(
            LogLevel::Debug,
            &format!("bedrock-openai-filter: could not set {key}"),
        );
    }
}

impl Published {
    /// Publishes the facts of `record` not published yet as filter state
    /// `wasm.bedrock_openai.*` (each fact is set once, when it becomes known).
    pub fn publish(&mut self, record: &Record) {
        if let (false, Some(e)) = (self.endpoint, record.endpoint) {
            set("bedrock_openai.endpoint", e);
            self.endpoint = true;
        }
        if let (false, Some(p)) = (self.project, &record.project) {
            set("bedrock_openai.project", &p.name);
            self.project = true;
        }
        if let (false, Some(m)) = (self.model, &record.model) {
            set("bedrock_openai.model", m);
            self.model = true;
        }
        if let (false, Some(u)) = (self.usage, record.usage) {
            set("bedrock_openai.input_tokens", &u.input.to_string());
            set("bedrock_openai.output_tokens", &u.output.to_string());
            // The hit count of a fleet-wide token budget (Envoy's rate limit filter).
            set("bedrock_openai.total_tokens", &u.total.to_string());
            if u.cache_reported {
                set(
                    "bedrock_openai.cache_read_tokens",
                    &u.cache_read.to_string(),
                );
                set(
                    "bedrock_openai.cache_write_tokens",
                    &u.cache_write.to_string(),
                );
            }
            self.usage = true;
        }
        if let (false, Some(f)) = (self.finish_reason, record.finish_reason) {
            set("bedrock_openai.finish_reason", f);
            self.finish_reason = true;
        }
        if let (false, Some(r)) = (self.rejected, &record.rejected) {
            set("bedrock_openai.rejected", r);
            self.rejected = true;
        }
    }
}
