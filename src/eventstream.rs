//! Incremental `application/vnd.amazon.eventstream` decoding (sans-IO).
//!
//! Bytes go in as they arrive; complete frames come out, both CRCs checked by
//! `aws-smithy-eventstream`. Only the bytes of one incomplete frame are kept,
//! and never more than the cap.

use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
use aws_smithy_types::event_stream::Message;
use bytes::BytesMut;

/// Default cap on buffered bytes: far above any Bedrock frame.
pub const DEFAULT_MAX_BUFFERED: usize = 1024 * 1024;

/// Length of a frame's prelude: total length, headers length, prelude CRC.
const PRELUDE_LEN: usize = 12;

/// Why the byte stream is not a valid event stream.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// A frame is malformed or a CRC does not match.
    #[error("malformed event-stream frame: {0}")]
    Frame(String),
    /// An incomplete frame grew past the cap.
    #[error("event-stream frame larger than {0} bytes")]
    TooLarge(usize),
    /// The stream ended inside a frame.
    #[error("event stream ended inside a frame ({0} bytes left over)")]
    Truncated(usize),
}

/// Feeds bytes, yields frames.
#[derive(Debug)]
pub struct FrameDecoder {
    buf: BytesMut,
    inner: MessageFrameDecoder,
    /// Bytes of the current frame already consumed by `inner` (its prelude).
    in_frame: usize,
    max_buffered: usize,
}

impl FrameDecoder {
    /// A decoder that refuses frames over `max_buffered` bytes.
    pub fn new(max_buffered: usize) -> FrameDecoder {
        FrameDecoder {
            buf: BytesMut::new(),
            inner: MessageFrameDecoder::new(),
            in_frame: 0,
            max_buffered,
        }
    }

    /// Appends bytes received from upstream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame: `Ok(None)` means more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Message>, DecodeError> {
        if self.in_frame == 0 {
            self.check_prelude()?;
        }
        let before = self.buf.len();
        let result = self.inner.decode_frame(&mut self.buf);
        self.in_frame += before - self.buf.len();
        match result {
            Ok(DecodedFrame::Complete(m)) => {
                self.in_frame = 0;
                Ok(Some(m))
            }
            Ok(DecodedFrame::Incomplete) => {
                if self.buffered() > self.max_buffered {
                    Err(DecodeError::TooLarge(self.max_buffered))
                } else {
                    Ok(None)
                }
            }
            Err(e) => Err(DecodeError::Frame(e.to_string())),
        }
    }

    /// Checks a new frame's prelude as soon as it is here, so that garbage or
    /// an absurd length fails at once instead of being buffered up to the cap.
    fn check_prelude(&self) -> Result<(), DecodeError> {
        let Some(prelude) = self.buf.get(..PRELUDE_LEN) else {
            return Ok(());
        };
        let word = |at: usize| {
            prelude
                .get(at..at + 4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map_or(0, u32::from_be_bytes)
        };
        if crc32fast::hash(prelude.get(..8).unwrap_or_default()) != word(8) {
            return Err(DecodeError::Frame("prelude checksum mismatch".into()));
        }
        let total = usize::try_from(word(0)).unwrap_or(usize::MAX);
        if total > self.max_buffered {
            return Err(DecodeError::TooLarge(self.max_buffered));
        }
        Ok(())
    }

    /// Bytes held for the frame being assembled.
    pub fn buffered(&self) -> usize {
        self.in_frame + self.buf.len()
    }

    /// Call at end of stream: an error if a partial frame is left.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.buffered() {
            0 => Ok(()),
            n => Err(DecodeError::Truncated(n)),
        }
    }
}

/// The string value of header `name`, if present and a string.
pub fn header_str<'a>(message: &'a Message, name: &str) -> Option<&'a str> {
    message
        .headers()
        .iter()
        .find(|h| h.name().as_str() == name)
        .and_then(|h| h.value().as_string().ok())
        .map(|s| s.as_str())
}
