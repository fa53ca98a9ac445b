//! Requests-per-minute limit shared by every worker thread of one Envoy,
//! through proxy-wasm shared data with compare-and-swap.

use crate::policy::rate_limit::{decode, encode, next_count, RateLimiter};
use proxy_wasm::hostcalls;
use proxy_wasm::types::Status;
use std::time::{SystemTime, UNIX_EPOCH};

/// CAS retries before giving up (then the request is admitted: fail open on contention).
const MAX_ATTEMPTS: usize = 16;

fn key(project: &str) -> String {
    format!("bedrock-openai-filter/rpm/{project}")
}

/// Creates the project's counter if no worker has yet, so that every later
/// update is a compare-and-swap (a first write without CAS could be lost).
pub fn init(project: &str) {
    let key = key(project);
    if let Ok((None, _)) = hostcalls::get_shared_data(&key) {
        let _ = hostcalls::set_shared_data(&key, Some(&encode((0, 0))), None);
    }
}

/// The host side of [`RateLimiter`].
#[derive(Debug, Default)]
pub struct SharedLimiter;

impl RateLimiter for SharedLimiter {
    fn acquire(&mut self, project: &str, per_minute: u32) -> Result<(), u64> {
        let key = key(project);
        let now = hostcalls::get_current_time()
            .unwrap_or_else(|_| SystemTime::now())
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
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
}
