//! SigV4 signing of the upstream Converse call, with `aws-sigv4`.

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use std::time::SystemTime;

/// SigV4 signing name of Bedrock Runtime (not `bedrock-runtime`).
pub const SERVICE: &str = "bedrock";

/// The caller's AWS credentials, from the `aws-*` request headers.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `aws-access-key-id`.
    pub access_key_id: String,
    /// `aws-secret-access-key`.
    pub secret_access_key: String,
    /// `aws-session-token`, for temporary credentials.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials([redacted])")
    }
}

/// What is signed: a POST of a JSON body to `authority` + `path`.
pub struct SignRequest<'a> {
    /// `host[:port]`, sent as `:authority` and signed as `host`.
    pub authority: &'a str,
    /// Request path, percent-encoded once (`%3A`); signing encodes it again.
    pub path: &'a str,
    /// The exact body bytes sent.
    pub body: &'a [u8],
    /// Region in the credential scope.
    pub region: &'a str,
}

/// Why signing failed (a malformed header value, in practice).
#[derive(Debug, thiserror::Error)]
#[error("could not sign the upstream request: {0}")]
pub struct SignError(String);

/// Signs `req` and returns the headers to add (`x-amz-date`, `authorization`,
/// and `x-amz-security-token` with temporary credentials).
pub fn sign_request(
    req: &SignRequest<'_>,
    creds: &Credentials,
    now: SystemTime,
) -> Result<Vec<(&'static str, String)>, SignError> {
    let identity = AwsCredentials::new(
        creds.access_key_id.clone(),
        creds.secret_access_key.clone(),
        creds.session_token.clone(),
        None,
        "aws-headers",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(req.region)
        .name(SERVICE)
        .time(now)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| SignError(e.to_string()))?
        .into();
    // The scheme is not part of the signature; only host and path are.
    let uri = format!("https://{}{}", req.authority, req.path);
    let headers = [
        ("content-type", "application/json"),
        ("host", req.authority),
    ];
    let signable = SignableRequest::new(
        "POST",
        uri,
        headers.into_iter(),
        SignableBody::Bytes(req.body),
    )
    .map_err(|e| SignError(e.to_string()))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| SignError(e.to_string()))?
        .into_parts();
    let (headers, _params) = instructions.into_parts();
    Ok(headers
        .into_iter()
        .map(|h| (h.name(), h.value().to_string()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn creds(token: Option<&str>) -> Credentials {
        Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: token.map(str::to_string),
        }
    }

    fn header<'a>(h: &'a [(&'static str, String)], name: &str) -> &'a str {
        h.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .unwrap()
    }

    // 2024-01-02T03:04:05Z
    fn fixed_time() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_704_164_645)
    }

    /// Golden value computed independently with botocore's SigV4Auth
    /// (`botocore.auth.SigV4Auth`, service `bedrock`, clock fixed at the same instant).
    #[test]
    fn signs_like_botocore_with_double_encoded_path() {
        let req = SignRequest {
            authority: "bedrock-runtime.us-east-1.amazonaws.com",
            path: "/model/meta.llama3-8b-instruct-v1%3A0/converse",
            body: br#"{"messages":[]}"#,
            region: "us-east-1",
        };
        let h = sign_request(&req, &creds(None), fixed_time()).unwrap();
        assert_eq!(header(&h, "x-amz-date"), "20240102T030405Z");
        let auth = header(&h, "authorization");
        assert!(
            auth.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/bedrock/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, Signature="
            ),
            "{auth}"
        );
        assert_eq!(auth, GOLDEN_AUTH, "{auth}");
        assert!(h.iter().all(|(n, _)| *n != "x-amz-security-token"));
    }

    #[test]
    fn session_token_is_signed_and_sent() {
        let req = SignRequest {
            authority: "127.0.0.1:9099",
            path: "/model/x/converse",
            body: b"{}",
            region: "eu-west-1",
        };
        let h = sign_request(&req, &creds(Some("tok")), fixed_time()).unwrap();
        assert_eq!(header(&h, "x-amz-security-token"), "tok");
        assert!(header(&h, "authorization")
            .contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token"));
    }

    #[test]
    fn debug_never_shows_secrets() {
        assert_eq!(
            format!("{:?}", creds(Some("tok"))),
            "Credentials([redacted])"
        );
    }

    const GOLDEN_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=3f2212a58552bf9b41282c4fd45fb64e36f2b875bb6a4523b6e1b3cb035a6b02";
}
