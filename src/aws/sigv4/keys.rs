//! The per-VM cache of derived SigV4 signing keys.

use super::{Credentials, SignError, TERMINATOR};
use crate::secret::{digest, same_digest};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::cell::RefCell;

pub(super) type HmacSha256 = Hmac<Sha256>;

/// How many signing keys a [`SigningKeys`] cache holds (callers × regions
/// seen the same day; an older entry is overwritten when it is full).
pub const SIGNING_KEY_CACHE_SIZE: usize = 16;

/// One derived signing key: valid for one secret, day, region and service.
pub(super) struct CachedKey {
    access_key_id: String,
    /// SHA-256 of the secret: the cache never holds the secret itself.
    secret_digest: [u8; 32],
    date: [u8; 8],
    region: String,
    service: &'static str,
    /// HMAC state keyed with the signing key, ready to be cloned.
    mac: HmacSha256,
}

/// Per-VM cache of derived SigV4 signing keys.
///
/// Deriving the key takes four chained HMACs; it changes only with the
/// secret, the UTC day, the region and the service. An entry is found only when the
/// request's secret hashes to the same digest, so a caller who knows an
/// access key id but not its secret never gets a key derived from it.
#[derive(Default)]
pub struct SigningKeys {
    pub(super) entries: RefCell<Vec<CachedKey>>,
    next: std::cell::Cell<usize>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.entries.try_borrow().map_or(0, |e| e.len());
        write!(f, "SigningKeys({n} cached)")
    }
}

fn mac(key: &[u8]) -> Result<HmacSha256, SignError> {
    HmacSha256::new_from_slice(key).map_err(|_| SignError("HMAC key rejected"))
}

fn hmac_once(key: &[u8], data: &[u8]) -> Result<[u8; 32], SignError> {
    let mut m = mac(key)?;
    m.update(data);
    Ok(m.finalize().into_bytes().into())
}

impl SigningKeys {
    /// An empty cache.
    pub fn new() -> SigningKeys {
        SigningKeys::default()
    }

    /// An HMAC keyed with the signing key of `creds` for `date`, `region` and `service`.
    pub(super) fn signer(
        &self,
        creds: &Credentials,
        date: &[u8; 8],
        region: &str,
        service: &'static str,
    ) -> Result<HmacSha256, SignError> {
        let secret_digest = digest(creds.secret_access_key.as_bytes());
        let mut entries = self
            .entries
            .try_borrow_mut()
            .map_err(|_| SignError("signing key cache busy"))?;
        let hit = entries.iter().find(|e| {
            e.date == *date
                && e.region == region
                && e.service == service
                && e.access_key_id == creds.access_key_id
                && same_digest(&e.secret_digest, &secret_digest)
        });
        if let Some(entry) = hit {
            return Ok(entry.mac.clone());
        }
        let mut k_secret = Vec::with_capacity(4 + creds.secret_access_key.len());
        k_secret.extend_from_slice(b"AWS4");
        k_secret.extend_from_slice(creds.secret_access_key.as_bytes());
        let k_date = hmac_once(&k_secret, date)?;
        k_secret.fill(0);
        let k_region = hmac_once(&k_date, region.as_bytes())?;
        let k_service = hmac_once(&k_region, service.as_bytes())?;
        let k_signing = hmac_once(&k_service, TERMINATOR.as_bytes())?;
        let signer = mac(&k_signing)?;
        let entry = CachedKey {
            access_key_id: creds.access_key_id.clone(),
            secret_digest,
            date: *date,
            region: region.to_string(),
            service,
            mac: signer.clone(),
        };
        if entries.len() < SIGNING_KEY_CACHE_SIZE {
            entries.push(entry);
        } else {
            let slot = self.next.get() % SIGNING_KEY_CACHE_SIZE;
            if let Some(old) = entries.get_mut(slot) {
                *old = entry;
            }
            self.next.set(slot + 1);
        }
        Ok(signer)
    }
}
