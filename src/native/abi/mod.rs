//! Envoy's dynamic-module ABI, as Envoy 1.40 speaks it: every declaration
//! this build uses, and every hook Envoy looks up in the module.
//!
//! Written here from the ABI's published C header
//! (`source/extensions/dynamic_modules/abi/abi.h`, ABI version `v0.2.0` in
//! Envoy 1.40.0), because the upstream Rust SDK is not on crates.io. Only the
//! declarations below are used; `tests/e2e/test_native_symbols.py` checks
//! that Envoy exports every callback the module imports and that the module
//! exports every hook Envoy looks for, and the `.so` is linked with `-z now`
//! (build.rs) so that a missing callback fails the load, not a request.
//!
//! This is the one module of the native build allowed `unsafe` (the crate
//! denies it): calling Envoy's callbacks is an FFI call, the hooks are
//! `#[no_mangle]` and receive raw pointers. Its files: this one (the types,
//! the callbacks Envoy exports), `host.rs` (the safe handles the rest of
//! `src/native/` gets: [`Host`] for one stream, [`ConfigHost`] for one filter
//! configuration), `hooks.rs` (the hooks this filter uses, each catching a
//! panic before it can cross into Envoy; docs/native.md says why) and
//! `unused.rs` (the hooks Envoy requires that this filter does not use).
#![allow(unsafe_code)]

mod hooks;
mod host;
mod unused;

pub use host::{CalloutAnswer, ConfigHost, HeaderBlock, Host, MetricKind};
use std::ffi::{c_void, CStr};

/// The ABI version this module is written against (Envoy logs a warning,
/// and still loads it, when its own differs).
pub const ABI_VERSION: &CStr = c"v0.2.0";

// ----------------------------------------------------------------- types

/// `envoy_dynamic_module_type_envoy_buffer`: bytes owned by Envoy.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct EnvoyBuffer {
    ptr: *const u8,
    length: usize,
}

/// `envoy_dynamic_module_type_module_buffer`: bytes owned by the module.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ModuleBuffer {
    ptr: *const u8,
    length: usize,
}

impl ModuleBuffer {
    fn of(bytes: &[u8]) -> ModuleBuffer {
        ModuleBuffer {
            ptr: bytes.as_ptr(),
            length: bytes.len(),
        }
    }

    const NULL: ModuleBuffer = ModuleBuffer {
        ptr: std::ptr::null(),
        length: 0,
    };
}

/// `envoy_dynamic_module_type_envoy_http_header`: a header in Envoy's map.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct EnvoyHttpHeader {
    key_ptr: *const u8,
    key_length: usize,
    value_ptr: *const u8,
    value_length: usize,
}

/// `envoy_dynamic_module_type_module_http_header`: a header we hand Envoy.
#[repr(C)]
pub struct ModuleHttpHeader {
    key_ptr: *const u8,
    key_length: usize,
    value_ptr: *const u8,
    value_length: usize,
}

/// C enums are `int`s in this ABI; passed and returned as `u32`.
pub type CEnum = u32;

/// `envoy_dynamic_module_type_http_header_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderKind {
    /// `RequestHeader` (0).
    Request = 0,
    /// `ResponseHeader` (2).
    Response = 2,
}

/// Which way a body flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The request (decoding).
    Request,
    /// The response (encoding).
    Response,
}

/// `envoy_dynamic_module_type_http_body_type`: the chunk of this callback
/// (`Received*`) or what Envoy buffered before it (`Buffered*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    Received(Direction),
    Buffered(Direction),
}

impl BodyKind {
    fn raw(self) -> CEnum {
        match self {
            BodyKind::Received(Direction::Request) => 0,
            BodyKind::Buffered(Direction::Request) => 1,
            BodyKind::Received(Direction::Response) => 2,
            BodyKind::Buffered(Direction::Response) => 3,
        }
    }
}

/// `envoy_dynamic_module_type_log_level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `Info` (2).
    Info = 2,
    /// `Warn` (3).
    Warn = 3,
    /// `Error` (4).
    Error = 4,
    /// `Critical` (5).
    Critical = 5,
}

/// What a header or body hook tells Envoy: go on, or hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `Continue` (0) for headers and bodies.
    Continue,
    /// Headers: `StopIteration` (1), the body still flows to the filter.
    StopHeaders,
    /// Body: `StopIterationAndBuffer` (1), Envoy keeps what arrived.
    Buffer,
    /// Body: `StopIterationNoBuffer` (3), after a local reply.
    StopBody,
}

impl Status {
    fn raw(self) -> CEnum {
        match self {
            Status::Continue => 0,
            Status::StopHeaders | Status::Buffer => 1,
            Status::StopBody => 3,
        }
    }
}

/// `envoy_dynamic_module_type_metrics_result_Success`.
const METRICS_SUCCESS: CEnum = 0;
/// `envoy_dynamic_module_type_http_filter_stream_reset_reason_LocalReset`.
const RESET_LOCAL: CEnum = 0;
/// `envoy_dynamic_module_type_on_http_filter_local_reply_status_Continue`.
const LOCAL_REPLY_CONTINUE: CEnum = 0;
/// `envoy_dynamic_module_type_http_callout_init_result_Success`.
const CALLOUT_STARTED: CEnum = 0;
/// `envoy_dynamic_module_type_http_callout_result_Success`: the call was
/// answered (`Reset` and `ExceedResponseBufferLimit` are not).
const CALLOUT_ANSWERED: CEnum = 0;

