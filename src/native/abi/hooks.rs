//! The hooks Envoy calls: each one catches a panic before it can reach Envoy.

use super::*;
use crate::native::config::FilterConfig;
use crate::native::filter::Filter;
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// Runs `run`; if it panics, runs `on_panic` (itself guarded) and returns
/// `fallback`. No panic unwinds into Envoy.
fn guard<T>(run: impl FnOnce() -> T, on_panic: impl FnOnce(), fallback: T) -> T {
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(value) => value,
        Err(_) => {
            let _ = catch_unwind(AssertUnwindSafe(on_panic));
            fallback
        }
    }
}

/// Runs a stream hook: `run` on the filter behind `module`; on a panic,
/// `on_panic` (a local reply or a reset) and `fallback`. A null `module`
/// (no filter was created) lets the stream go on.
fn stream_hook(
    envoy: *mut c_void,
    module: *const c_void,
    run: impl FnOnce(&mut Filter, &Host) -> Status,
    on_panic: impl FnOnce(&mut Filter, &Host),
    fallback: Status,
) -> CEnum {
    // SAFETY: `module` is null or the Box<Filter> that
    // envoy_dynamic_module_on_http_filter_new returned and
    // envoy_dynamic_module_on_http_filter_destroy has not freed yet; Envoy
    // calls one stream's hooks one at a time, on its worker thread, so this
    // is the only reference.
    let Some(filter) = (unsafe { module.cast_mut().cast::<Filter>().as_mut() }) else {
        return Status::Continue.raw();
    };
    let host = Host(envoy);
    let status = match catch_unwind(AssertUnwindSafe(|| run(filter, &host))) {
        Ok(status) => status,
        Err(_) => {
            let _ = catch_unwind(AssertUnwindSafe(|| on_panic(filter, &host)));
            fallback
        }
    };
    // A local reply goes out only now, with no reference to the filter
    // left: Envoy may end the stream inside the call and run this stream's
    // other hooks (stream complete) from there.
    let reply = catch_unwind(AssertUnwindSafe(|| filter.take_reply()))
        .ok()
        .flatten();
    if let Some(reply) = reply {
        let _ = catch_unwind(AssertUnwindSafe(|| reply.send(&host)));
    }
    status.raw()
}

/// Called once when Envoy loads the module: the ABI version it was written for.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_program_init() -> *const std::ffi::c_char {
    guard(
        || {
            crate::native::on_program_init();
            ABI_VERSION.as_ptr()
        },
        || (),
        std::ptr::null(),
    )
}

/// A filter configuration arrives (on the main thread): parsed and checked
/// once; null refuses it (and `envoy --mode validate` fails).
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_config_new(
    config_envoy: *mut c_void,
    _name: EnvoyBuffer,
    config: EnvoyBuffer,
) -> *const c_void {
    guard(
        || {
            // SAFETY: Envoy hands the configuration's bytes for this call.
            let json = unsafe { bytes(config.ptr, config.length) };
            match FilterConfig::new(&ConfigHost(config_envoy), json) {
                Some(c) => Box::into_raw(Box::new(Arc::new(c)))
                    .cast_const()
                    .cast::<c_void>(),
                None => std::ptr::null(),
            }
        },
        || {
            log(
                Level::Critical,
                "bedrock-openai-filter: reading the configuration panicked",
            )
        },
        std::ptr::null(),
    )
}

/// Envoy drops a filter configuration (after its last stream).
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_config_destroy(config: *const c_void) {
    if config.is_null() {
        return;
    }
    // SAFETY: `config` is the Box<Arc<FilterConfig>> config_new returned;
    // Envoy destroys it once.
    let config = unsafe { Box::from_raw(config.cast_mut().cast::<Arc<FilterConfig>>()) };
    guard(move || drop(config), || (), ());
}

/// Per-route configuration is not supported: refusing it fails that route
/// configuration with Envoy's error.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_per_route_config_new(
    _name: EnvoyBuffer,
    _config: EnvoyBuffer,
) -> *const c_void {
    log(
        Level::Critical,
        "bedrock-openai-filter: per-route configuration is not supported",
    );
    std::ptr::null()
}

/// Never called: per-route configuration is always refused.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_per_route_config_destroy(
    _config: *const c_void,
) {
}

