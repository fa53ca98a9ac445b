//! How an upstream call is authenticated: a SigV4 signature made with the
//! caller's (or the proxy's) keys, a Bedrock API key as a bearer token, or
//! nothing of ours (Envoy's `aws_request_signing` filter signs after us).

use crate::aws::bearer::BearerToken;
use crate::aws::sigv4::Credentials;
use crate::secret::Redactor;

/// How the upstream call is authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamAuth {
    /// A SigV4 signature made with these credentials.
    SigV4(Credentials),
    /// A Bedrock API key, sent as `authorization: Bearer`.
    Bearer(BearerToken),
    /// None by this filter: Envoy's `aws_request_signing` filter signs after it.
    Envoy,
}

impl UpstreamAuth {
    /// What removes these secrets from whatever the upstream echoes, holding
    /// only their digests (the answer phase keeps it; never the secrets).
    pub fn redactor(&self) -> Redactor {
        match self {
            UpstreamAuth::SigV4(c) => Redactor::new(
                [c.access_key_id.as_str(), c.secret_access_key.as_str()]
                    .into_iter()
                    .chain(c.session_token.as_deref()),
            ),
            UpstreamAuth::Bearer(t) => Redactor::new([t.expose()]),
            UpstreamAuth::Envoy => Redactor::default(),
        }
    }
}
