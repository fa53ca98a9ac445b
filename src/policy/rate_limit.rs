//! The request- and token-rate port: the core asks, the host (shared data
//! across worker threads) answers. Time and storage live on the host side.
//! Both limits count in fixed one-minute windows.

/// Admits or refuses requests of a project, by requests and by tokens per minute.
pub trait RateLimiter {
    /// Counts one request of a project limited to `per_minute`: `Ok` to
    /// admit; `Err(seconds)` to refuse, with the seconds until the window resets.
    fn acquire(&mut self, project: &str, per_minute: u32) -> Result<(), u64>;
    /// Whether the project's tokens of this minute are still below `budget`
    /// (`Err(seconds)` until the window resets when they are not).
    fn tokens_left(&mut self, project: &str, budget: u64) -> Result<(), u64>;
    /// Adds an answer's `tokens` to the project's count of this minute.
    fn spend_tokens(&mut self, project: &str, tokens: u64);
}

/// Admits everything (no host behind it: native tests, tools).
#[derive(Debug, Default, Clone, Copy)]
pub struct Unlimited;

impl RateLimiter for Unlimited {
    fn acquire(&mut self, _project: &str, _per_minute: u32) -> Result<(), u64> {
        Ok(())
    }
    fn tokens_left(&mut self, _project: &str, _budget: u64) -> Result<(), u64> {
        Ok(())
    }
    fn spend_tokens(&mut self, _project: &str, _tokens: u64) {}
}

/// A token window as stored: `(window, tokens)`.
pub type TokenWindow = (u64, u64);

/// What `stored` counted in the window of `now_secs` (nothing once that window has passed).
fn in_window<T: Default>(stored: Option<(u64, T)>, now_secs: u64) -> T {
    match stored {
        Some((w, n)) if w == now_secs / 60 => n,
        _ => T::default(),
    }
}

/// The tokens counted in the current window of `stored` at `now_secs`.
pub fn tokens_in_window(stored: Option<TokenWindow>, now_secs: u64) -> u64 {
    in_window(stored, now_secs)
}

/// `Err(retry_after)` once the window's tokens reached `budget`.
pub fn check_tokens(stored: Option<TokenWindow>, now_secs: u64, budget: u64) -> Result<(), u64> {
    if tokens_in_window(stored, now_secs) >= budget {
        return Err(60 - now_secs % 60);
    }
    Ok(())
}

/// The window after spending `tokens` at `now_secs`.
pub fn add_tokens(stored: Option<TokenWindow>, now_secs: u64, tokens: u64) -> TokenWindow {
    (
        now_secs / 60,
        tokens_in_window(stored, now_secs).saturating_add(tokens),
    )
}

/// Encodes a token window as 16 bytes (window u64 LE, tokens u64 LE).
pub fn encode_tokens(state: TokenWindow) -> [u8; 16] {
    let mut out = [0u8; 16];
    let (w, t) = out.split_at_mut(8);
    w.copy_from_slice(&state.0.to_le_bytes());
    t.copy_from_slice(&state.1.to_le_bytes());
    out
}

/// Decodes [`encode_tokens`]'s bytes; anything else counts as no state.
pub fn decode_tokens(bytes: &[u8]) -> Option<TokenWindow> {
    let w = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    let t = u64::from_le_bytes(bytes.get(8..16)?.try_into().ok()?);
    Some((w, t))
}

/// The fixed-window counter both the host limiter and tests use: `(window, count)`.
///
/// Returns the new state to store, or `Err(retry_after)` when the window is full.
pub fn next_count(
    stored: Option<(u64, u32)>,
    now_secs: u64,
    per_minute: u32,
) -> Result<(u64, u32), u64> {
    let count = in_window(stored, now_secs);
    if count >= per_minute {
        return Err(60 - now_secs % 60);
    }
    Ok((now_secs / 60, count + 1))
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

    #[test]
    fn token_window() {
        let s = add_tokens(None, 125, 700);
        assert_eq!(s, (2, 700));
        assert_eq!(check_tokens(Some(s), 130, 1000), Ok(()));
        let s = add_tokens(Some(s), 140, 400);
        assert_eq!(s, (2, 1100));
        assert_eq!(check_tokens(Some(s), 150, 1000), Err(30));
        assert_eq!(
            check_tokens(Some(s), 180, 1000),
            Ok(()),
            "the next minute starts over"
        );
        assert_eq!(add_tokens(Some(s), 185, 5), (3, 5));
        assert_eq!(
            decode_tokens(&encode_tokens((3, u64::MAX))),
            Some((3, u64::MAX))
        );
        assert_eq!(decode_tokens(&[0; 12]), None);
    }
}
