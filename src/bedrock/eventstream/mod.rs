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
//! gives owned [`Frame`]s (the tests and fuzz targets compare those).
//!
//! The frame format (prelude, typed headers, payload, CRC-32s) is small and
//! fixed, so it is decoded here rather than with `aws-smithy-eventstream`,
//! whose decoder brought `bytes`, `aws-smithy-types` and a 16 KB CRC table
//! into the `.wasm` (about 35 KB in all). That crate stays the oracle: the
//! tests and the `eventstream` fuzz target check that both decoders accept
//! and refuse the same bytes and yield the same frames.

/// Default cap on buffered bytes: far above any Bedrock frame.
pub const DEFAULT_MAX_BUFFERED: usize = 1024 * 1024;

mod crc32;
mod frame;

pub use crc32::crc32;
use frame::{be_u32, decode, MIN_FRAME_LEN, PRELUDE_LEN};
pub use frame::{DecodeError, Frame, FrameRef, HeaderValue};

/// Whether [`FrameDecoder::feed`] goes on after a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Decode the next frame.
    Continue,
    /// Stop: the rest of the bytes are dropped (the stream is over).
    Stop,
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
    pub fn next_frame(&mut self) -> Result<Option<Frame>, DecodeError> {
        let pending = self.buf.get(self.start..).unwrap_or_default();
        let Some((frame, total)) = self.frame_at(pending)? else {
            return Ok(None);
        };
        let message = frame.to_frame()?;
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
    type Item = Result<Frame, DecodeError>;

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
