//! Safe handles on Envoy's objects: one stream ([`Host`]), one filter
//! configuration ([`ConfigHost`]); each call below is one ABI callback.

use super::*;
use std::ffi::c_void;

/// A header map copied out of Envoy (its strings are valid only until the
/// next change to the map, so they are copied once, into one buffer).
#[derive(Debug, Default)]
pub struct HeaderBlock {
    text: String,
    /// (name end, value end) per header; each starts where the previous ended.
    ends: Vec<(usize, usize)>,
}

impl HeaderBlock {
    /// The headers, borrowed from the block. A name or value that is not
    /// UTF-8 reads as U+FFFD, as in the wasm build.
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        let mut start = 0;
        self.ends
            .iter()
            .map(|&(name_end, value_end)| {
                let name = self.text.get(start..name_end).unwrap_or("");
                let value = self.text.get(name_end..value_end).unwrap_or("");
                start = value_end;
                (name, value)
            })
            .collect()
    }

    fn push(&mut self, name: &[u8], value: &[u8]) {
        self.text.push_str(utf8_or_replacement(name));
        let name_end = self.text.len();
        self.text.push_str(utf8_or_replacement(value));
        self.ends.push((name_end, self.text.len()));
    }
}

fn utf8_or_replacement(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or("\u{FFFD}")
}

/// The answer of a call of the filter's own, copied out of Envoy's
/// buffers (valid only during the callout-done hook).
#[derive(Debug, Default)]
pub struct CalloutAnswer {
    /// The answer's headers (none when the call failed without one).
    pub headers: HeaderBlock,
    /// The answer's body.
    pub body: Vec<u8>,
}

impl CalloutAnswer {
    /// Copies what Envoy hands the callout-done hook: `result`, and for an
    /// answered call its `headers_size` headers and `chunks_size` body chunks.
    ///
    /// # Safety
    /// `headers` must point to `headers_size` headers and `chunks` to
    /// `chunks_size` buffers (or be null with a size of 0), every pointer in
    /// them readable for its length, all unchanged while this runs.
    pub(super) unsafe fn copy(
        result: CEnum,
        headers: *const EnvoyHttpHeader,
        headers_size: usize,
        chunks: *const EnvoyBuffer,
        chunks_size: usize,
    ) -> CalloutAnswer {
        let mut answer = CalloutAnswer::default();
        if result != CALLOUT_ANSWERED {
            return answer;
        }
        if !headers.is_null() {
            // SAFETY: the caller's contract.
            for h in unsafe { std::slice::from_raw_parts(headers, headers_size) } {
                // SAFETY: the caller's contract.
                let (name, value) = unsafe {
                    (
                        bytes(h.key_ptr, h.key_length),
                        bytes(h.value_ptr, h.value_length),
                    )
                };
                answer.headers.push(name, value);
            }
        }
        if !chunks.is_null() {
            // SAFETY: the caller's contract.
            let chunks = unsafe { std::slice::from_raw_parts(chunks, chunks_size) };
            answer.body.reserve(chunks.iter().map(|c| c.length).sum());
            for c in chunks {
                // SAFETY: the caller's contract.
                answer
                    .body
                    .extend_from_slice(unsafe { bytes(c.ptr, c.length) });
            }
        }
        answer
    }
}

/// One HTTP stream of Envoy's filter (`envoy_dynamic_module_type_http_filter_envoy_ptr`),
/// valid for the duration of the hook that hands it over.
pub struct Host(pub(super) *mut c_void);

