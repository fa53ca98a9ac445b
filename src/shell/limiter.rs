//! Requests- and tokens-per-minute limits shared by every worker thread of
//! one Envoy, through proxy-wasm shared data with compare-and-swap.

use crate::policy::rate_limit::{
    add_tokens, check_tokens, decode, decode_tokens, encode, encode_tokens, next_count, RateLimiter,
};
use proxy_wasm::hostcalls;
use proxy_wasm::types::Status;
use std::time::{SystemTime, UNIX_EPOCH};

/// CAS retries before giving up (then the request is admitted: fail open on contention).
const MAX_ATTEMPTS: usize = 16;

fn key(project: &str) -> String {
    format!("bedrock-openai-filter/rpm/{project}")
}

fn token_key(project: &str) -> String {
    format!("bedrock-openai-filter/tpm/{project}")
}

fn now_secs() -> u64 {
    hostcalls::get_current_time()
        .unwrap_or_else(|_| SystemTime::now())
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Creates the project's counters if no worker has yet, so that every later
/// update is a compare-and-swap (a first write without CAS could be lost).
pub fn init(project: &str) {
    let key = key(project);
    if let Ok((None, _)) = hostcalls::get_shared_data(&key) {
        let _ = hostcalls::set_shared_data(&key, Some(&encode((0, 0))), None);
    }
    let key = token_key(project);
    if let Ok((None, _)) = hostcalls::get_shared_data(&key) {
        let _ = hostcalls::set_shared_data(&key, Some(&encode_tokens((0, 0))), None);
    }
}

/// The host side of [`RateLimiter`].
#[derive(Debug, Default)]
pub struct SharedLimiter;

impl RateLimiter for SharedLimiter {
    fn acquire(&mut self, project: &str, per_minute: u32) -> Result<(), u64> {
        let key = key(project);
        let now = now_secs();
        for _ in 0..MAX_ATTEMPTS {
            let Ok((data, cas)) = hostcalls::get_shared_data(&key) else {
                return Ok(());
            };
            let next = next_count(data.as_deref().and_then(decode), now, per_minute)?;
            match hostcalls::set_shared_data(&key, Some(&encode(next)), cas) {
                Ok(()) => return Ok(()),
                Err(Status::CasMismatch) => continue,
                Err(_) => return Ok(()),
            }
        }
        Ok(())
    }

    fn tokens_left(&mut self, project: &str, budget: u64) -> Result<(), u64> {
        match hostcalls::get_shared_data(&token_key(project)) {
            Ok((data, _)) => {
                check_tokens(data.as_deref().and_then(decode_tokens), now_secs(), budget)
            }
            Err(_) => Ok(()),
        }
    }

    fn spend_tokens(&mut self, project: &str, tokens: u64) {
        let key = token_key(project);
        let now = now_secs();
        for _ in 0..MAX_ATTEMPTS {
            let Ok((data, cas)) = hostcalls::get_shared_data(&key) else {
                return;
            };
            let next = add_tokens(data.as_deref().and_then(decode_tokens), now, tokens);
            match hostcalls::set_shared_data(&key, Some(&encode_tokens(next)), cas) {
                Err(Status::CasMismatch) => continue,
                _ => return,
            }
        }
    }
}
