//! The proxy-wasm shell: moves bytes and headers between Envoy and [`crate::exchange`].

mod host;
mod http;
mod limiter;
mod root;
mod telemetry;

use proxy_wasm::types::LogLevel;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    // A panic aborts the VM; at least say why in Envoy's log.
    std::panic::set_hook(Box::new(|info| {
        host::log(LogLevel::Critical, &format!("bedrock-openai-filter panicked: {info}"));
    }));
    proxy_wasm::set_root_context(|_| -> Box<dyn proxy_wasm::traits::RootContext> {
        Box::new(root::Root::default())
    });
}}
