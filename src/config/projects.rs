//! Project key check: the caller's `Project-Api-Key` against the configured SHA-256 hashes.

use crate::config::Project;
use sha2::{Digest, Sha256};

/// Finds the project whose key hash matches `key`, comparing hashes in constant time.
///
/// Every configured hash is compared, so the time taken does not depend on
/// which project (if any) matched.
pub fn find_project<'a>(projects: &'a [Project], key: &str) -> Option<&'a Project> {
    find_project_index(projects, key).and_then(|i| projects.get(i))
}

/// Like [`find_project`], returning the project's position.
pub fn find_project_index(projects: &[Project], key: &str) -> Option<usize> {
    let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    let mut found = None;
    for (i, p) in projects.iter().enumerate() {
        if constant_time_eq(&p.key_sha256, &digest) && found.is_none() {
            found = Some(i);
        }
    }
    found
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(name: &str, key: &str) -> Project {
        Project {
            name: name.into(),
            key_sha256: Sha256::digest(key.as_bytes()).into(),
            policy: Default::default(),
        }
    }

    #[test]
    fn matches_by_hash() {
        let ps = [project("a", "key-a"), project("b", "key-b")];
        assert_eq!(find_project(&ps, "key-b").unwrap().name, "b");
        assert!(find_project(&ps, "key-c").is_none());
        assert!(find_project(&ps, "").is_none());
    }
}
