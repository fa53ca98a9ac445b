//! One event-stream frame: its prelude and CRCs checked, its typed headers
//! read, lent as a [`FrameRef`] or owned as a [`Frame`].

use super::crc32::crc32;

/// Length of a frame's prelude: total length, headers length, prelude CRC.
pub(super) const PRELUDE_LEN: usize = 12;
/// Prelude plus the trailing message CRC: the smallest possible frame.
pub(super) const MIN_FRAME_LEN: usize = PRELUDE_LEN + 4;

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
pub struct Frame {
    /// Headers in wire order.
    pub headers: Vec<(String, HeaderValue)>,
    /// The payload bytes.
    pub payload: Vec<u8>,
}

impl Frame {
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

    /// The frame as an owned [`Frame`].
    pub fn to_frame(&self) -> Result<Frame, DecodeError> {
        let mut headers = Vec::new();
        let mut r = Reader(self.headers);
        while !r.0.is_empty() {
            let name_len = usize::from(r.u8()?);
            let name = r.utf8(name_len)?;
            headers.push((name, r.value()?));
        }
        Ok(Frame {
            headers,
            payload: self.payload.to_vec(),
        })
    }
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

/// The big-endian `u32` at `at` in `bytes` (0 when out of range).
pub(super) fn be_u32(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, u32::from_be_bytes)
}

/// Checks one whole frame (`frame.len()` is its total length, prelude
/// checked): its message CRC and its header block.
pub(super) fn decode(frame: &[u8], headers_len: usize) -> Result<FrameRef<'_>, DecodeError> {
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
