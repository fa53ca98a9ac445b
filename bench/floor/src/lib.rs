//! Floor filters for `make bench`: what Envoy + V8 cost before our code runs.
//!
//! The plugin configuration picks the mode:
//! - `null`: an HTTP context that does nothing (every callback continues);
//! - `mechanics`: the host interactions of our filter on a non-streaming
//!   request with none of its work: pause the request headers, read the
//!   whole body, write it back, replace the request header map, pause the
//!   response headers, read the whole response body and write it back
//!   (an event-stream answer: each piece read and written back as it comes,
//!   the host calls of our streaming path);
//! - `telemetry`: `mechanics` plus our filter's telemetry host calls: five
//!   filter-state properties for the access log, three counters and one
//!   histogram sample.

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType};
use std::cell::RefCell;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { mechanics: false, telemetry: false }) });
}}

struct Root {
    mechanics: bool,
    telemetry: bool,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let mode = self.get_plugin_configuration().unwrap_or_default();
        self.telemetry = mode.as_slice() == b"telemetry";
        self.mechanics = self.telemetry || mode.as_slice() == b"mechanics";
        if self.telemetry {
            for name in ["a", "b", "c", "d"] {
                let kind = if name == "d" {
                    MetricType::Histogram
                } else {
                    MetricType::Counter
                };
                let id = hostcalls::define_metric(kind, &format!("floor.{name}")).unwrap_or(0);
                METRICS.with(|m| m.borrow_mut().push(id));
            }
        }
        true
    }

    fn create_http_context(&self, _id: u32) -> Option<Box<dyn HttpContext>> {
        if self.mechanics {
            Some(Box::new(Mechanics {
                telemetry: self.telemetry,
                streaming: false,
            }))
        } else {
            Some(Box::new(Null))
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Null;
impl Context for Null {}
impl HttpContext for Null {}

thread_local! {
    static METRICS: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
}

struct Mechanics {
    telemetry: bool,
    streaming: bool,
}

impl Context for Mechanics {}

impl Mechanics {
    fn publish(&self, names: &[&str]) {
        if self.telemetry {
            for name in names {
                self.set_property(vec!["floor", name], Some(b"value"));
            }
            let _ = self.get_current_time();
        }
    }
}
impl HttpContext for Mechanics {
    fn on_http_request_headers(&mut self, _n: usize, end_of_stream: bool) -> Action {
        self.publish(&["project"]);
        if end_of_stream {
            Action::Continue
        } else {
            Action::Pause
        }
    }

    fn on_http_request_body(&mut self, size: usize, end_of_stream: bool) -> Action {
        if !end_of_stream {
            return Action::Pause;
        }
        let body = self.get_http_request_body(0, size).unwrap_or_default();
        self.set_http_request_body(0, size, &body);
        let mut headers = self.get_http_request_headers();
        for (k, v) in headers.iter_mut() {
            // An OpenAI request goes to Converse; a Converse request (the
            // many-streams case sends one, signed) keeps its path.
            if k == ":path" && !v.starts_with("/model/") {
                *v = "/model/meta.llama3-8b-instruct-v1%3A0/converse".to_string();
            }
        }
        let refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.set_http_request_headers(refs);
        self.publish(&["model"]);
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _n: usize, end_of_stream: bool) -> Action {
        if end_of_stream {
            return Action::Continue;
        }
        self.set_http_response_header("content-length", None);
        let content_type = self.get_http_response_header("content-type");
        if content_type.as_deref() == Some("application/vnd.amazon.eventstream") {
            self.streaming = true;
            self.set_http_response_header("content-type", Some("text/event-stream"));
            return Action::Continue;
        }
        Action::Pause
    }

    fn on_http_response_body(&mut self, size: usize, end_of_stream: bool) -> Action {
        if self.streaming {
            let piece = self.get_http_response_body(0, size).unwrap_or_default();
            self.set_http_response_body(0, size, &piece);
            return Action::Continue;
        }
        if !end_of_stream {
            return Action::Pause;
        }
        let body = self.get_http_response_body(0, size).unwrap_or_default();
        self.set_http_response_body(0, size, &body);
        self.publish(&["input_tokens", "output_tokens", "finish_reason"]);
        Action::Continue
    }

    fn on_log(&mut self) {
        if self.telemetry {
            METRICS.with(|m| {
                for (i, id) in m.borrow().iter().enumerate() {
                    if i == 3 {
                        let _ = hostcalls::record_metric(*id, 120);
                    } else {
                        let _ = hostcalls::increment_metric(*id, 1);
                    }
                }
            });
        }
    }
}
