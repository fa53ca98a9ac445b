//! Projects: who may call the gateway, and the check of the caller's
//! `Project-Api-Key` against the configured SHA-256 hashes.

use super::fields::Fields;
use super::policy::RawPolicy;
use super::ConfigError;
use crate::catalog::resolve::Models;
use crate::policy::Policy;
use crate::secret::{digest, same_digest};
use serde_json::Value;
use std::rc::Rc;

/// A project allowed to call the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// Name used in logs and metrics (never the key).
    pub name: String,
    /// SHA-256 of the project key.
    pub key_sha256: [u8; 32],
    /// Models, limits, guardrail, credential source.
    pub policy: Policy,
}

/// Reads and checks `projects[i]`.
pub(crate) fn parse_project(v: Value, i: usize, models: &Models) -> Result<Project, ConfigError> {
    let mut f = Fields::new(
        v,
        &format!("projects[{i}]"),
        &["name", "key_sha256", "policy"],
    )
    .map_err(ConfigError::Schema)?;
    let name = f.required_string("name").map_err(ConfigError::Schema)?;
    let key_sha256 = f
        .required_string("key_sha256")
        .map_err(ConfigError::Schema)?;
    let policy = match f
        .object("policy", RawPolicy::FIELDS)
        .map_err(ConfigError::Schema)?
    {
        Some(p) => RawPolicy::read(p).map_err(ConfigError::Schema)?,
        None => RawPolicy::default(),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if !name_ok {
        return Err(ConfigError::Invalid(format!(
            "project name {name:?} must be 1-64 characters of [A-Za-z0-9._-]"
        )));
    }
    let key_sha256 = parse_sha256_hex(&key_sha256).ok_or_else(|| {
        ConfigError::Invalid(format!(
            "project {name:?}: key_sha256 must be 64 hexadecimal characters"
        ))
    })?;
    let policy = policy
        .validate(&name, models)
        .map_err(ConfigError::Invalid)?;
    Ok(Project {
        name,
        key_sha256,
        policy,
    })
}

fn parse_sha256_hex(s: &str) -> Option<[u8; 32]> {
    let bytes = s.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let hi = (*pair.first()? as char).to_digit(16)?;
        let lo = (*pair.get(1)? as char).to_digit(16)?;
        *slot = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

/// Finds the project whose key hash matches `key`, comparing hashes in constant time.
///
/// Every configured hash is compared, so the time taken does not depend on
/// which project (if any) matched.
pub fn find_project<'a>(projects: &'a [Rc<Project>], key: &str) -> Option<&'a Rc<Project>> {
    let key_digest = digest(key.as_bytes());
    let mut found = None;
    for p in projects {
        if same_digest(&p.key_sha256, &key_digest) && found.is_none() {
            found = Some(p);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(name: &str, key: &str) -> Rc<Project> {
        Rc::new(Project {
            name: name.into(),
            key_sha256: digest(key.as_bytes()),
            policy: Default::default(),
        })
    }

    #[test]
    fn matches_by_hash() {
        let ps = [project("a", "key-a"), project("b", "key-b")];
        assert_eq!(find_project(&ps, "key-b").unwrap().name, "b");
        assert!(find_project(&ps, "key-c").is_none());
        assert!(find_project(&ps, "").is_none());
    }
}
