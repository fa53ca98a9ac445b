//! Base64, written once: the standard alphabet (RFC 4648 §4, as Bedrock's
//! JSON carries bytes and short-term API keys are written) and the URL-safe
//! one without padding (§5, for ids that travel in JSON and URLs).

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The alphabet's character for the low six bits of `n`.
fn symbol(alphabet: &[u8; 64], n: u32) -> u8 {
    alphabet.get((n & 63) as usize).copied().unwrap_or(b'A')
}

fn encode_with(out: &mut String, data: &[u8], alphabet: &[u8; 64], pad: bool) {
    out.reserve(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        let symbols = chunk.len() + 1;
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i < symbols {
                out.push(char::from(symbol(alphabet, n >> shift)));
            } else if pad {
                out.push('=');
            }
        }
    }
}

/// Appends standard, padded base64 of `data` to `out`.
pub fn encode_into(out: &mut String, data: &[u8]) {
    encode_with(out, data, STANDARD, true);
}

/// Standard, padded base64 of `data`.
pub fn encode(data: &[u8]) -> String {
    let mut out = String::new();
    encode_into(&mut out, data);
    out
}

/// URL-safe base64 of `data`, without padding.
pub fn encode_url(data: &[u8]) -> String {
    let mut out = String::new();
    encode_with(&mut out, data, URL_SAFE, false);
    out
}

fn value(alphabet: &[u8; 64], c: u8) -> Option<u32> {
    alphabet.iter().position(|&a| a == c).map(|i| i as u32)
}

fn decode_with(text: &str, alphabet: &[u8; 64]) -> Option<Vec<u8>> {
    let data = text.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    for chunk in data.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= value(alphabet, c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        match chunk.len() {
            4 => out.extend_from_slice(bytes.get(1..4)?),
            3 => out.extend_from_slice(bytes.get(1..3)?),
            2 => out.extend_from_slice(bytes.get(1..2)?),
            _ => return None,
        }
    }
    Some(out)
}

/// Decodes standard base64 (padding optional); `None` if it is not.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    decode_with(text, STANDARD)
}

/// Decodes URL-safe base64 (padding optional); `None` if it is not.
pub fn decode_url(text: &str) -> Option<Vec<u8>> {
    decode_with(text, URL_SAFE)
}

/// The decoded length of standard, padded base64 (`None` if it is not
/// that), checked without decoding (data passed on as base64 is never
/// decoded by the gateway).
pub fn decoded_len(data: &str) -> Option<usize> {
    let bytes = data.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let padding = bytes.iter().rev().take_while(|&&b| b == b'=').count();
    if padding > 2 {
        return None;
    }
    let body = bytes.get(..bytes.len() - padding)?;
    let alphabet = |b: &u8| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/';
    if !body.iter().all(alphabet) {
        return None;
    }
    Some(bytes.len() / 4 * 3 - padding)
}

#[cfg(test)]
mod tests {
    use super::*;
    // AWS's own encoder (a dev-dependency) is the oracle.
    use aws_smithy_types::base64 as oracle;

    #[test]
    fn agrees_with_the_oracle_both_ways() {
        let mut data = Vec::new();
        for n in 0..300u32 {
            data.push((n.wrapping_mul(2_654_435_761) >> 13) as u8);
            let ours = encode(&data);
            assert_eq!(ours, oracle::encode(&data), "{n}");
            assert_eq!(decode(&ours).as_deref(), Some(&data[..]));
            assert_eq!(decoded_len(&ours), Some(data.len()));
            let url = encode_url(&data);
            assert!(!url.contains(['+', '/', '=']));
            assert_eq!(
                url,
                ours.trim_end_matches('=')
                    .replace('+', "-")
                    .replace('/', "_")
            );
            assert_eq!(decode_url(&url).as_deref(), Some(&data[..]));
        }
    }

    #[test]
    fn round_trips_and_refusals() {
        for data in [&b""[..], b"f", b"fo", b"foo", b"foob", b"fooba", b"foobar"] {
            assert_eq!(decode(&oracle::encode(data)).as_deref(), Some(data));
        }
        assert_eq!(decode("a"), None);
        assert_eq!(decode("a$=="), None);
        assert_eq!(decode_url("ab+c"), None, "not the URL-safe alphabet");
    }

    #[test]
    fn lengths_without_decoding() {
        assert_eq!(decoded_len("aGVsbG8="), Some(5));
        assert_eq!(decoded_len("aGVsbG8h"), Some(6));
        assert_eq!(decoded_len("aGVsbA=="), Some(4));
        assert_eq!(decoded_len(""), Some(0));
        assert_eq!(decoded_len("aGVsbG8"), None, "unpadded");
        assert_eq!(decoded_len("aGV=bG8="), None, "padding inside");
        assert_eq!(decoded_len("aG==="), None);
        assert_eq!(decoded_len("a==="), None);
        assert_eq!(decoded_len("aGVs bG8="), None, "space");
        assert_eq!(decoded_len("aGVs-G8="), None, "url-safe alphabet");
    }
}
