//! Which request headers go upstream: one decision, in one place.
//!
//! The shell replaces the whole request header map twice, each time with one
//! host call: in the header callback with [`upstream_headers`] of the
//! caller's headers and nothing set (the secrets are gone before anything
//! else can happen: no later failure or misconfiguration can forward them),
//! and once the body is in with the upstream call's headers set (path,
//! authority, body framing, signature).

use super::{HeaderPair, Name};

/// Set by the filter on a call Envoy's `aws_request_signing` filter must
/// sign (`credentials: envoy`): the shipped route that matches it enables
/// that filter and removes the header before the call leaves. Never taken
/// from a caller.
pub const ENVOY_SIGNER_HEADER: &str = "x-bedrock-openai-signer";

fn starts_with_ignore_case(name: &str, prefix: &str) -> bool {
    name.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// Request headers that must never reach the upstream: the project key, every
/// `aws-*` credential header, the client's own `authorization`, any `x-amz*`
/// header, `accept-encoding` (the filter must read the answer uncompressed),
/// `content-length` (the body is replaced) and [`ENVOY_SIGNER_HEADER`] (only
/// the filter sets it).
pub fn is_withheld(name: &str) -> bool {
    name.eq_ignore_ascii_case("project-api-key")
        || name.eq_ignore_ascii_case(ENVOY_SIGNER_HEADER)
        || starts_with_ignore_case(name, "aws-")
        || name.eq_ignore_ascii_case("authorization")
        || starts_with_ignore_case(name, "x-amz")
        || name.eq_ignore_ascii_case("accept-encoding")
        || name.eq_ignore_ascii_case("content-length")
}

/// The request headers to forward: the caller's, minus every withheld one and
/// every one `set` replaces (case-insensitively), then `set` in order.
/// Borrows from both: nothing is copied.
pub fn upstream_headers<'a, H: HeaderPair>(
    caller: &'a [H],
    set: &'a [(Name, String)],
) -> Vec<(&'a str, &'a str)> {
    let mut out = Vec::with_capacity(caller.len() + set.len());
    out.extend(
        caller
            .iter()
            .map(|h| (h.name(), h.value()))
            .filter(|(name, _)| {
                !is_withheld(name) && !set.iter().any(|(s, _)| s.eq_ignore_ascii_case(name))
            }),
    );
    out.extend(set.iter().map(|(k, v)| (k.as_ref(), v.as_str())));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn withholds_secrets_in_any_case_and_replaces_what_is_set() {
        let caller = [
            (":path", "/v1/amazon-bedrock/chat/completions"),
            ("Project-Api-Key", "k"),
            ("AWS-Secret-Access-Key", "s"),
            ("X-Amz-Date", "old"),
            ("Accept-Encoding", "gzip"),
            ("x-keep", "1"),
            ("awsome", "2"),
        ];
        let set = [
            (Name::from(":path"), "/model/x/converse".to_string()),
            (Name::from("authorization"), "AWS4".to_string()),
        ];
        assert_eq!(
            upstream_headers(&caller, &set),
            vec![
                ("x-keep", "1"),
                ("awsome", "2"),
                (":path", "/model/x/converse"),
                ("authorization", "AWS4"),
            ]
        );
        assert_eq!(
            upstream_headers(&caller, &[]),
            vec![
                (":path", "/v1/amazon-bedrock/chat/completions"),
                ("x-keep", "1"),
                ("awsome", "2"),
            ]
        );
    }
}