impl Host {
    /// Every header of `kind`, copied.
    pub fn headers(&self, kind: HeaderKind) -> HeaderBlock {
        let mut block = HeaderBlock::default();
        // SAFETY: self.0 is the stream Envoy passed to the running hook.
        let count =
            unsafe { envoy_dynamic_module_callback_http_get_headers_size(self.0, kind as CEnum) };
        if count == 0 {
            return block;
        }
        let empty = EnvoyHttpHeader {
            key_ptr: std::ptr::null(),
            key_length: 0,
            value_ptr: std::ptr::null(),
            value_length: 0,
        };
        let mut raw = vec![empty; count];
        // SAFETY: `raw` has room for `count` headers, the size Envoy just
        // reported for the same map in the same hook.
        if !unsafe {
            envoy_dynamic_module_callback_http_get_headers(self.0, kind as CEnum, raw.as_mut_ptr())
        } {
            return block;
        }
        for h in &raw {
            // SAFETY: Envoy filled each entry with pointers into its header
            // map, valid until the map changes (nothing changes it here).
            let (name, value) = unsafe {
                (
                    bytes(h.key_ptr, h.key_length),
                    bytes(h.value_ptr, h.value_length),
                )
            };
            block.push(name, value);
        }
        block
    }

    /// Sets (replaces) header `name`; an empty value removes it (the ABI's rule).
    pub fn set_header(&self, kind: HeaderKind, name: &str, value: &str) -> bool {
        // SAFETY: buffers point into live &str values for the call.
        unsafe {
            envoy_dynamic_module_callback_http_set_header(
                self.0,
                kind as CEnum,
                ModuleBuffer::of(name.as_bytes()),
                ModuleBuffer::of(value.as_bytes()),
            )
        }
    }

    /// Adds one more value of header `name` (an empty value is refused).
    pub fn add_header(&self, kind: HeaderKind, name: &str, value: &str) -> bool {
        // SAFETY: buffers point into live &str values for the call.
        unsafe {
            envoy_dynamic_module_callback_http_add_header(
                self.0,
                kind as CEnum,
                ModuleBuffer::of(name.as_bytes()),
                ModuleBuffer::of(value.as_bytes()),
            )
        }
    }

    /// Removes every value of header `name`.
    pub fn remove_header(&self, kind: HeaderKind, name: &str) -> bool {
        // SAFETY: the key points into a live &str; a null value means "remove".
        unsafe {
            envoy_dynamic_module_callback_http_set_header(
                self.0,
                kind as CEnum,
                ModuleBuffer::of(name.as_bytes()),
                ModuleBuffer::NULL,
            )
        }
    }

    /// Makes Envoy pick the route again (the request headers changed).
    pub fn clear_route_cache(&self) {
        // SAFETY: self.0 is the stream of the running hook.
        unsafe { envoy_dynamic_module_callback_http_clear_route_cache(self.0) }
    }

    /// Answers locally with `status`, `headers` and `body`.
    pub fn send_response(&self, status: u16, headers: &[(&str, &str)], body: &[u8]) {
        let raw: Vec<ModuleHttpHeader> = headers
            .iter()
            .map(|(k, v)| ModuleHttpHeader {
                key_ptr: k.as_ptr(),
                key_length: k.len(),
                value_ptr: v.as_ptr(),
                value_length: v.len(),
            })
            .collect();
        // SAFETY: every pointer points into `headers`, `raw` or `body`, all
        // alive for the call; Envoy copies them.
        unsafe {
            envoy_dynamic_module_callback_http_send_response(
                self.0,
                u32::from(status),
                raw.as_ptr(),
                raw.len(),
                ModuleBuffer::of(body),
                ModuleBuffer::of(b"bedrock_openai"),
            )
        }
    }

