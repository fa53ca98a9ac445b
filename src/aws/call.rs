//! The headers of one upstream call, decided whole: where it goes (`:path`,
//! `:authority`), its body framing, what it accepts back, Envoy's timeout
//! for it, and its authentication (a SigV4 signature, a Bedrock API key as a
//! bearer, or the header that hands it to Envoy's signer).

use crate::aws::auth::UpstreamAuth;
use crate::aws::sigv4::{sign_request_as, SignRequest, SigningKeys, MANTLE_SERVICE, SERVICE};
use crate::error::ApiError;
use crate::header::withheld::ENVOY_SIGNER_HEADER;
use crate::header::Name;
use std::borrow::Cow;
use std::time::SystemTime;

/// Where a call goes and what it accepts back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `host[:port]`, sent as `:authority` and signed as `host`.
    pub authority: String,
    /// The path, percent-encoded once.
    pub path: String,
    /// The `accept` header (`application/json`, or the event stream).
    pub accept: &'static str,
}

/// The media type of Bedrock's event streams.
pub const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";

/// The headers that send `body` (JSON) to `target` on Bedrock Runtime,
/// authenticated with `auth` for `region`, with Envoy's upstream timeout set
/// to `timeout_secs`.
pub fn headers(
    target: Target,
    body: &[u8],
    auth: &UpstreamAuth,
    region: &str,
    timeout_secs: u64,
    now: SystemTime,
    signing_keys: &SigningKeys,
) -> Result<Vec<(Name, String)>, ApiError> {
    headers_for(
        SERVICE,
        target,
        body,
        auth,
        region,
        timeout_secs,
        now,
        signing_keys,
    )
}

/// The value of [`ENVOY_SIGNER_HEADER`] for a call Envoy's signer signs for
/// `service`: `envoy` for Bedrock Runtime, `envoy-mantle` for bedrock-mantle
/// (each selects a route whose signer has that signing name).
pub fn envoy_signer_mark(service: &str) -> &'static str {
    if service == MANTLE_SERVICE {
        "envoy-mantle"
    } else {
        "envoy"
    }
}

/// As [`headers`], for the signing name `service` (`bedrock` or
/// `bedrock-mantle`).
#[allow(clippy::too_many_arguments)] // one call's whole description; a struct would only rename them
pub fn headers_for(
    service: &'static str,
    target: Target,
    body: &[u8],
    auth: &UpstreamAuth,
    region: &str,
    timeout_secs: u64,
    now: SystemTime,
    signing_keys: &SigningKeys,
) -> Result<Vec<(Name, String)>, ApiError> {
    let mut headers: Vec<(Name, String)> = Vec::with_capacity(10);
    match auth {
        UpstreamAuth::SigV4(credentials) => {
            let signed = sign_request_as(
                service,
                &SignRequest {
                    authority: &target.authority,
                    path: &target.path,
                    body,
                    region,
                },
                credentials,
                now,
                signing_keys,
            )
            .map_err(|e| ApiError::invalid("aws-secret-access-key", e.to_string()))?;
            headers.extend(
                signed
                    .into_iter()
                    .map(|(name, value)| (Cow::Borrowed(name), value)),
            );
        }
        UpstreamAuth::Bearer(token) => {
            headers.push(("authorization".into(), format!("Bearer {}", token.expose())));
        }
        // The route this header selects runs Envoy's signer (see docs/configuration.md, "credentials: envoy").
        UpstreamAuth::Envoy => headers.push((
            ENVOY_SIGNER_HEADER.into(),
            envoy_signer_mark(service).into(),
        )),
    }
    headers.push((":path".into(), target.path));
    headers.push((":authority".into(), target.authority));
    headers.push(("content-type".into(), "application/json".into()));
    headers.push(("content-length".into(), body.len().to_string()));
    headers.push(("accept".into(), target.accept.into()));
    headers.push((
        "x-envoy-upstream-rq-timeout-ms".into(),
        (timeout_secs * 1000).to_string(),
    ));
    Ok(headers)
}
