//! Incremental `application/vnd.amazon.eventstream` decoding (sans-IO).
//!
//! Bytes go in as they arrive; complete frames come out with both CRCs
//! checked. Only the bytes of one incomplete frame are kept, and never more
//! than the cap: a frame's prelude is checked as soon as its 12 bytes are
//! here, so garbage or an absurd length fails at once.
//!
//! The streaming path ([`FrameDecoder::feed`]) lends each frame as a
//! [`FrameRef`] that borrows its headers and payload, and reads frames
//! straight out of the bytes Envoy handed over when none is pending: a
//! frame costs no allocation and no copy. [`FrameDecoder::next_frame`]
//! gives owned [`Message`]s (the tests and fuzz targets compare those).
//!
//! The frame format (prelude, typed headers, payload, CRC-32s) is small and
//! fixed, so it is decoded here rather than with `aws-smithy-eventstream`,
//! whose decoder brought `bytes`, `aws-smithy-types` and a 16 KB CRC table
//! into the `.wasm` (about 35 KB in all). That crate stays the oracle: the
//! tests and the `eventstream` fuzz target check that both decoders accept
//! and refuse the same bytes and yield the same frames.

/// Default cap on buffered bytes: far above any Bedrock frame.
pub const DEFAULT_MAX_BUFFERED: usize = 1024 * 1024;

/// Length of a frame's prelude: total length, headers length, prelude CRC.
const PRELUDE_LEN: usize = 12;
/// Prelude plus the trailing message CRC: the smallest possible frame.
const MIN_FRAME_LEN: usize = PRELUDE_LEN + 4;

/// Why the byte stream is not a valid event stream.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// A frame is malformed or a CRC does not match.
    #[error("malformed event-stream frame: {0}")]
    Frame(&'static str),
    /// An incomplete frame grew past the cap.
    #[error("event-stream frame larger than {0} bytes")]
    TooLarge(usize),
    /// The stream ended inside a frame.
    #[error("event stream ended inside a frame ({0} bytes left over)")]
    Truncated(usize),
}

/// A header value, by the wire's type tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderValue {
    /// Types 0 (true) and 1 (false).
    Bool(bool),
    /// Type 2.
    Byte(i8),
    /// Type 3.
    Int16(i16),
    /// Type 4.
    Int32(i32),
    /// Type 5.
    Int64(i64),
    /// Type 6.
    Bytes(Vec<u8>),
    /// Type 7.
    String(String),
    /// Type 8: milliseconds since the Unix epoch.
    Timestamp(i64),
    /// Type 9.
    Uuid(u128),
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Headers in wire order.
    pub headers: Vec<(String, HeaderValue)>,
    /// The payload bytes.
    pub payload: Vec<u8>,
}

impl Message {
    /// The string value of header `name`, if present and a string.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.headers.iter().find_map(|(k, v)| match v {
            HeaderValue::String(s) if k == name => Some(s.as_str()),
            _ => None,
        })
    }
}

/// A decoded frame, borrowed from the bytes it came in (its header block
/// already checked: names and string values are UTF-8, every type known).
#[derive(Debug, Clone, Copy)]
pub struct FrameRef<'a> {
    headers: &'a [u8],
    /// The payload bytes.
    pub payload: &'a [u8],
    /// `:message-type` and `:event-type`, found while the headers were
    /// checked: every event asks for them.
    message_type: Option<&'a str>,
    event_type: Option<&'a str>,
}

