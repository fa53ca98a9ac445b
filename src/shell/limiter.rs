//! Requests- and tokens-per-minute limits shared by every worker thread of
//! one Envoy, through proxy-wasm shared data with compare-and-swap.

use crate::policy::rate_limit::{
    add_tokens, check_tokens, decode, decode_tokens, encode, encode_tokens, next_count, RateLimiter,
};
use proxy_wasm::hostcalls;
use proxy_wasm::types::Status;
use std::convert::Infallible;
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
    create(&key(project), &encode((0, 0)));
    create(&token_key(project), &encode_tokens((0, 0)));
}

fn create(key: &str, initial: &[u8]) {
    if let Ok((None, _)) = hostcalls::get_shared_data(key) {
        let _ = hostcalls::set_shared_data(key, Some(initial), None);
    }
}

/// Reads the shared data under `key`, and stores what `next` makes of it
/// with compare-and-swap, again while another worker's write wins (at most
/// `MAX_ATTEMPTS` times). `next`'s `Err` stores nothing and is returned. A
/// host that fails to read or write stores nothing: the limit admits.
fn update<const N: usize, E>(
    key: &str,
    mut next: impl FnMut(Option<&[u8]>) -> Result<[u8; N], E>,
) -> Result<(), E> {
    for _ in 0..MAX_ATTEMPTS {
        let Ok((data, cas)) = hostcalls::get_shared_data(key) else {
            return Ok(());
        };
        let bytes = next(data.as_deref())?;
        match hostcalls::set_shared_data(key, Some(&bytes), cas) {
            Err(Status::CasMismatch) => continue,
            _ => return Ok(()),
        }
    }
    Ok(())
}

/// The host side of [`RateLimiter`].
#[derive(Debug, Default)]
pub struct SharedLimiter;

impl RateLimiter for SharedLimiter {
    fn acquire(&mut self, project: &str, per_minute: u32) -> Result<(), u64> {
        let now = now_secs();
        update(&key(project), |data| {
            next_count(data.and_then(decode), now, per_minute).map(encode)
        })
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
        let now = now_secs();
        let _: Result<(), Infallible> = update(&token_key(project), |data| {
            Ok(encode_tokens(add_tokens(
                data.and_then(decode_tokens),
                now,
                tokens,
            )))
        });
    }
}
