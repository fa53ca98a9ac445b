//! What the filter does with secrets (project keys, AWS secrets): it keeps
//! their SHA-256 digests, compares digests in constant time, and redacts
//! secrets from any text that could reach a caller.

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

/// `text` with every secret (of 4 bytes or more) replaced by `[redacted]`.
pub fn redact(mut text: String, secrets: &[&str]) -> String {
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        if text.contains(*s) {
            text = text.replace(*s, "[redacted]");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_compare_and_secrets_redact() {
        assert!(same_digest(&digest(b"a"), &digest(b"a")));
        assert!(!same_digest(&digest(b"a"), &digest(b"b")));
        assert_eq!(
            redact("key AKIA1234 and abc".into(), &["AKIA1234", "abc"]),
            "key [redacted] and abc"
        );
    }
}