impl<'a> FrameRef<'a> {
    /// The string value of header `name`, if present and a string.
    pub fn header_str(&self, name: &str) -> Option<&'a str> {
        match name {
            ":message-type" => return self.message_type,
            ":event-type" => return self.event_type,
            _ => {}
        }
        let mut r = Reader(self.headers);
        while !r.0.is_empty() {
            let name_len = usize::from(r.u8().ok()?);
            let key = r.take(name_len).ok()?;
            match r.u8().ok()? {
                7 => {
                    let len = usize::from(u16::from_be_bytes(r.array().ok()?));
                    let value = r.take(len).ok()?;
                    if key == name.as_bytes() {
                        return std::str::from_utf8(value).ok();
                    }
                }
                tag => r.skip_value(tag).ok()?,
            }
        }
        None
    }

    /// The frame as an owned [`Message`].
    pub fn to_message(&self) -> Result<Message, DecodeError> {
        let mut headers = Vec::new();
        let mut r = Reader(self.headers);
        while !r.0.is_empty() {
            let name_len = usize::from(r.u8()?);
            let name = r.utf8(name_len)?;
            headers.push((name, r.value()?));
        }
        Ok(Message {
            headers,
            payload: self.payload.to_vec(),
        })
    }
}

/// Whether [`FrameDecoder::feed`] goes on after a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Decode the next frame.
    Continue,
    /// Stop: the rest of the bytes are dropped (the stream is over).
    Stop,
}

/// CRC-32 (IEEE 802.3, as zlib) tables for slicing by 8: table 0 is the
/// classic bytewise one, table k advances a byte k more positions. Built on
/// first use into zeroed memory, so the `.wasm` ships no 8 KB of data.
type CrcTables = [[u32; 256]; 8];

fn crc_tables() -> &'static CrcTables {
    static TABLES: std::sync::OnceLock<CrcTables> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let mut t = [[0u32; 256]; 8];
        for (i, slot) in (0u32..).zip(t[0].iter_mut()) {
            let mut c = i;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *slot = c;
        }
        let base = t[0];
        for k in 1..8 {
            let (done, rest) = t.split_at_mut(k);
            if let (Some(prev), Some(next)) = (done.last(), rest.first_mut()) {
                for (slot, &p) in next.iter_mut().zip(prev.iter()) {
                    *slot = (p >> 8) ^ at(&base, p as u8);
                }
            }
        }
        t
    })
}

/// Entry `i` of a table: `i` is a byte, the table has 256 entries.
fn at(table: &[u32; 256], i: u8) -> u32 {
    table.get(usize::from(i)).copied().unwrap_or(0)
}

/// CRC-32 of `bytes`, eight bytes a step.
pub fn crc32(bytes: &[u8]) -> u32 {
    let [t0, t1, t2, t3, t4, t5, t6, t7] = crc_tables();
    let mut c = !0u32;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let [a, b, d, e, f, g, h, j] = <[u8; 8]>::try_from(w).unwrap_or_default();
        let lo = u32::from_le_bytes([a, b, d, e]) ^ c;
        let [l0, l1, l2, l3] = lo.to_le_bytes();
        c = at(t7, l0)
            ^ at(t6, l1)
            ^ at(t5, l2)
            ^ at(t4, l3)
            ^ at(t3, f)
            ^ at(t2, g)
            ^ at(t1, h)
            ^ at(t0, j);
    }
    for &b in words.remainder() {
        c = at(t0, (c as u8) ^ b) ^ (c >> 8);
    }
    !c
}

