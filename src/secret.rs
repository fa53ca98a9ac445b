//! What the filter does with secrets (project keys, AWS secrets): it keeps
//! their SHA-256 digests, compares digests in constant time, and redacts
//! secrets from any text that could reach a caller, knowing only hashes of
//! them, so that nothing past the request phase holds a credential.

use sha2::{Digest, Sha256};

/// The SHA-256 digest of `secret`.
pub fn digest(secret: &[u8]) -> [u8; 32] {
    Sha256::digest(secret).into()
}

/// Constant-time equality of two digests: the time taken does not depend on
/// where they differ.
pub fn same_digest(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// A key the configuration gives the filter (e.g. the one that checks
/// Responses item ids): shared cheaply, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Key(std::rc::Rc<[u8]>);

impl Key {
    /// A key of `bytes`.
    pub fn new(bytes: &[u8]) -> Key {
        Key(bytes.into())
    }

    /// The key's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key([redacted])")
    }
}

/// The shortest secret redacted: shorter strings would match ordinary text.
pub const MIN_REDACTED_LEN: usize = 4;

/// The bases of the two rolling hashes that recognize a secret in a text.
const BASES: [u64; 2] = [0x100_0000_01b3, 0x9e37_79b9_7f4a_7c15];

/// One secret as the redactor knows it: its length and two 64-bit rolling
/// hashes of it. They recognize the secret in a text (a false match, one
/// in 2^128, would only redact a few harmless characters) and cannot give
/// it back: a 40-character secret has far more than 128 bits.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Known {
    len: usize,
    hashes: [u64; 2],
}

/// Removes known secrets from text, holding only what recognizes them (each
/// secret's length and two rolling hashes of it): made where the credentials are (the request phase), kept
/// where an upstream answer may echo them (the answer phase). Making one
/// costs a multiply-add per byte of each secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Redactor(Vec<Known>);

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.0.len())
    }
}

fn rolling(bytes: &[u8], base: u64) -> u64 {
    bytes.iter().fold(0u64, |h, &b| {
        h.wrapping_mul(base).wrapping_add(u64::from(b))
    })
}

impl Redactor {
    /// A redactor for `secrets` (those shorter than [`MIN_REDACTED_LEN`] are ignored).
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Redactor {
        Redactor(
            secrets
                .into_iter()
                .filter(|s| s.len() >= MIN_REDACTED_LEN)
                .map(|s| Known {
                    len: s.len(),
                    hashes: BASES.map(|b| rolling(s.as_bytes(), b)),
                })
                .collect(),
        )
    }

    /// `text` with every occurrence of a known secret replaced by `[redacted]`.
    pub fn redact(&self, mut text: String) -> String {
        for known in &self.0 {
            text = redact_one(text, known);
        }
        text
    }
}

/// Replaces each occurrence of `known` in `text`: one pass of two rolling
/// hashes over the text's windows of its length.
fn redact_one(text: String, known: &Known) -> String {
    let bytes = text.as_bytes();
    let len = known.len;
    let Some(first) = bytes.get(..len) else {
        return text;
    };
    // BASE^(len-1), to take the outgoing byte off each hash.
    let tops = BASES.map(|b| (1..len).fold(1u64, |p, _| p.wrapping_mul(b)));
    let mut h = BASES.map(|b| rolling(first, b));
    let mut hits: Vec<usize> = Vec::new();
    let mut at = 0;
    loop {
        if h == known.hashes && hits.last().is_none_or(|&last| at >= last + len) {
            hits.push(at);
        }
        let (Some(&out), Some(&inn)) = (bytes.get(at), bytes.get(at + len)) else {
            break;
        };
        for ((h, top), base) in h.iter_mut().zip(tops).zip(BASES) {
            *h = h
                .wrapping_sub(u64::from(out).wrapping_mul(top))
                .wrapping_mul(base)
                .wrapping_add(u64::from(inn));
        }
        at += 1;
    }
    if hits.is_empty() {
        return text;
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut from = 0;
    for at in hits {
        out.extend_from_slice(bytes.get(from..at).unwrap_or_default());
        out.extend_from_slice(b"[redacted]");
        from = at + len;
    }
    out.extend_from_slice(bytes.get(from..).unwrap_or_default());
    // Whole secrets (valid UTF-8 themselves) were cut out of valid UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_compare_and_secrets_redact() {
        assert!(same_digest(&digest(b"a"), &digest(b"a")));
        assert!(!same_digest(&digest(b"a"), &digest(b"b")));
        let r = Redactor::new(["AKIA1234", "abc"]);
        assert_eq!(
            r.redact("key AKIA1234 and abc".into()),
            "key [redacted] and abc"
        );
    }

    #[test]
    fn every_occurrence_anywhere_is_redacted() {
        let r = Redactor::new(["s3cr3t", "AKIDEXAMPLE"]);
        assert_eq!(
            r.redact("s3cr3ts3cr3t AKIDEXAMPLE é s3cr3t".into()),
            "[redacted][redacted] [redacted] é [redacted]"
        );
        assert_eq!(r.redact("s3cr3".into()), "s3cr3");
        assert_eq!(r.redact(String::new()), "");
        assert_eq!(format!("{r:?}"), "Redactor(2 secrets)");
    }

    #[test]
    fn agrees_with_plain_replacement() {
        // Overlapping candidates and multibyte text: the rolling hash finds
        // exactly what `str::replace` does.
        let secret = "aXaXa";
        let r = Redactor::new([secret]);
        for text in ["aXaXaXaXa", "éaXaXaé", "aXaX", "xxaXaXaXaXaXaXa"] {
            assert_eq!(
                r.redact(text.into()),
                text.replace(secret, "[redacted]"),
                "{text}"
            );
        }
    }
}
