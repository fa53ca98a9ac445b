//! The filter configuration: the same JSON as the wasm plugin's, checked
//! once on Envoy's main thread, then parsed once per worker thread.
//!
//! The core's [`Config`] is built for one thread (`Rc`), like each worker's
//! wasm VM holds its own; here each worker thread keeps its own copy, made
//! from the bytes the main thread checked.

use super::abi::{self, ConfigHost, Level};
use super::telemetry::Metrics;
use crate::aws::sigv4::SigningKeys;
use crate::config::{Config, ConfigError};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// One `envoy.filters.http.dynamic_modules` filter configuration.
#[derive(Debug)]
pub struct FilterConfig {
    /// Unique in the process: the key of each thread's parsed copy.
    id: u64,
    /// The configuration's JSON, as checked.
    json: Vec<u8>,
    /// The metrics defined for it.
    pub metrics: Metrics,
}

/// A worker thread's copy of one configuration, and its SigV4 key cache.
#[derive(Debug, Clone)]
pub struct Local {
    /// The parsed configuration.
    pub config: Rc<Config>,
    /// Signing keys shared by this thread's streams.
    pub signing_keys: Rc<SigningKeys>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The ids of the configurations Envoy holds (a thread drops its copies of
/// the others).
static LIVE: Mutex<Vec<u64>> = Mutex::new(Vec::new());

thread_local! {
    static LOCAL: RefCell<Vec<(u64, Local)>> = const { RefCell::new(Vec::new()) };
}

/// Parses and checks `json`; credentials from the environment (for projects
/// with `credentials: environment`) come from Envoy's process environment.
fn parse(json: &[u8]) -> Result<Config, ConfigError> {
    Config::from_json(json).and_then(|c| c.with_environment(|k| std::env::var(k).ok()))
}

impl FilterConfig {
    /// Checks `json` and defines the metrics; `None` (said in Envoy's log)
    /// refuses the configuration.
    pub fn new(host: &ConfigHost, json: &[u8]) -> Option<FilterConfig> {
        let config = match parse(json) {
            Ok(config) => config,
            Err(e) => {
                abi::log(Level::Critical, &format!("bedrock-openai-filter: {e}"));
                return None;
            }
        };
        let Some(metrics) = Metrics::define(host) else {
            abi::log(
                Level::Critical,
                "bedrock-openai-filter: Envoy refused to define the filter's metrics",
            );
            return None;
        };
        abi::log(
            Level::Info,
            &format!(
                "bedrock-openai-filter: configured {} project(s), upstream {}",
                config.projects.len(),
                config
                    .endpoint
                    .as_ref()
                    .map_or("bedrock-runtime.<region>.amazonaws.com", |e| &e.authority)
            ),
        );
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        LIVE.lock().unwrap_or_else(PoisonError::into_inner).push(id);
        Some(FilterConfig {
            id,
            json: json.to_vec(),
            metrics,
        })
    }

    /// This thread's copy, parsed on its first stream. `None` if it no
    /// longer parses (the environment changed since the check).
    pub fn local(&self) -> Option<Local> {
        LOCAL.with(|all| {
            let mut all = all.try_borrow_mut().ok()?;
            if let Some((_, local)) = all.iter().find(|(id, _)| *id == self.id) {
                return Some(local.clone());
            }
            let config = match parse(&self.json) {
                Ok(c) => c,
                Err(e) => {
                    abi::log(Level::Critical, &format!("bedrock-openai-filter: {e}"));
                    return None;
                }
            };
            let local = Local {
                config: Rc::new(config),
                signing_keys: Rc::new(SigningKeys::new()),
            };
            let live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
            all.retain(|(id, _)| live.contains(id));
            all.push((self.id, local.clone()));
            Some(local)
        })
    }
}

impl Drop for FilterConfig {
    fn drop(&mut self) {
        LIVE.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|id| *id != self.id);
    }
}
