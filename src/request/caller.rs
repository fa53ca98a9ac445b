//! What the caller's request headers say: project key, AWS credentials, region.

use crate::config::projects::find_project;
use crate::config::{Config, Project};
use crate::error::ApiError;
use crate::header::{single, HeaderPair};
use crate::policy::CredentialSource;
use crate::request::sigv4::Credentials;
use crate::request::upstream::is_valid_region;
use std::rc::Rc;

/// The path this filter serves.
pub const CHAT_COMPLETIONS_PATH: &str = "/v1/amazon-bedrock/chat/completions";
/// The models list this filter answers locally.
pub const MODELS_PATH: &str = "/v1/amazon-bedrock/models";

/// What an authenticated request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST /v1/amazon-bedrock/chat/completions`.
    ChatCompletions,
    /// `GET /v1/amazon-bedrock/models`.
    Models,
}

/// An authenticated caller, ready to have its body translated.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The project the key belongs to (name and policy).
    pub project: Rc<Project>,
    /// Credentials to sign with.
    pub credentials: Credentials,
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

/// Which route the path and method ask for (404 / 405 otherwise).
pub fn route<H: HeaderPair>(headers: &[H]) -> Result<Route, ApiError> {
    let path = single(headers, ":path").ok().flatten().unwrap_or("");
    let path = path.split('?').next().unwrap_or(path);
    let (route, method) = match path {
        CHAT_COMPLETIONS_PATH => (Route::ChatCompletions, "POST"),
        MODELS_PATH => (Route::Models, "GET"),
        _ => {
            return Err(ApiError::unknown_url(format!(
                "This gateway serves POST {CHAT_COMPLETIONS_PATH} and GET {MODELS_PATH}."
            )))
        }
    };
    if single(headers, ":method").ok().flatten() != Some(method) {
        return Err(ApiError::method_not_allowed(method, path));
    }
    Ok(route)
}

/// Checks content type, size and the `aws-*` headers of a chat request.
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
    let (credentials, region) = match (project.policy.credentials, &config.environment) {
        (CredentialSource::Environment, Some(env)) => {
            let region = match single(headers, "aws-region-name") {
                Ok(None) => env.region.clone(),
                _ => checked_region(headers)?.to_string(),
            };
            (env.credentials.clone(), region)
        }
        (CredentialSource::Environment, None) => {
            return Err(ApiError::internal(
                "The gateway has no AWS credentials configured for this project.",
            ))
        }
        (CredentialSource::Headers, _) => (
            header_credentials(headers)?,
            checked_region(headers)?.to_string(),
        ),
    };
    Ok(Caller {
        project: Rc::clone(project),
        credentials,
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