    /// Starts an HTTP call of the filter's own through `cluster` (headers
    /// with `:method`, `:path` and `:authority`); Envoy answers it through
    /// the callout-done hook with the id returned here. `None`: Envoy
    /// refused to start it (no such cluster, a missing header, no host).
    pub fn http_callout(
        &self,
        cluster: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        timeout_ms: u64,
    ) -> Option<u64> {
        let mut raw: Vec<ModuleHttpHeader> = headers
            .iter()
            .map(|(k, v)| ModuleHttpHeader {
                key_ptr: k.as_ptr(),
                key_length: k.len(),
                value_ptr: v.as_ptr(),
                value_length: v.len(),
            })
            .collect();
        let mut id = 0u64;
        // SAFETY: self.0 is the stream of the running hook; every pointer
        // points into `cluster`, `headers`, `raw` or `body`, all alive for the
        // call, and Envoy copies them into its own request before returning;
        // `id` is a live u64 Envoy writes the callout's id to.
        let started = unsafe {
            envoy_dynamic_module_callback_http_filter_http_callout(
                self.0,
                &mut id,
                ModuleBuffer::of(cluster.as_bytes()),
                raw.as_mut_ptr(),
                raw.len(),
                ModuleBuffer::of(body),
                timeout_ms,
            )
        };
        (started == CALLOUT_STARTED).then_some(id)
    }

    /// Resets the stream (the answer cannot be replaced any more).
    pub fn reset_stream(&self, details: &str) {
        // SAFETY: the details point into a live &str for the call.
        unsafe {
            envoy_dynamic_module_callback_http_filter_reset_stream(
                self.0,
                RESET_LOCAL,
                ModuleBuffer::of(details.as_bytes()),
            )
        }
    }

    fn received_is_buffered(&self, direction: Direction) -> bool {
        // SAFETY: self.0 is the stream of the running hook.
        unsafe {
            match direction {
                Direction::Request => {
                    envoy_dynamic_module_callback_http_received_buffered_request_body(self.0)
                }
                Direction::Response => {
                    envoy_dynamic_module_callback_http_received_buffered_response_body(self.0)
                }
            }
        }
    }

    /// The body parts of `direction` to read, in order: what Envoy buffered
    /// (unless this callback's chunk is that buffer), then this chunk.
    fn parts(&self, direction: Direction) -> [Option<BodyKind>; 2] {
        let buffered =
            (!self.received_is_buffered(direction)).then_some(BodyKind::Buffered(direction));
        [buffered, Some(BodyKind::Received(direction))]
    }

    /// How many body bytes of `direction` Envoy holds: buffered so far and this chunk.
    pub fn body_size(&self, direction: Direction) -> usize {
        self.parts(direction)
            .into_iter()
            .flatten()
            // SAFETY: self.0 is the stream of the running hook.
            .map(|kind| unsafe {
                envoy_dynamic_module_callback_http_get_body_size(self.0, kind.raw())
            })
            .fold(0, usize::saturating_add)
    }

