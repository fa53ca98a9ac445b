//! Event-stream decoding on raw bytes in arbitrary chunkings.
//!
//! Input: `[flags][plan len][plan…][stream bytes…]`. `flags` bit 0:
//! include_usage; bits 1-3 pick the buffer cap. The same bytes go through
//! `FrameDecoder` and `StreamTranslator` whole, split by the plan, and (when
//! short) one byte at a time; every way must give the same frames and the
//! same SSE bytes, and the SSE must be a well-formed, closed answer.
#![no_main]

use bedrock_openai_filter::bedrock::eventstream::{DecodeError, Frame, FrameDecoder};
use fuzz_support::{check_chunking, chunks, Input};
use libfuzzer_sys::fuzz_target;

const CAPS: [usize; 8] = [1024 * 1024, 16, 64, 100, 256, 1024, 4096, 65536];

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let flags = input.byte();
    let plan_len = usize::from(input.byte());
    let plan = input.take(plan_len).to_vec();
    let bytes = input.rest();
    let cap = CAPS[usize::from(flags >> 1) % CAPS.len()];

    let reference = decode(&[bytes], cap);
    let split = chunks(bytes, &plan);
    assert_eq!(
        decode(&split, cap),
        reference,
        "frames depend on the chunking"
    );
    if bytes.len() <= 2048 {
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(
            decode(&singles, cap),
            reference,
            "frames depend on the chunking"
        );
    }
    check_chunking(bytes, &plan, cap, flags & 1 != 0);
});

/// Frames until the first error, then that error (or the end-of-stream verdict).
fn decode(pieces: &[&[u8]], cap: usize) -> (Vec<Frame>, Result<(), DecodeError>) {
    let mut dec = FrameDecoder::new(cap);
    let mut frames = Vec::new();
    for piece in pieces {
        dec.push(piece);
        for frame in dec.frames() {
            match frame {
                Ok(m) => frames.push(m),
                Err(e) => return (frames, Err(e)),
            }
        }
        assert!(
            dec.buffered() <= cap,
            "{} bytes buffered over cap {cap}",
            dec.buffered()
        );
    }
    let end = dec.finish();
    (frames, end)
}
