//! The request-rate port: the core asks, the host (shared data across worker
//! threads) answers. Time and storage live on the host side.

/// Admits or refuses one request of a project limited to `per_minute`.
pub trait RateLimiter {
    /// `Ok` to admit; `Err(seconds)` to refuse, with the seconds until the window resets.
    fn acquire(&mut self, project: &str, per_minute: u32) -> Result<(), u64>;
}

/// Admits everything (no host behind it: native tests, tools).
#[derive(Debug, Default, Clone, Copy)]
pub struct Unlimited;

impl RateLimiter for Unlimited {
    fn acquire(&mut self, _project: &str, _per_minute: u32) -> Result<(), u64> {
        Ok(())
    }
}

/// The fixed-window counter both the host limiter and tests use: `(window, count)`.
///
/// Returns the new state to store, or `Err(retry_after)` when the window is full.
pub fn next_count(
    stored: Option<(u64, u32)>,
    now_secs: u64,
    per_minute: u32,
) -> Result<(u64, u32), u64> {
    let window = now_secs / 60;
    let count = match stored {
        Some((w, c)) if w == window => c,
        _ => 0,
    };
    if count >= per_minute {
        return Err(60 - now_secs % 60);
    }
    Ok((window, count + 1))
}

/// Encodes a window state as 12 bytes (window u64 LE, count u32 LE).
pub fn encode(state: (u64, u32)) -> [u8; 12] {
    let mut out = [0u8; 12];
    let (w, c) = out.split_at_mut(8);
    w.copy_from_slice(&state.0.to_le_bytes());
    c.copy_from_slice(&state.1.to_le_bytes());
    out
}

/// Decodes [`encode`]'s bytes; anything else counts as no state.
pub fn decode(bytes: &[u8]) -> Option<(u64, u32)> {
    let w = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    let c = u32::from_le_bytes(bytes.get(8..12)?.try_into().ok()?);
    Some((w, c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_window() {
        let mut state = None;
        for _ in 0..3 {
            state = Some(next_count(state, 120, 3).unwrap());
        }
        assert_eq!(next_count(state, 150, 3), Err(30));
        assert_eq!(
            next_count(state, 180, 3),
            Ok((3, 1)),
            "a new minute starts over"
        );
        assert_eq!(decode(&encode((7, 9))), Some((7, 9)));
        assert_eq!(decode(b"short"), None);
    }
}