// ------------------------------------------------------------ callbacks

extern "C" {
    fn envoy_dynamic_module_callback_log(level: CEnum, message: ModuleBuffer);
    fn envoy_dynamic_module_callback_log_enabled(level: CEnum) -> bool;

    fn envoy_dynamic_module_callback_http_filter_config_define_counter(
        config: *mut c_void,
        name: ModuleBuffer,
        label_names: *const ModuleBuffer,
        label_names_length: usize,
        id: *mut usize,
    ) -> CEnum;
    fn envoy_dynamic_module_callback_http_filter_config_define_histogram(
        config: *mut c_void,
        name: ModuleBuffer,
        label_names: *const ModuleBuffer,
        label_names_length: usize,
        id: *mut usize,
    ) -> CEnum;
    fn envoy_dynamic_module_callback_http_filter_increment_counter(
        filter: *mut c_void,
        id: usize,
        label_values: *const ModuleBuffer,
        label_values_length: usize,
        value: u64,
    ) -> CEnum;
    fn envoy_dynamic_module_callback_http_filter_record_histogram_value(
        filter: *mut c_void,
        id: usize,
        label_values: *const ModuleBuffer,
        label_values_length: usize,
        value: u64,
    ) -> CEnum;

    fn envoy_dynamic_module_callback_http_get_headers_size(
        filter: *mut c_void,
        kind: CEnum,
    ) -> usize;
    fn envoy_dynamic_module_callback_http_get_headers(
        filter: *mut c_void,
        kind: CEnum,
        result: *mut EnvoyHttpHeader,
    ) -> bool;
    fn envoy_dynamic_module_callback_http_set_header(
        filter: *mut c_void,
        kind: CEnum,
        key: ModuleBuffer,
        value: ModuleBuffer,
    ) -> bool;
    fn envoy_dynamic_module_callback_http_add_header(
        filter: *mut c_void,
        kind: CEnum,
        key: ModuleBuffer,
        value: ModuleBuffer,
    ) -> bool;
    fn envoy_dynamic_module_callback_http_clear_route_cache(filter: *mut c_void);

    fn envoy_dynamic_module_callback_http_send_response(
        filter: *mut c_void,
        status: u32,
        headers: *const ModuleHttpHeader,
        headers_length: usize,
        body: ModuleBuffer,
        details: ModuleBuffer,
    );
    fn envoy_dynamic_module_callback_http_filter_reset_stream(
        filter: *mut c_void,
        reason: CEnum,
        details: ModuleBuffer,
    );

    fn envoy_dynamic_module_callback_http_get_body_size(filter: *mut c_void, kind: CEnum) -> usize;
    fn envoy_dynamic_module_callback_http_get_body_chunks_size(
        filter: *mut c_void,
        kind: CEnum,
    ) -> usize;
    fn envoy_dynamic_module_callback_http_get_body_chunks(
        filter: *mut c_void,
        kind: CEnum,
        result: *mut EnvoyBuffer,
    ) -> bool;
    fn envoy_dynamic_module_callback_http_append_body(
        filter: *mut c_void,
        kind: CEnum,
        data: ModuleBuffer,
    ) -> bool;
    fn envoy_dynamic_module_callback_http_drain_body(
        filter: *mut c_void,
        kind: CEnum,
        bytes: usize,
    ) -> bool;
    fn envoy_dynamic_module_callback_http_received_buffered_request_body(
        filter: *mut c_void,
    ) -> bool;
    fn envoy_dynamic_module_callback_http_received_buffered_response_body(
        filter: *mut c_void,
    ) -> bool;

    fn envoy_dynamic_module_callback_http_set_filter_state_bytes(
        filter: *mut c_void,
        key: ModuleBuffer,
        value: ModuleBuffer,
    ) -> bool;

    fn envoy_dynamic_module_callback_http_filter_http_callout(
        filter: *mut c_void,
        callout_id: *mut u64,
        cluster_name: ModuleBuffer,
        headers: *mut ModuleHttpHeader,
        headers_size: usize,
        body: ModuleBuffer,
        timeout_milliseconds: u64,
    ) -> CEnum;
}

// ------------------------------------------------------- safe wrappers

/// Writes one line to Envoy's log (the `dynamic_modules` logger).
pub fn log(level: Level, message: &str) {
    // SAFETY: plain value in; the buffer points into a live &str for the call.
    unsafe {
        if envoy_dynamic_module_callback_log_enabled(level as CEnum) {
            envoy_dynamic_module_callback_log(level as CEnum, ModuleBuffer::of(message.as_bytes()));
        }
    }
}

/// # Safety
/// `ptr` must point to `len` readable bytes that stay unchanged while the
/// slice lives (or `len` must be 0).
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        return &[];
    }
    // SAFETY: the caller's contract.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}