/// Reads big-endian integers off the front of a slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.0.len() {
            return Err(DecodeError::Frame("header runs past the header block"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N)?;
        <[u8; N]>::try_from(bytes).map_err(|_| DecodeError::Frame("short header value"))
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    fn utf8(&mut self, n: usize) -> Result<String, DecodeError> {
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::Frame("header is not UTF-8"))
    }

    /// Skips a value of type `tag` (checking it as [`Reader::value`] would).
    fn skip_value(&mut self, tag: u8) -> Result<(), DecodeError> {
        let n = match tag {
            0 | 1 => 0,
            2 => 1,
            3 => 2,
            4 => 4,
            5 | 8 => 8,
            9 => 16,
            6 => usize::from(u16::from_be_bytes(self.array()?)),
            7 => {
                let len = usize::from(u16::from_be_bytes(self.array()?));
                std::str::from_utf8(self.take(len)?)
                    .map_err(|_| DecodeError::Frame("header is not UTF-8"))?;
                return Ok(());
            }
            _ => return Err(DecodeError::Frame("unknown header value type")),
        };
        self.take(n).map(|_| ())
    }

    fn value(&mut self) -> Result<HeaderValue, DecodeError> {
        Ok(match self.u8()? {
            0 => HeaderValue::Bool(true),
            1 => HeaderValue::Bool(false),
            2 => HeaderValue::Byte(i8::from_be_bytes(self.array()?)),
            3 => HeaderValue::Int16(i16::from_be_bytes(self.array()?)),
            4 => HeaderValue::Int32(i32::from_be_bytes(self.array()?)),
            5 => HeaderValue::Int64(i64::from_be_bytes(self.array()?)),
            6 => {
                let len = usize::from(u16::from_be_bytes(self.array()?));
                HeaderValue::Bytes(self.take(len)?.to_vec())
            }
            7 => {
                let len = usize::from(u16::from_be_bytes(self.array()?));
                HeaderValue::String(self.utf8(len)?)
            }
            8 => HeaderValue::Timestamp(i64::from_be_bytes(self.array()?)),
            9 => HeaderValue::Uuid(u128::from_be_bytes(self.array()?)),
            _ => return Err(DecodeError::Frame("unknown header value type")),
        })
    }
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, u32::from_be_bytes)
}

/// Checks one whole frame (`frame.len()` is its total length, prelude
/// checked): its message CRC and its header block.
fn decode(frame: &[u8], headers_len: usize) -> Result<FrameRef<'_>, DecodeError> {
    let crc_at = frame.len() - 4;
    let covered = frame
        .get(..crc_at)
        .ok_or(DecodeError::Frame("frame too short"))?;
    if crc32(covered) != be_u32(frame, crc_at) {
        return Err(DecodeError::Frame("message checksum mismatch"));
    }
    let header_block = covered
        .get(PRELUDE_LEN..PRELUDE_LEN + headers_len)
        .ok_or(DecodeError::Frame("headers overrun the frame"))?;
    let payload = covered
        .get(PRELUDE_LEN + headers_len..)
        .ok_or(DecodeError::Frame("headers overrun the frame"))?;
    let (mut message_type, mut event_type) = (None, None);
    let mut r = Reader(header_block);
    while !r.0.is_empty() {
        let name_len = usize::from(r.u8()?);
        if name_len >= r.0.len() {
            return Err(DecodeError::Frame("invalid header name length"));
        }
        let name = std::str::from_utf8(r.take(name_len)?)
            .map_err(|_| DecodeError::Frame("header is not UTF-8"))?;
        let tag = r.u8()?;
        if tag != 7 {
            r.skip_value(tag)?;
            continue;
        }
        let len = usize::from(u16::from_be_bytes(r.array()?));
        let value = std::str::from_utf8(r.take(len)?)
            .map_err(|_| DecodeError::Frame("header is not UTF-8"))?;
        // The first of each counts, as `header_str`'s walk finds it.
        match name {
            ":message-type" if message_type.is_none() => message_type = Some(value),
            ":event-type" if event_type.is_none() => event_type = Some(value),
            _ => {}
        }
    }
    Ok(FrameRef {
        headers: header_block,
        payload,
        message_type,
        event_type,
    })
}

/// Feeds bytes, yields frames.
#[derive(Debug)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    /// Where the next frame starts in `buf` (bytes before it are consumed).
    start: usize,
    max_buffered: usize,
}

impl FrameDecoder {
    /// A decoder that refuses frames over `max_buffered` bytes.
    pub fn new(max_buffered: usize) -> FrameDecoder {
        FrameDecoder {
            buf: Vec::new(),
            start: 0,
            max_buffered,
        }
    }