/// A new stream under `config` (on its worker thread).
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_new(
    config: *const c_void,
    _envoy: *mut c_void,
) -> *const c_void {
    guard(
        || {
            // SAFETY: `config` is null or the Box<Arc<FilterConfig>> that
            // config_new returned; Envoy keeps it alive while it has streams.
            let Some(config) = (unsafe { config.cast::<Arc<FilterConfig>>().as_ref() }) else {
                return std::ptr::null();
            };
            Box::into_raw(Box::new(Filter::new(Arc::clone(config))))
                .cast_const()
                .cast::<c_void>()
        },
        || {
            log(
                Level::Critical,
                "bedrock-openai-filter: creating a stream panicked",
            )
        },
        std::ptr::null(),
    )
}

/// Request headers. A panic answers an OpenAI-shaped 500.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_request_headers(
    envoy: *mut c_void,
    module: *const c_void,
    end_of_stream: bool,
) -> CEnum {
    stream_hook(
        envoy,
        module,
        |f, host| f.on_request_headers(host, end_of_stream),
        Filter::panicked_on_request,
        Status::StopHeaders,
    )
}

/// A request body chunk. A panic answers an OpenAI-shaped 500.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_request_body(
    envoy: *mut c_void,
    module: *const c_void,
    end_of_stream: bool,
) -> CEnum {
    stream_hook(
        envoy,
        module,
        |f, host| f.on_request_body(host, end_of_stream),
        Filter::panicked_on_request,
        Status::StopBody,
    )
}

/// Request trailers: passed on (as the wasm build does).
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_request_trailers(
    _envoy: *mut c_void,
    _module: *const c_void,
) -> CEnum {
    Status::Continue.raw()
}

/// Response headers. A panic resets the stream.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_response_headers(
    envoy: *mut c_void,
    module: *const c_void,
    end_of_stream: bool,
) -> CEnum {
    stream_hook(
        envoy,
        module,
        |f, host| f.on_response_headers(host, end_of_stream),
        Filter::panicked_on_response,
        Status::StopHeaders,
    )
}

/// A response body chunk. A panic resets the stream.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_response_body(
    envoy: *mut c_void,
    module: *const c_void,
    end_of_stream: bool,
) -> CEnum {
    stream_hook(
        envoy,
        module,
        |f, host| f.on_response_body(host, end_of_stream),
        Filter::panicked_on_response,
        Status::StopBody,
    )
}

/// Response trailers: passed on.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_response_trailers(
    _envoy: *mut c_void,
    _module: *const c_void,
) -> CEnum {
    Status::Continue.raw()
}

/// The stream is done, before the access log is written: metrics and log hints.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_stream_complete(
    envoy: *mut c_void,
    module: *const c_void,
) {
    stream_hook(
        envoy,
        module,
        |f, host| {
            f.on_stream_complete(host);
            Status::Continue
        },
        |_, _| (),
        Status::Continue,
    );
}

/// A call of the filter's own (embeddings) answered, or failed without an
/// answer (`result` not `Success`): the exchange decides what follows, more
/// calls or the request's answer.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_callout_done(
    envoy: *mut c_void,
    module: *const c_void,
    callout_id: u64,
    result: CEnum,
    headers: *mut EnvoyHttpHeader,
    headers_size: usize,
    body_chunks: *mut EnvoyBuffer,
    body_chunks_size: usize,
) {
    stream_hook(
        envoy,
        module,
        |f, host| {
            // SAFETY: Envoy hands this hook `headers_size` headers and
            // `body_chunks_size` body chunks of the callout's answer, valid
            // for the duration of the hook; they are copied before it returns.
            let answer = unsafe {
                CalloutAnswer::copy(result, headers, headers_size, body_chunks, body_chunks_size)
            };
            f.on_callout_done(host, callout_id, &answer);
            Status::Continue
        },
        Filter::panicked_on_request,
        Status::Continue,
    );
}

/// The stream's filter is freed.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_destroy(module: *const c_void) {
    if module.is_null() {
        return;
    }
    // SAFETY: `module` is the Box<Filter> filter_new returned; Envoy destroys it once.
    let filter = unsafe { Box::from_raw(module.cast_mut().cast::<Filter>()) };
    guard(move || drop(filter), || (), ());
}

/// Answers Envoy's local replies with "go on" (the filter sees them as responses).
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_local_reply(
    _envoy: *mut c_void,
    _module: *const c_void,
    _response_code: u32,
    _details: EnvoyBuffer,
    _reset_imminent: bool,
) -> CEnum {
    LOCAL_REPLY_CONTINUE
}
