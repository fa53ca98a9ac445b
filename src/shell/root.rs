//! Root context: parses the plugin configuration once and hands it to every request.

use super::host;
use super::http::Http;
use super::limiter;
use crate::aws::sigv4::SigningKeys;
use crate::config::Config;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{BufferType, ContextType, LogLevel};
use std::rc::Rc;

/// Holds the parsed configuration of this worker's VM and its SigV4 key cache.
#[derive(Default)]
pub struct Root {
    config: Option<Rc<Config>>,
    signing_keys: Rc<SigningKeys>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = match hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX) {
            Ok(Some(b)) => b,
            _ => {
                host::log(
                    LogLevel::Critical,
                    "bedrock-openai-filter: no plugin configuration given",
                );
                return false;
            }
        };
        match Config::from_json(&bytes).and_then(|c| c.with_environment(|k| std::env::var(k).ok()))
        {
            Ok(config) => {
                for p in &config.projects {
                    if p.policy.requests_per_minute.is_some()
                        || p.policy.tokens_per_minute.is_some()
                    {
                        limiter::init(&p.name);
                    }
                }
                host::log(
                    LogLevel::Info,
                    &format!(
                        "bedrock-openai-filter: configured {} project(s), upstream {}",
                        config.projects.len(),
                        config
                            .endpoint
                            .as_ref()
                            .map_or("bedrock-runtime.<region>.amazonaws.com", |e| &e.authority)
                    ),
                );
                self.config = Some(Rc::new(config));
                true
            }
            Err(e) => {
                host::log(LogLevel::Critical, &format!("bedrock-openai-filter: {e}"));
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        let config = Rc::clone(self.config.as_ref()?);
        Some(Box::new(Http::new(config, Rc::clone(&self.signing_keys))))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