    /// Appends bytes received from upstream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The complete frame at the front of `pending`, and its length:
    /// `Ok(None)` means more bytes are needed.
    fn frame_at<'b>(
        &self,
        pending: &'b [u8],
    ) -> Result<Option<(FrameRef<'b>, usize)>, DecodeError> {
        let Some(prelude) = pending.get(..PRELUDE_LEN) else {
            return Ok(None);
        };
        let (total, headers_len) = self.check_prelude(prelude)?;
        let Some(frame) = pending.get(..total) else {
            return Ok(None);
        };
        Ok(Some((decode(frame, headers_len)?, total)))
    }

    /// Feeds `bytes` and lends each complete frame to `on_frame`, in order,
    /// until it says [`Flow::Stop`] or more bytes are needed; a decoding
    /// error is lent too, and ends the feeding. With no frame pending, frames
    /// are read from `bytes` itself: only an incomplete tail is copied.
    pub fn feed(
        &mut self,
        bytes: &[u8],
        mut on_frame: impl FnMut(Result<FrameRef<'_>, DecodeError>) -> Flow,
    ) {
        if self.buffered() > 0 {
            self.push(bytes);
            let mut used = self.start;
            let mut flow = Flow::Continue;
            while flow == Flow::Continue {
                let pending = self.buf.get(used..).unwrap_or_default();
                match self.frame_at(pending) {
                    Ok(Some((frame, len))) => {
                        used += len;
                        flow = on_frame(Ok(frame));
                    }
                    Ok(None) => break,
                    Err(e) => {
                        on_frame(Err(e));
                        flow = Flow::Stop;
                    }
                }
            }
            self.start = used;
            if flow == Flow::Stop || self.start == self.buf.len() {
                self.buf.clear();
                self.start = 0;
            }
            return;
        }
        let mut rest = bytes;
        loop {
            match self.frame_at(rest) {
                Ok(Some((frame, len))) => {
                    rest = rest.get(len..).unwrap_or_default();
                    if on_frame(Ok(frame)) == Flow::Stop {
                        return;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    on_frame(Err(e));
                    return;
                }
            }
        }
        self.push(rest);
    }

    /// The next complete frame: `Ok(None)` means more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Message>, DecodeError> {
        let pending = self.buf.get(self.start..).unwrap_or_default();
        let Some((frame, total)) = self.frame_at(pending)? else {
            return Ok(None);
        };
        let message = frame.to_message()?;
        self.start += total;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        Ok(Some(message))
    }

    /// The complete frames pushed so far, in order, until more bytes are
    /// needed; after an error it yields nothing more.
    pub fn frames(&mut self) -> Frames<'_> {
        Frames {
            decoder: self,
            failed: false,
        }
    }

    /// Checks a frame's prelude: its CRC, its lengths and the cap.
    fn check_prelude(&self, prelude: &[u8]) -> Result<(usize, usize), DecodeError> {
        if crc32(prelude.get(..8).unwrap_or_default()) != be_u32(prelude, 8) {
            return Err(DecodeError::Frame("prelude checksum mismatch"));
        }
        let total = usize::try_from(be_u32(prelude, 0)).unwrap_or(usize::MAX);
        let headers_len = usize::try_from(be_u32(prelude, 4)).unwrap_or(usize::MAX);
        if total > self.max_buffered {
            return Err(DecodeError::TooLarge(self.max_buffered));
        }
        if total < MIN_FRAME_LEN {
            return Err(DecodeError::Frame("invalid message length"));
        }
        if headers_len == 1 || headers_len > total - MIN_FRAME_LEN {
            return Err(DecodeError::Frame("invalid headers length"));
        }
        Ok((total, headers_len))
    }

    /// Bytes held for the frame being assembled.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Call at end of stream: an error if a partial frame is left.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.buffered() {
            0 => Ok(()),
            n => Err(DecodeError::Truncated(n)),
        }
    }
}

/// Iterator over a [`FrameDecoder`]'s complete frames (see [`FrameDecoder::frames`]).
#[derive(Debug)]
pub struct Frames<'a> {
    decoder: &'a mut FrameDecoder,
    failed: bool,
}

impl Iterator for Frames<'_> {
    type Item = Result<Message, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.decoder.next_frame() {
            Ok(Some(m)) => Some(Ok(m)),
            Ok(None) => None,
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }
}
