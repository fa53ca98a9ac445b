//! Requests- and tokens-per-minute limits shared by every worker thread of
//! the Envoy process: one table in the module's memory, behind a mutex.
//!
//! The same fixed one-minute windows as the wasm build
//! (`src/shell/limiter.rs`, proxy-wasm shared data with compare-and-swap),
//! counted by the same functions of [`crate::policy::rate_limit`].

use crate::policy::rate_limit::{add_tokens, check_tokens, next_count, RateLimiter, TokenWindow};
use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

/// One project's windows: `(window, requests)` and `(window, tokens)`.
#[derive(Debug, Default)]
struct Windows {
    requests: Option<(u64, u32)>,
    tokens: Option<TokenWindow>,
}

/// Every project's windows, by project name, for the whole process (every
/// filter configuration and worker thread; it outlives configuration reloads
/// as proxy-wasm shared data does).
static WINDOWS: Mutex<BTreeMap<String, Windows>> = Mutex::new(BTreeMap::new());

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Runs `f` on `project`'s windows, holding the table's lock (a panic
/// elsewhere while it was held does not stop the limits: the table is
/// plain data, valid after any update).
fn with_project<T>(project: &str, f: impl FnOnce(&mut Windows) -> T) -> T {
    let mut all = WINDOWS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(windows) = all.get_mut(project) {
        return f(windows);
    }
    f(all.entry(project.to_string()).or_default())
}

/// The process side of [`RateLimiter`].
#[derive(Debug, Default, Clone, Copy)]
pub struct ProcessLimiter;

impl RateLimiter for ProcessLimiter {
    fn acquire(&mut self, project: &str, per_minute: u32) -> Result<(), u64> {
        let now = now_secs();
        with_project(project, |w| {
            w.requests = Some(next_count(w.requests, now, per_minute)?);
            Ok(())
        })
    }

    fn tokens_left(&mut self, project: &str, budget: u64) -> Result<(), u64> {
        let now = now_secs();
        with_project(project, |w| check_tokens(w.tokens, now, budget))
    }

    fn spend_tokens(&mut self, project: &str, tokens: u64) {
        let now = now_secs();
        with_project(project, |w| {
            w.tokens = Some(add_tokens(w.tokens, now, tokens))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_share_one_window() {
        let project = "limiter-test-threads";
        let admitted: u32 = std::thread::scope(|s| {
            let workers: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        (0..10)
                            .filter(|_| ProcessLimiter.acquire(project, 25).is_ok())
                            .count() as u32
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).sum()
        });
        // 40 attempts, 25 admitted in one window (or, if the minute turned
        // during the test, up to 40).
        assert!((25..=40).contains(&admitted), "{admitted}");
    }

    #[test]
    fn tokens_are_spent_and_checked() {
        let project = "limiter-test-tokens";
        assert_eq!(ProcessLimiter.tokens_left(project, 100), Ok(()));
        ProcessLimiter.spend_tokens(project, 60);
        ProcessLimiter.spend_tokens(project, 60);
        let refused = ProcessLimiter.tokens_left(project, 100);
        // Refused until the window ends (unless it just ended).
        assert!(matches!(refused, Err(1..=60) | Ok(())), "{refused:?}");
    }
}
