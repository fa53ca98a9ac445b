//! CRC-32 (IEEE 802.3, as zlib computes it), the checksum of every
//! event-stream prelude and frame, eight bytes a step.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }
}
