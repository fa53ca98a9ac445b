//! Metrics and access-log attributes from an exchange's [`Record`].
//!
//! Metric names carry their labels (`bedrock_openai.requests.project.<p>.model.<m>.status.<s>`);
//! `stats_tags` in the Envoy config turn them into Prometheus labels. Every
//! endpoint but chat completions adds `.endpoint.<e>` at the end
//! (`...status.200.endpoint.embeddings`), so chat's names stay what they were.

use super::host;
use crate::api::Route;
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

/// The `.endpoint.<e>` suffix of a route's metric names (none for chat
/// completions, whose names predate the label).
fn endpoint_suffix(route: Option<Route>) -> String {
    match route {
        None | Some(Route::ChatCompletions) => String::new(),
        Some(r) => format!(".endpoint.{}", r.label()),
    }
}

fn count(name: String, by: u64) {
    if let Some(id) = metric(MetricType::Counter, name) {
        let _ = host::increment_metric(id, i64::try_from(by).unwrap_or(i64::MAX));
    }
}

/// The ids of one (project, model, status) combination's metrics, each
/// defined the first time it is used.
struct Series {
    project: String,
    model: Rc<str>,
    status: Option<u16>,
    route: Option<Route>,
    /// `bedrock_openai.<what>.project.<p>.model.<m><endpoint suffix>` before `<what>` is filled in.
    scope: (String, String, String),
    requests: Option<u32>,
    input_tokens: Option<u32>,
    output_tokens: Option<u32>,
    cache_read_tokens: Option<u32>,
    cache_write_tokens: Option<u32>,
    upstream_latency: Option<u32>,
}

impl Series {
    fn new(project: &str, model: Rc<str>, status: Option<u16>, route: Option<Route>) -> Series {
        let scope = (label(project), label(&model), endpoint_suffix(route));
        let s = status.map_or_else(|| "none".to_string(), |s| s.to_string());
        let requests = metric(
            MetricType::Counter,
            format!(
                "bedrock_openai.requests.project.{}.model.{}.status.{s}{}",
                scope.0, scope.1, scope.2
            ),
        );
        Series {
            project: project.to_string(),
            model,
            status,
            route,
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
    fn id(
        slot: &mut Option<u32>,
        scope: &(String, String, String),
        kind: MetricType,
        what: &str,
    ) -> Option<u32> {
        if slot.is_none() {
            *slot = metric(
                kind,
                format!(
                    "bedrock_openai.{what}.project.{}.model.{}{}",
                    scope.0, scope.1, scope.2
                ),
            );
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
        count(
            format!(
                "bedrock_openai.rejected.project.{}.reason.{}{}",
                label(project),
                label(reason),
                endpoint_suffix(record.route)
            ),
            1,
        );
    }
    let Some(model) = &record.model else {
        return;
    };
    SERIES.with(|all| {
        let Ok(mut all) = all.try_borrow_mut() else {
            return;
        };
        let found = all.iter().position(|s| {
            s.status == record.status
                && s.route == record.route
                && s.model == *model
                && s.project == project
        });
        let index = found.unwrap_or_else(|| {
            all.push(Series::new(
                project,
                Rc::clone(model),
                record.status,
                record.route,
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
    project: bool,
    endpoint: bool,
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
        if let (false, Some(p)) = (self.project, &record.project) {
            set("bedrock_openai.project", &p.name);
            self.project = true;
        }
        if let (false, Some(r)) = (self.endpoint, record.route) {
            set("bedrock_openai.endpoint", r.label());
            self.endpoint = true;
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
