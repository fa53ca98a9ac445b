//! Differential test of our event-stream decoder against AWS's own
//! `aws-smithy-eventstream` (a dev-dependency only: the oracle).
//!
//! Pseudo-random streams (fixed seed) of valid frames with every header type,
//! then the same streams damaged (bit flips, cuts, inserted garbage), fed to
//! both decoders in random chunkings: both must yield the same frames and
//! agree on whether the stream ended cleanly. (Where they fail is allowed to
//! differ: ours refuses a bad prelude at once, the oracle once the whole
//! claimed frame has arrived.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use aws_smithy_eventstream::frame::{write_message_to, DecodedFrame, MessageFrameDecoder};
use aws_smithy_types::event_stream::{Header, HeaderValue as AwsValue, Message as AwsMessage};
use aws_smithy_types::DateTime;
use bedrock_openai_filter::bedrock::eventstream::{Flow, Frame, FrameDecoder, HeaderValue};
use bytes::BytesMut;

mod support;
use support::Rng;

const CAP: usize = 16 * 1024 * 1024;

fn random_value(rng: &mut Rng) -> AwsValue {
    match rng.below(10) {
        0 => AwsValue::Bool(true),
        1 => AwsValue::Bool(false),
        2 => AwsValue::Byte(rng.next() as i8),
        3 => AwsValue::Int16(rng.next() as i16),
        4 => AwsValue::Int32(rng.next() as i32),
        5 => AwsValue::Int64(rng.next() as i64),
        6 => {
            let len = rng.size(40);
            AwsValue::ByteArray(rng.bytes(len).into())
        }
        7 => AwsValue::String(rng.text(b"abc:-/ \xc3", 0, 40).into()),
        8 => AwsValue::Timestamp(DateTime::from_millis((rng.next() >> 20) as i64 - (1 << 42))),
        _ => AwsValue::Uuid(u128::from(rng.next()) << 64 | u128::from(rng.next())),
    }
}

fn random_frame(rng: &mut Rng) -> Vec<u8> {
    let len = rng.size(300);
    let mut m = AwsMessage::new(rng.bytes(len));
    for _ in 0..rng.size(6) {
        let name = rng.text(b":abcdefghij-", 0, 20);
        m = m.add_header(Header::new(name, random_value(rng)));
    }
    let mut out = Vec::new();
    write_message_to(&m, &mut out).unwrap();
    out
}

fn convert(m: &AwsMessage) -> Frame {
    let headers = m
        .headers()
        .iter()
        .map(|h| {
            let v = match h.value() {
                AwsValue::Bool(b) => HeaderValue::Bool(*b),
                AwsValue::Byte(b) => HeaderValue::Byte(*b),
                AwsValue::Int16(n) => HeaderValue::Int16(*n),
                AwsValue::Int32(n) => HeaderValue::Int32(*n),
                AwsValue::Int64(n) => HeaderValue::Int64(*n),
                AwsValue::ByteArray(b) => HeaderValue::Bytes(b.to_vec()),
                AwsValue::String(s) => HeaderValue::String(s.as_str().to_string()),
                AwsValue::Timestamp(t) => HeaderValue::Timestamp(t.to_millis().unwrap()),
                AwsValue::Uuid(u) => HeaderValue::Uuid(*u),
                other => panic!("unexpected header value {other:?}"),
            };
            (h.name().as_str().to_string(), v)
        })
        .collect();
    Frame {
        headers,
        payload: m.payload().to_vec(),
    }
}

/// Frames, then whether the stream ended cleanly (no error, nothing left over).
type Outcome = (Vec<Frame>, bool);

fn ours(pieces: &[&[u8]]) -> Outcome {
    let mut dec = FrameDecoder::new(CAP);
    let mut frames = Vec::new();
    for piece in pieces {
        dec.push(piece);
        for frame in dec.frames() {
            match frame {
                Ok(m) => frames.push(m),
                Err(_) => return (frames, false),
            }
        }
    }
    (frames, dec.finish().is_ok())
}

/// The streaming path: frames lent by `feed`, straight from the pieces when none is pending.
fn ours_lent(pieces: &[&[u8]]) -> Outcome {
    let mut dec = FrameDecoder::new(CAP);
    let mut frames = Vec::new();
    let mut failed = false;
    for piece in pieces {
        dec.feed(piece, |frame| match frame.and_then(|f| f.to_frame()) {
            Ok(m) => {
                frames.push(m);
                Flow::Continue
            }
            Err(_) => {
                failed = true;
                Flow::Stop
            }
        });
        if failed {
            return (frames, false);
        }
    }
    (frames, dec.finish().is_ok())
}

fn oracle(pieces: &[&[u8]]) -> Outcome {
    let mut dec = MessageFrameDecoder::new();
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut mid_frame = false;
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            let before = buf.len();
            match dec.decode_frame(&mut buf) {
                Ok(DecodedFrame::Complete(m)) => {
                    frames.push(convert(&m));
                    mid_frame = false;
                }
                Ok(DecodedFrame::Incomplete) => {
                    mid_frame |= buf.len() < before;
                    break;
                }
                Err(_) => return (frames, false),
            }
        }
    }
    (frames, !mid_frame && buf.is_empty())
}

fn chunked<'a>(rng: &mut Rng, bytes: &'a [u8]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = 1 + rng.size(rest.len().min(64));
        let (head, tail) = rest.split_at(n);
        pieces.push(head);
        rest = tail;
    }
    pieces
}

#[test]
fn agrees_with_aws_smithy_eventstream() {
    let mut rng = Rng(0xE7E5_7BEA_4001);
    let (mut clean, mut damaged) = (0, 0);
    for i in 0..3000 {
        let mut stream = Vec::new();
        for _ in 0..1 + rng.size(4) {
            stream.extend(random_frame(&mut rng));
        }
        match rng.below(5) {
            0 => {}
            1 => {
                let at = rng.size(stream.len());
                stream[at] ^= 1 << rng.below(8);
            }
            2 => {
                let at = rng.size(stream.len());
                stream.truncate(at);
            }
            3 => {
                let at = rng.size(stream.len());
                let junk_len = 1 + rng.size(20);
                let junk = rng.bytes(junk_len);
                stream.splice(at..at, junk);
            }
            _ => {
                // A damaged length field with a recomputed, valid prelude CRC.
                let at = rng.size(8);
                stream[at] ^= 1 << rng.below(8);
                let crc = bedrock_openai_filter::bedrock::eventstream::crc32(&stream[..8]);
                stream[8..12].copy_from_slice(&crc.to_be_bytes());
            }
        }
        let want = oracle(&[&stream]);
        assert_eq!(ours(&[&stream]), want, "stream {i}, whole");
        assert_eq!(ours_lent(&[&stream]), want, "stream {i}, whole, lent");
        let pieces = chunked(&mut rng, &stream);
        assert_eq!(ours(&pieces), want, "stream {i}, chunked");
        assert_eq!(ours_lent(&pieces), want, "stream {i}, chunked, lent");
        assert_eq!(oracle(&pieces), want, "stream {i}: the oracle itself");
        if want.1 {
            clean += 1;
        } else {
            damaged += 1;
        }
    }
    // Both kinds were exercised.
    assert!(
        clean > 500 && damaged > 500,
        "{clean} clean, {damaged} damaged"
    );
}
