//! Base64 of a vector's little-endian float32 bytes: what OpenAI answers
//! for `encoding_format: "base64"`, and what its SDKs decode (Python:
//! `np.frombuffer(b64decode(s), dtype="float32")`; npm: a `Float32Array`
//! over `Buffer.from(s, "base64")`). Standard alphabet, padded.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn symbol(bits: u32) -> char {
    char::from(ALPHABET.get((bits & 63) as usize).copied().unwrap_or(b'A'))
}

/// Appends the base64 of `bytes` to `out`.
pub fn encode_into(bytes: &[u8], out: &mut String) {
    out.reserve(bytes.len().div_ceil(3) * 4);
    let mut chunks = bytes.chunks_exact(3);
    for c in &mut chunks {
        let n = c.iter().fold(0u32, |n, &b| (n << 8) | u32::from(b));
        for shift in [18, 12, 6, 0] {
            out.push(symbol(n >> shift));
        }
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let n = rest
            .iter()
            .chain(std::iter::repeat(&0))
            .take(3)
            .fold(0u32, |n, &b| (n << 8) | u32::from(b));
        let shown = rest.len() + 1;
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            out.push(if i < shown { symbol(n >> shift) } else { '=' });
        }
    }
}

/// The base64 of `vector`'s float32 values, each as 4 little-endian bytes.
pub fn float32_le(vector: &[f32]) -> String {
    let mut bytes = Vec::with_capacity(vector.len() * 4);
    for x in vector {
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    let mut out = String::new();
    encode_into(&bytes, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            let mut out = String::new();
            encode_into(plain.as_bytes(), &mut out);
            assert_eq!(out, coded, "{plain}");
        }
    }

    #[test]
    fn float32_little_endian() {
        // 1.0f32 = 0x3F800000 -> bytes 00 00 80 3F.
        assert_eq!(float32_le(&[1.0]), "AACAPw==");
        assert_eq!(float32_le(&[]), "");
    }
}
