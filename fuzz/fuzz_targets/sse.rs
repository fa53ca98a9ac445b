//! The SSE writer on arbitrary JSON values and on serializers that fail.
//!
//! Input: a compact tree description read by `value` (one tag byte per node).
//! Checks: the event is exactly `data: ` + the JSON + a blank line, the data
//! line has no CR or LF, it parses back to the same value, bytes already in
//! the buffer are kept, and a failing serializer appends nothing.
#![no_main]

use bedrock_openai_filter::api::sse::{write_data, DONE};
use fuzz_support::{parse_sse, Event, Input};
use libfuzzer_sys::fuzz_target;
use serde::ser::{Error as _, Serialize, SerializeSeq, Serializer};
use serde_json::{Map, Number, Value};

fn value(input: &mut Input<'_>, depth: u32) -> Value {
    let tag = input.byte();
    match tag % 8 {
        0 => Value::Null,
        1 => Value::Bool(tag & 8 != 0),
        2 => {
            let b = input.take(8);
            let mut raw = [0u8; 8];
            raw[..b.len()].copy_from_slice(b);
            match tag & 0x18 {
                0 => Value::Number(Number::from(u64::from_le_bytes(raw))),
                8 => Value::Number(Number::from(i64::from_le_bytes(raw))),
                _ => Number::from_f64(f64::from_le_bytes(raw)).map_or(Value::Null, Value::Number),
            }
        }
        3 | 4 => Value::String(input.string()),
        5 if depth < 6 => {
            let n = input.byte() % 8;
            Value::Array((0..n).map(|_| value(input, depth + 1)).collect())
        }
        6 if depth < 6 => {
            let n = input.byte() % 8;
            let mut map = Map::new();
            for _ in 0..n {
                let k = input.string();
                map.insert(k, value(input, depth + 1));
            }
            Value::Object(map)
        }
        _ => Value::String(String::from_utf8_lossy(input.take(usize::from(tag))).into_owned()),
    }
}

/// Equal, except that floats may differ in the last digits: serde_json writes
/// the shortest exact form, but its default reader (without the
/// `float_roundtrip` feature) may round it a few ulps off.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => x == y || (x - y).abs() <= x.abs().max(y.abs()) * 1e-12,
                _ => false,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// A sequence whose element number `fail_at` refuses to serialize.
struct Failing<'a> {
    items: &'a [Value],
    fail_at: usize,
}

impl Serialize for Failing<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut seq = ser.serialize_seq(Some(self.items.len() + 1))?;
        for (i, item) in self.items.iter().enumerate() {
            if i == self.fail_at {
                return Err(S::Error::custom("refused"));
            }
            seq.serialize_element(item)?;
        }
        if self.fail_at >= self.items.len() {
            return Err(S::Error::custom("refused"));
        }
        seq.end()
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let prefix_len = usize::from(input.byte() % 4);
    let v = value(&mut input, 0);

    let mut out = Vec::new();
    write_data(&mut out, &v);
    let json = serde_json::to_vec(&v).unwrap_or_else(|e| panic!("Value does not serialize: {e}"));
    let mut expected = b"data: ".to_vec();
    expected.extend_from_slice(&json);
    expected.extend_from_slice(b"\n\n");
    assert_eq!(out, expected, "not `data: <json>\\n\\n`");
    let events = parse_sse(&out);
    assert_eq!(events.len(), 1, "one value gave {} events", events.len());
    let back = match &events[0] {
        Event::Chunk(b) | Event::Error(b) => b,
        Event::Done => panic!("a value came out as [DONE]"),
    };
    assert!(
        same(back, &v),
        "the data line does not parse back to the value: {back} vs {v}"
    );

    // Appends after what is there, and composes with [DONE].
    let mut buf = DONE[..DONE.len() * prefix_len / 4].to_vec();
    let before = buf.clone();
    write_data(&mut buf, &v);
    assert_eq!(&buf[..before.len()], &before[..]);
    assert_eq!(&buf[before.len()..], &out[..]);

    // A serializer that fails midway leaves the buffer as it was.
    let items = match &v {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    let fail_at = usize::from(input.byte()) % (items.len() + 1);
    let mut buf = before.clone();
    write_data(
        &mut buf,
        &Failing {
            items: &items,
            fail_at,
        },
    );
    assert_eq!(buf, before, "a failed write left bytes behind");
});
