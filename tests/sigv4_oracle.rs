//! Differential test of our SigV4 signer against AWS's own `aws-sigv4` crate
//! (a dev-dependency only: it is the oracle, not shipped in the `.wasm`).
//!
//! Thousands of pseudo-random requests (fixed seed: reproducible) over the
//! space the filter signs: any instant from 1970 to 9999, regions, authorities
//! with and without ports, model paths holding `%3A`, arbitrary body bytes,
//! keys and session tokens of any length, with one key
//! cache shared across the run so cached and freshly derived keys are both
//! checked.
//!
//! Not compared: a session token with inner runs of spaces. SigV4 (and
//! botocore) collapse them in the canonical header; `aws-sigv4` signs the token
//! as is. Real tokens are base64 and never hold a space; our signer follows
//! the spec (see the unit test `collapses_spaces_like_botocore`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use bedrock_openai_filter::aws::sigv4::{
    sign_request, Credentials, SignRequest, SigningKeys, SERVICE,
};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

mod support;
use support::Rng;

const KEY_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=";
const TOKEN_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=";
const MODEL_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789.-";

fn oracle(
    req: &SignRequest<'_>,
    creds: &Credentials,
    now: SystemTime,
) -> Vec<(&'static str, String)> {
    let identity = AwsCredentials::new(
        creds.access_key_id.clone(),
        creds.secret_access_key.clone(),
        creds.session_token.clone(),
        None,
        "oracle",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(req.region)
        .name(SERVICE)
        .time(now)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
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
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let (headers, _) = instructions.into_parts();
    headers
        .into_iter()
        .map(|h| (h.name(), h.value().to_string()))
        .collect()
}

#[test]
fn agrees_with_aws_sigv4_on_random_requests() {
    let mut rng = Rng(0x5EED_0FB3_D0C4);
    let keys = SigningKeys::new();
    let mut callers: Vec<Credentials> = Vec::new();
    for i in 0..4000 {
        // Reuse an earlier caller half of the time, so cached keys are exercised.
        let creds = if !callers.is_empty() && rng.below(2) == 0 {
            callers[rng.size(callers.len())].clone()
        } else {
            let token = match rng.below(3) {
                0 => None,
                _ => Some(rng.text(TOKEN_CHARS, 1, 1200)),
            };
            let c = Credentials {
                access_key_id: format!("AKIA{}", rng.text(KEY_CHARS, 16, 16)),
                secret_access_key: rng.text(SECRET_CHARS, 1, 80),
                session_token: token,
            };
            callers.push(c.clone());
            c
        };
        let region = rng.pick(&[
            "us-east-1",
            "eu-west-3",
            "ap-southeast-2",
            "us-gov-west-1",
            "il-central-1",
        ]);
        let authority = match rng.below(3) {
            0 => format!("bedrock-runtime.{region}.amazonaws.com"),
            1 => format!("127.0.0.1:{}", 1 + rng.below(65535)),
            _ => "bedrock.internal.example:8443".to_string(),
        };
        let model = format!(
            "{}.{}%3A{}",
            rng.text(MODEL_CHARS, 1, 12),
            rng.text(MODEL_CHARS, 1, 30),
            rng.below(3)
        );
        let suffix = rng.pick(&["converse", "converse-stream"]);
        let path = format!("/model/{model}/{suffix}");
        let len = rng.size(3000);
        let body = rng.bytes(len);
        // 1970 .. 9999, to the second.
        let now = UNIX_EPOCH + Duration::from_secs(rng.below(253_402_300_799));
        let req = SignRequest {
            authority: &authority,
            path: &path,
            body: &body,
            region,
        };
        let ours = sign_request(&req, &creds, now, &keys).unwrap();
        let want = oracle(&req, &creds, now);
        assert_eq!(ours, want, "request {i}: {path} at {now:?}");
    }
}
