//! Headers as the host hands them over (a name and a value), and which of
//! the caller's headers may go upstream.
//!
//! The shell borrows headers straight from the buffer the host wrote (no
//! allocation per header); tests and fuzz targets pass owned `String` pairs.
//! The core reads both through [`HeaderPair`].

pub mod map;
pub mod withheld;

use std::borrow::Cow;

/// A header name: static for the ones we set, owned for the caller's.
pub type Name = Cow<'static, str>;

/// One header: name and value, both text.
pub trait HeaderPair {
    /// The header name (Envoy delivers it lower-cased).
    fn name(&self) -> &str;
    /// The header value.
    fn value(&self) -> &str;
}

impl HeaderPair for (String, String) {
    fn name(&self) -> &str {
        &self.0
    }
    fn value(&self) -> &str {
        &self.1
    }
}

impl HeaderPair for (&str, &str) {
    fn name(&self) -> &str {
        self.0
    }
    fn value(&self) -> &str {
        self.1
    }
}

/// Case-insensitive lookup of the single value of `name`; `Err` on duplicates.
pub(crate) fn single<'a, H: HeaderPair>(
    headers: &'a [H],
    name: &str,
) -> Result<Option<&'a str>, ()> {
    let mut found = None;
    for h in headers {
        if h.name().eq_ignore_ascii_case(name) {
            if found.is_some() {
                return Err(());
            }
            found = Some(h.value());
        }
    }
    Ok(found)
}

/// The first value of `name` (case-insensitive), if any.
pub fn first<'a, H: HeaderPair>(headers: &'a [H], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case(name))
        .map(HeaderPair::value)
}
