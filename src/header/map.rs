//! The proxy-wasm header map format: a whole header map in one buffer,
//! read by borrowing and written in one piece.

fn utf8_or_replacement(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or("\u{FFFD}")
}

/// Reads a header map in the proxy-wasm format (`u32` count, then `u32`
/// name and value lengths, then each name and value NUL-terminated, all
/// little-endian), borrowing every name and value from `data`. A name or
/// value that is not UTF-8 reads as U+FFFD: it matches no header the filter
/// looks for. A truncated map yields the pairs before the cut.
pub fn parse_map(data: &[u8]) -> Vec<(&str, &str)> {
    let word = |at: usize| {
        data.get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(0, |b| u32::from_le_bytes(b) as usize)
    };
    let count = word(0);
    let mut pairs = Vec::with_capacity(count.min(256));
    let mut at = count.saturating_mul(8).saturating_add(4);
    for i in 0..count {
        let slot = i.saturating_mul(8);
        let (k, v) = (word(slot.saturating_add(4)), word(slot.saturating_add(8)));
        let (Some(name), Some(value)) = (
            data.get(at..at.saturating_add(k)),
            data.get(at.saturating_add(k + 1)..at.saturating_add(k + 1 + v)),
        ) else {
            break;
        };
        pairs.push((utf8_or_replacement(name), utf8_or_replacement(value)));
        at = at.saturating_add(k + v + 2);
    }
    pairs
}

/// Writes `pairs` in the proxy-wasm header map format (see [`parse_map`]).
pub fn serialize_map<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> Vec<u8> {
    let size: usize = pairs
        .iter()
        .map(|(k, v)| k.as_ref().len() + v.as_ref().len() + 10)
        .sum();
    let mut map = Vec::with_capacity(size + 4);
    let len = |n: usize| u32::try_from(n).unwrap_or(0).to_le_bytes();
    map.extend_from_slice(&len(pairs.len()));
    for (k, v) in pairs {
        map.extend_from_slice(&len(k.as_ref().len()));
        map.extend_from_slice(&len(v.as_ref().len()));
    }
    for (k, v) in pairs {
        map.extend_from_slice(k.as_ref().as_bytes());
        map.push(0);
        map.extend_from_slice(v.as_ref().as_bytes());
        map.push(0);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_round_trip_and_borrow() {
        let pairs = [
            (":path", "/v1/amazon-bedrock/chat/completions"),
            ("x-empty", ""),
            ("", "v"),
        ];
        let wire = serialize_map(&pairs);
        assert_eq!(parse_map(&wire), pairs.to_vec());
        assert_eq!(parse_map(&serialize_map::<&str, &str>(&[])), vec![]);
    }

    #[test]
    fn non_utf8_reads_as_replacement_and_truncation_stops() {
        let mut wire = serialize_map(&[("a", "xx"), ("b", "yy")]);
        // The map's text is "a\0xx\0b\0yy\0": cut inside the second name,
        // and spoil the second value.
        let at = wire.len() - 6;
        let second_value = wire.len() - 3;
        wire[second_value] = 0xFF;
        assert_eq!(parse_map(&wire), vec![("a", "xx"), ("b", "\u{FFFD}")]);
        assert_eq!(parse_map(&wire[..at]), vec![("a", "xx")]);
        assert_eq!(parse_map(&[0xFF, 0xFF, 0xFF, 0xFF]), vec![]);
        assert_eq!(parse_map(&[]), vec![]);
    }
}
