//! The native shell: the same core as the `.wasm`, as an Envoy dynamic
//! module (`envoy.filters.http.dynamic_modules`, a `.so` loaded in-process).
//!
//! Built with `--features native` (`make native`); docs/native.md says how
//! it is deployed and every way it differs from the proxy-wasm shell
//! (`src/shell/`). Like that shell it only moves bytes and headers between
//! Envoy and [`crate::exchange`]:
//!
//! - [`abi`]: Envoy's ABI (every `extern` and `unsafe` of this build) and the hooks;
//! - [`config`]: the filter configuration, checked once, parsed once per worker thread;
//! - [`filter`]: one stream, feeding the [`Exchange`](crate::exchange::Exchange) and applying its steps;
//! - [`limiter`]: the per-minute limits, shared by every worker thread of the process;
//! - [`telemetry`]: metrics and the access log's filter state.

mod abi;
mod config;
mod filter;
mod limiter;
mod telemetry;

/// Envoy loaded the module: say why in Envoy's log if the filter ever
/// panics (the hooks catch it; see [`abi`]).
fn on_program_init() {
    std::panic::set_hook(Box::new(|info| {
        abi::log(
            abi::Level::Critical,
            &format!("bedrock-openai-filter panicked: {info}"),
        );
    }));
}
