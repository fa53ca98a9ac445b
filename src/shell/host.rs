//! Fallible host calls.
//!
//! The SDK's `hostcalls` panic on any status but Ok (a header write in the
//! wrong phase traps the VM), so the writes we issue are declared here
//! against the proxy-wasm ABI and return `Result` instead.
//!
//! This is the one module allowed `unsafe` (the crate denies it): calling
//! the host's imported functions is an FFI call, and taking ownership of the
//! buffer the host allocated for a header map needs `Vec::from_raw_parts`.
//! Each `unsafe` block says what makes it sound.
#![allow(unsafe_code)]

use crate::header::map::{parse_map, serialize_map};
use proxy_wasm::types::{BufferType, LogLevel, MapType, MetricType, Status};

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_log(level: LogLevel, message_data: *const u8, message_size: usize) -> Status;
    fn proxy_replace_header_map_value(
        map_type: MapType,
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> Status;
    fn proxy_remove_header_map_value(
        map_type: MapType,
        key_data: *const u8,
        key_size: usize,
    ) -> Status;
    fn proxy_set_buffer_bytes(
        buffer_type: BufferType,
        start: usize,
        size: usize,
        buffer_data: *const u8,
        buffer_size: usize,
    ) -> Status;
    fn proxy_get_header_map_pairs(
        map_type: MapType,
        return_map_data: *mut *mut u8,
        return_map_size: *mut usize,
    ) -> Status;
    fn proxy_set_header_map_pairs(
        map_type: MapType,
        map_data: *const u8,
        map_size: usize,
    ) -> Status;
    fn proxy_set_property(
        path_data: *const u8,
        path_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> Status;
    fn proxy_define_metric(
        metric_type: MetricType,
        name_data: *const u8,
        name_size: usize,
        return_id: *mut u32,
    ) -> Status;
    fn proxy_increment_metric(metric_id: u32, offset: i64) -> Status;
    fn proxy_record_metric(metric_id: u32, value: u64) -> Status;
    fn proxy_send_local_response(
        status_code: u32,
        status_code_details_data: *const u8,
        status_code_details_size: usize,
        body_data: *const u8,
        body_size: usize,
        headers_data: *const u8,
        headers_size: usize,
        grpc_status: i32,
    ) -> Status;
}

fn check(status: Status) -> Result<(), Status> {
    match status {
        Status::Ok => Ok(()),
        other => Err(other),
    }
}

/// Writes one line to Envoy's log; a failure is ignored (there is nowhere to report it).
pub fn log(level: LogLevel, message: &str) {
    // SAFETY: pointer and length come from a live &str.
    let _ = unsafe { proxy_log(level, message.as_ptr(), message.len()) };
}

/// Sets (replaces) header `name` in `map`.
pub fn set_header(map: MapType, name: &str, value: &str) -> Result<(), Status> {
    // SAFETY: pointers and lengths come from live &str values.
    check(unsafe {
        proxy_replace_header_map_value(map, name.as_ptr(), name.len(), value.as_ptr(), value.len())
    })
}

/// Removes header `name` from `map`.
pub fn remove_header(map: MapType, name: &str) -> Result<(), Status> {
    // SAFETY: pointer and length come from a live &str.
    check(unsafe { proxy_remove_header_map_value(map, name.as_ptr(), name.len()) })
}

/// Replaces everything buffered in `buffer` with `data`.
pub fn replace_buffer(buffer: BufferType, data: &[u8]) -> Result<(), Status> {
    // SAFETY: pointer and length come from a live slice. `usize::MAX` asks for the whole buffer.
    check(unsafe { proxy_set_buffer_bytes(buffer, 0, usize::MAX, data.as_ptr(), data.len()) })
}

/// A header map as the host serialized it (proxy-wasm map format), owned.
pub struct HeaderBlock(Vec<u8>);

impl HeaderBlock {
    /// The pairs, borrowed from the block (see [`parse_map`]).
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        parse_map(&self.0)
    }
}

/// Every header of `map` in one host call (empty if the host has none).
pub fn get_headers(map: MapType) -> HeaderBlock {
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    // SAFETY: the host writes a pointer and a length it allocated through
    // proxy_on_memory_allocate (the SDK's boxed slice of exactly `size` bytes),
    // which we take ownership of, as the SDK's own get_map does.
    let status = unsafe { proxy_get_header_map_pairs(map, &mut data, &mut size) };
    if status != Status::Ok || data.is_null() || size == 0 {
        return HeaderBlock(Vec::new());
    }
    // SAFETY: see above; capacity equals length for a boxed slice.
    HeaderBlock(unsafe { Vec::from_raw_parts(data, size, size) })
}

/// Replaces every header of `map` with `pairs`, in one host call.
pub fn set_headers<K: AsRef<str>, V: AsRef<str>>(
    map: MapType,
    pairs: &[(K, V)],
) -> Result<(), Status> {
    let data = serialize_map(pairs);
    // SAFETY: pointer and length come from a live Vec.
    check(unsafe { proxy_set_header_map_pairs(map, data.as_ptr(), data.len()) })
}

/// Sends a local reply with `headers` and `body`.
pub fn send_local_response(
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(), Status> {
    let map = serialize_map(headers);
    // SAFETY: pointers and lengths come from live slices.
    check(unsafe {
        proxy_send_local_response(
            u32::from(status),
            std::ptr::null(),
            0,
            body.as_ptr(),
            body.len(),
            map.as_ptr(),
            map.len(),
            -1,
        )
    })
}

/// Sets filter state `wasm.<name>` (readable by Envoy's access log as `%FILTER_STATE(wasm.<name>:PLAIN)%`).
pub fn set_property(name: &str, value: &str) -> Result<(), Status> {
    // SAFETY: pointers and lengths come from live &str values.
    check(unsafe { proxy_set_property(name.as_ptr(), name.len(), value.as_ptr(), value.len()) })
}

/// Defines (or finds) a metric and returns its id.
pub fn define_metric(kind: MetricType, name: &str) -> Result<u32, Status> {
    let mut id = 0u32;
    // SAFETY: pointer and length come from a live &str; `id` outlives the call.
    check(unsafe { proxy_define_metric(kind, name.as_ptr(), name.len(), &mut id) })?;
    Ok(id)
}

/// Adds `by` to a counter.
pub fn increment_metric(id: u32, by: i64) -> Result<(), Status> {
    // SAFETY: plain values.
    check(unsafe { proxy_increment_metric(id, by) })
}

/// Records one histogram value.
pub fn record_metric(id: u32, value: u64) -> Result<(), Status> {
    // SAFETY: plain values.
    check(unsafe { proxy_record_metric(id, value) })
}
