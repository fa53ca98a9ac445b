//! Bedrock API keys: the bearer token a call carries instead of a SigV4
//! signature, and the Region a short-term key is bound to.
//!
//! A short-term key is `bedrock-api-key-` + base64 of a presigned SigV4 URL
//! (AWS's `aws-bedrock-token-generator`); its `X-Amz-Credential` scope names
//! the Region that issued it, the only one where Bedrock accepts it. A
//! long-term key (an IAM service-specific credential) is opaque.

/// The prefix of a short-term Bedrock API key.
pub const SHORT_TERM_PREFIX: &str = "bedrock-api-key-";

/// A Bedrock API key. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(String);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken([redacted])")
    }
}

impl BearerToken {
    /// Wraps a key (already trimmed and checked for control characters).
    pub fn new(token: String) -> BearerToken {
        BearerToken(token)
    }

    /// The key, for the `authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The Region a short-term key was issued in; `None` for a long-term key
    /// or one this filter cannot read (Bedrock then judges it).
    pub fn issued_region(&self) -> Option<String> {
        let url = crate::base64::decode(self.0.strip_prefix(SHORT_TERM_PREFIX)?)?;
        let url = std::str::from_utf8(&url).ok()?;
        let query = url.split_once('?')?.1;
        let scope = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("X-Amz-Credential="))?;
        // `<key id>%2F<date>%2F<region>%2Fbedrock%2Faws4_request`
        let scope = scope.replace("%2F", "/").replace("%2f", "/");
        let mut parts = scope.split('/');
        let region = parts.nth(2)?;
        (parts.next() == Some("bedrock")).then(|| region.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // AWS's own encoder (a dev-dependency): the decoder is checked against it.
    use aws_smithy_types::base64::encode;

    fn short_term(region: &str) -> String {
        // The shape aws-bedrock-token-generator writes (signature values made up).
        let url = format!(
            "bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIAEXAMPLE%2F20261201%2F{region}%2Fbedrock%2Faws4_request\
             &X-Amz-Date=20261201T120000Z&X-Amz-Expires=43200&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=abc123&Version=1"
        );
        format!("{SHORT_TERM_PREFIX}{}", encode(url))
    }

    #[test]
    fn a_short_term_key_names_its_region() {
        for region in ["us-east-1", "eu-west-3", "ap-southeast-2"] {
            let t = BearerToken::new(short_term(region));
            assert_eq!(t.issued_region().as_deref(), Some(region));
        }
        assert_eq!(
            BearerToken::new("ABSKQmVkcm9ja0FQSUtleS1abc=".into()).issued_region(),
            None
        );
        assert_eq!(
            BearerToken::new(format!("{SHORT_TERM_PREFIX}!!!")).issued_region(),
            None
        );
        assert_eq!(
            BearerToken::new(SHORT_TERM_PREFIX.into()).issued_region(),
            None
        );
    }

    #[test]
    fn debug_hides_the_key() {
        assert_eq!(
            format!("{:?}", BearerToken::new("secret".into())),
            "BearerToken([redacted])"
        );
    }
}
