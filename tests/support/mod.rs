//! Helpers shared by the integration tests (each test file is its own crate
//! and includes this module with `mod support;`).
#![allow(dead_code)]

/// xorshift64*: a small deterministic generator, so differential tests are
/// reproducible from their seed.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A size in `0..n`.
    pub fn size(&mut self, n: usize) -> usize {
        usize::try_from(self.below(n as u64)).unwrap_or(0)
    }

    /// One of `items`.
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.size(items.len())]
    }

    /// `min..=max` characters drawn from `alphabet`.
    pub fn text(&mut self, alphabet: &[u8], min: usize, max: usize) -> String {
        let len = min + self.size(max - min + 1);
        (0..len)
            .map(|_| alphabet[self.size(alphabet.len())] as char)
            .collect()
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}