    /// Every body byte of `direction` Envoy holds (see [`Host::body_size`]), copied.
    pub fn read_body(&self, direction: Direction) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body_size(direction));
        for kind in self.parts(direction).into_iter().flatten() {
            // SAFETY: self.0 is the stream of the running hook.
            let count = unsafe {
                envoy_dynamic_module_callback_http_get_body_chunks_size(self.0, kind.raw())
            };
            if count == 0 {
                continue;
            }
            let mut chunks = vec![
                EnvoyBuffer {
                    ptr: std::ptr::null(),
                    length: 0
                };
                count
            ];
            // SAFETY: `chunks` has room for the `count` slices Envoy just
            // reported for the same buffer in the same hook.
            if !unsafe {
                envoy_dynamic_module_callback_http_get_body_chunks(
                    self.0,
                    kind.raw(),
                    chunks.as_mut_ptr(),
                )
            } {
                continue;
            }
            for c in &chunks {
                // SAFETY: each slice points into Envoy's buffer, unchanged
                // while we copy it.
                out.extend_from_slice(unsafe { bytes(c.ptr, c.length) });
            }
        }
        out
    }

    /// Replaces every body byte of `direction` Envoy holds with `data`.
    /// `false`: Envoy holds no body of that direction here.
    pub fn replace_body(&self, direction: Direction, data: &[u8]) -> bool {
        let drain = |kind: BodyKind| {
            // SAFETY: self.0 is the stream of the running hook.
            unsafe { envoy_dynamic_module_callback_http_drain_body(self.0, kind.raw(), usize::MAX) }
        };
        let buffered = drain(BodyKind::Buffered(direction));
        let received = drain(BodyKind::Received(direction));
        let target = match (buffered, received) {
            (true, _) => BodyKind::Buffered(direction),
            (false, true) => BodyKind::Received(direction),
            (false, false) => return false,
        };
        if data.is_empty() {
            return true;
        }
        // SAFETY: the buffer points into a live slice for the call; Envoy copies it.
        unsafe {
            envoy_dynamic_module_callback_http_append_body(
                self.0,
                target.raw(),
                ModuleBuffer::of(data),
            )
        }
    }

    /// Sets filter state `key` (read-only, a string: the access log's
    /// `%FILTER_STATE(key:PLAIN)%`). `false` when it is set already.
    pub fn set_filter_state(&self, key: &str, value: &str) -> bool {
        // SAFETY: buffers point into live &str values for the call.
        unsafe {
            envoy_dynamic_module_callback_http_set_filter_state_bytes(
                self.0,
                ModuleBuffer::of(key.as_bytes()),
                ModuleBuffer::of(value.as_bytes()),
            )
        }
    }

    /// Adds `by` to counter `id` (defined with as many labels as `labels`).
    pub fn increment_counter(&self, id: usize, labels: &[&str], by: u64) -> bool {
        let values: Vec<ModuleBuffer> = labels
            .iter()
            .map(|l| ModuleBuffer::of(l.as_bytes()))
            .collect();
        // SAFETY: `values` and the strings it points into live for the call.
        unsafe {
            envoy_dynamic_module_callback_http_filter_increment_counter(
                self.0,
                id,
                values.as_ptr(),
                values.len(),
                by,
            ) == METRICS_SUCCESS
        }
    }

    /// Records `value` in histogram `id`.
    pub fn record_histogram(&self, id: usize, labels: &[&str], value: u64) -> bool {
        let values: Vec<ModuleBuffer> = labels
            .iter()
            .map(|l| ModuleBuffer::of(l.as_bytes()))
            .collect();
        // SAFETY: `values` and the strings it points into live for the call.
        unsafe {
            envoy_dynamic_module_callback_http_filter_record_histogram_value(
                self.0,
                id,
                values.as_ptr(),
                values.len(),
                value,
            ) == METRICS_SUCCESS
        }
    }
}

/// One filter configuration of Envoy's (`..._http_filter_config_envoy_ptr`),
/// valid during `envoy_dynamic_module_on_http_filter_config_new`, the only
/// time metrics can be defined.
pub struct ConfigHost(pub(super) *mut c_void);

/// Counter or histogram.
#[derive(Debug, Clone, Copy)]
pub enum MetricKind {
    /// A counter.
    Counter,
    /// A histogram.
    Histogram,
}

impl ConfigHost {
    /// Defines metric `name` with `labels`; its id, or `None` if Envoy refused.
    pub fn define(&self, kind: MetricKind, name: &str, labels: &[&str]) -> Option<usize> {
        let names: Vec<ModuleBuffer> = labels
            .iter()
            .map(|l| ModuleBuffer::of(l.as_bytes()))
            .collect();
        let mut id = 0usize;
        let define = match kind {
            MetricKind::Counter => envoy_dynamic_module_callback_http_filter_config_define_counter,
            MetricKind::Histogram => {
                envoy_dynamic_module_callback_http_filter_config_define_histogram
            }
        };
        // SAFETY: self.0 is the configuration being created; `names` and the
        // strings it points into live for the call; `id` outlives it.
        let result = unsafe {
            define(
                self.0,
                ModuleBuffer::of(name.as_bytes()),
                names.as_ptr(),
                names.len(),
                &mut id,
            )
        };
        (result == METRICS_SUCCESS).then_some(id)
    }
}
