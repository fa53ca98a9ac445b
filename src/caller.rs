//! Who calls: the project key checked (the first thing done for every
//! request), and the credentials and Region an upstream call is made with,
//! from the caller's `aws-*` headers, the proxy's environment or Envoy's
//! own signer, as the project's policy says.

use crate::aws::auth::UpstreamAuth;
use crate::aws::bearer::BearerToken;
use crate::aws::endpoint::is_valid_region;
use crate::aws::sigv4::Credentials;
use crate::config::projects::find_project;
use crate::config::{Config, Project};
use crate::error::ApiError;
use crate::header::{single, HeaderPair};
use crate::policy::CredentialSource;
use std::rc::Rc;

/// The request header that carries a caller's Bedrock API key.
pub const BEARER_HEADER: &str = "aws-bearer-token-bedrock";

/// An authenticated caller, ready to have its body translated.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The project the key belongs to (name and policy).
    pub project: Rc<Project>,
    /// How the upstream call is authenticated.
    pub auth: UpstreamAuth,
    /// Region for the host name and the signature.
    pub region: String,
    /// Envoy's `x-request-id`, the fallback for the response id.
    pub request_id: Option<String>,
}

fn required<'a, H: HeaderPair>(headers: &'a [H], name: &'static str) -> Result<&'a str, ApiError> {
    match single(headers, name) {
        Ok(Some(v)) if !v.trim().is_empty() && !v.bytes().any(|b| b.is_ascii_control()) => {
            Ok(v.trim())
        }
        Ok(Some(_)) => Err(ApiError::invalid(
            name,
            format!("Header `{name}` has an invalid value."),
        )),
        Ok(None) => Err(ApiError::invalid(
            name,
            format!("Header `{name}` is required."),
        )),
        Err(()) => Err(ApiError::invalid(
            name,
            format!("Header `{name}` must appear once."),
        )),
    }
}

/// Checks the project key: the first thing done for every request.
pub fn authenticate<'c, H: HeaderPair>(
    config: &'c Config,
    headers: &[H],
) -> Result<&'c Rc<Project>, ApiError> {
    match single(headers, "project-api-key") {
        Ok(Some(key)) => find_project(&config.projects, key.trim())
            .ok_or_else(|| ApiError::invalid_api_key("The project key is not valid.")),
        Ok(None) => Err(ApiError::invalid_api_key(
            "Header `Project-Api-Key` is required.",
        )),
        Err(()) => Err(ApiError::invalid_api_key(
            "Header `Project-Api-Key` must appear once.",
        )),
    }
}

/// Checks content type, size and the `aws-*` headers of a request with a body.
pub fn check_request<H: HeaderPair>(
    config: &Config,
    project: &Rc<Project>,
    headers: &[H],
) -> Result<Caller, ApiError> {
    let content_type = single(headers, "content-type").ok().flatten().unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/json") {
        return Err(ApiError::unsupported_media_type());
    }
    if let Ok(Some(len)) = single(headers, "content-length") {
        if len
            .trim()
            .parse::<usize>()
            .is_ok_and(|n| n > config.max_request_bytes)
        {
            return Err(ApiError::too_large(config.max_request_bytes));
        }
    }
    let (auth, region) = match (project.policy.credentials, &config.environment) {
        (CredentialSource::Environment, Some(env)) => {
            let region = match single(headers, "aws-region-name") {
                Ok(None) => env.region.clone(),
                _ => checked_region(headers)?.to_string(),
            };
            (env.auth.clone(), region)
        }
        (CredentialSource::Environment, None) => {
            return Err(ApiError::internal(
                "The gateway has no AWS credentials configured for this project.",
            ))
        }
        (CredentialSource::Envoy, _) => {
            let Some(signer) = config.envoy_signer_region.as_deref() else {
                return Err(ApiError::internal(
                    "The gateway has no Envoy signer configured for this project.",
                ));
            };
            if !matches!(single(headers, "aws-region-name"), Ok(None))
                && checked_region(headers)? != signer
            {
                return Err(ApiError::invalid(
                    "aws-region-name",
                    format!("This project's calls are signed by the gateway for Region `{signer}` only."),
                ));
            }
            (UpstreamAuth::Envoy, signer.to_string())
        }
        (CredentialSource::Headers, _) => {
            let auth = header_auth(headers)?;
            let region = checked_region(headers)?.to_string();
            if let UpstreamAuth::Bearer(token) = &auth {
                check_key_region(token, &region)?;
            }
            (auth, region)
        }
    };
    Ok(Caller {
        project: Rc::clone(project),
        auth,
        region,
        request_id: single(headers, "x-request-id")
            .ok()
            .flatten()
            .map(str::to_string),
    })
}

fn checked_region<H: HeaderPair>(headers: &[H]) -> Result<&str, ApiError> {
    let region = required(headers, "aws-region-name")?;
    if !is_valid_region(region) {
        return Err(ApiError::invalid(
            "aws-region-name",
            "Header `aws-region-name` must be an AWS region such as `us-east-1`.",
        ));
    }
    Ok(region)
}

/// The caller's own credentials: a Bedrock API key or AWS keys, not both.
fn header_auth<H: HeaderPair>(headers: &[H]) -> Result<UpstreamAuth, ApiError> {
    let present = |name| !matches!(single(headers, name), Ok(None));
    if !present(BEARER_HEADER) {
        return header_credentials(headers).map(UpstreamAuth::SigV4);
    }
    if [
        "aws-access-key-id",
        "aws-secret-access-key",
        "aws-session-token",
    ]
    .into_iter()
    .any(present)
    {
        return Err(ApiError::invalid(
            BEARER_HEADER,
            "Send either a Bedrock API key (`aws-bearer-token-bedrock`) or AWS keys (`aws-access-key-id`, `aws-secret-access-key`), not both.",
        ));
    }
    let token = BearerToken::new(required(headers, BEARER_HEADER)?.to_string());
    Ok(UpstreamAuth::Bearer(token))
}

/// A short-term key works only in the Region that issued it: another one is
/// refused here, before Bedrock would answer 403.
fn check_key_region(token: &BearerToken, region: &str) -> Result<(), ApiError> {
    match token.issued_region() {
        Some(issued) if issued != region => Err(ApiError::invalid(
            "aws-region-name",
            format!("This short-term Bedrock API key was issued in Region `{issued}` and works only there; set `aws-region-name: {issued}`."),
        )),
        _ => Ok(()),
    }
}

fn header_credentials<H: HeaderPair>(headers: &[H]) -> Result<Credentials, ApiError> {
    let access_key_id = required(headers, "aws-access-key-id")?;
    let secret_access_key = required(headers, "aws-secret-access-key")?;
    let session_token = match single(headers, "aws-session-token") {
        Ok(None) => None,
        _ => Some(required(headers, "aws-session-token")?.to_string()),
    };
    Ok(Credentials {
        access_key_id: access_key_id.to_string(),
        secret_access_key: secret_access_key.to_string(),
        session_token,
    })
}
