//! Per-project policy from the plugin configuration: models, token limits,
//! request and token rates, guardrail, where the AWS credentials come from,
//! and the Bedrock options a project pays for (service tier, latency,
//! request metadata).

pub mod rate_limit;

use crate::catalog::resolve::{Model, Models};
use crate::config::fields::Fields;
use crate::error::ApiError;
use crate::request::parse::options::{Latency, ServiceTier};

/// Where a project's upstream calls get their AWS credentials.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CredentialSource {
    /// The caller's `aws-*` request headers (the contract's default).
    #[default]
    Headers,
    /// The proxy's own credentials, handed to the VM as environment variables.
    Environment,
    /// None: Envoy's `aws_request_signing` filter, after this one, signs
    /// with the credentials its provider chain finds and refreshes.
    Envoy,
}

/// A project's service tier rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierRule {
    /// Used when a request names none (or `auto`).
    Default(ServiceTier),
    /// Every request: one that names another tier is refused.
    Pin(ServiceTier),
}

/// Whether the filter places cache points itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PromptCaching {
    /// Only where the caller's `cache_control` markers ask.
    #[default]
    Off,
    /// Also after the system prompt and after the tools, with no client change.
    Auto,
}

/// A Bedrock guardrail attached to every call of a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guardrail {
    /// Guardrail id or ARN.
    pub identifier: String,
    /// Guardrail version (`DRAFT` or a number).
    pub version: String,
}

/// `max_tokens` rules of a project.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MaxTokens {
    /// Requests asking for more are refused (400).
    pub ceiling: Option<u64>,
    /// Used when a request gives no `max_tokens`.
    pub default: Option<u64>,
}

/// Policy fields of one project, as written in the configuration.
#[derive(Debug, Default)]
pub struct RawPolicy {
    allowed_models: Option<Vec<String>>,
    max_tokens: Option<MaxTokens>,
    requests_per_minute: Option<u64>,
    guardrail: Option<Guardrail>,
    credentials: CredentialSource,
    prompt_caching: PromptCaching,
    service_tier: Option<TierRule>,
    latency: Option<Latency>,
    request_metadata: Option<bool>,
    tokens_per_minute: Option<u64>,
}

/// A project's validated policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Model ids this project may call (any kind of id callers send);
    /// `None` means every model.
    pub allowed_models: Option<Vec<String>>,
    /// Token limits.
    pub max_tokens: MaxTokens,
    /// Requests per minute across all worker threads of one Envoy.
    pub requests_per_minute: Option<u32>,
    /// Guardrail for every call.
    pub guardrail: Option<Guardrail>,
    /// Credential source.
    pub credentials: CredentialSource,
    /// Cache points placed by the filter.
    pub prompt_caching: PromptCaching,
    /// The service tier default or pin.
    pub service_tier: Option<TierRule>,
    /// Latency-optimized inference on the models that offer it.
    pub latency: Option<Latency>,
    /// Send Converse `requestMetadata` (project, `user`, `metadata`).
    pub request_metadata: bool,
    /// Tokens per minute across all worker threads of one Envoy.
    pub tokens_per_minute: Option<u64>,
}

impl RawPolicy {
    /// Reads a project's `policy` object (its fields' types; [`RawPolicy::validate`] checks the values).
    pub fn read(mut f: Fields) -> Result<RawPolicy, String> {
        let max_tokens = match f.object("max_tokens", &["ceiling", "default"])? {
            None => None,
            Some(mut m) => Some(MaxTokens {
                ceiling: m.u64("ceiling")?,
                default: m.u64("default")?,
            }),
        };
        let guardrail = match f.object("guardrail", &["identifier", "version"])? {
            None => None,
            Some(mut g) => Some(Guardrail {
                identifier: g.required_string("identifier")?,
                version: g.required_string("version")?,
            }),
        };
        let credentials = match f.one_of("credentials", &["headers", "environment", "envoy"])? {
            Some(1) => CredentialSource::Environment,
            Some(2) => CredentialSource::Envoy,
            _ => CredentialSource::Headers,
        };
        let service_tier = match f.object("service_tier", &["default", "pin"])? {
            None => None,
            Some(mut t) => {
                let names = ServiceTier::ALL.map(ServiceTier::name);
                let default = t.one_of("default", &names)?;
                let pin = t.one_of("pin", &names)?;
                let tier = |i: usize| ServiceTier::ALL.get(i).copied();
                match (default.and_then(tier), pin.and_then(tier)) {
                    (Some(d), None) => Some(TierRule::Default(d)),
                    (None, Some(p)) => Some(TierRule::Pin(p)),
                    _ => {
                        return Err(format!(
                            "{} needs one of `default` or `pin`",
                            f.path_of("service_tier")
                        ))
                    }
                }
            }
        };
        let latency = match f.one_of("latency", &["standard", "optimized"])? {
            None => None,
            Some(1) => Some(Latency::Optimized),
            Some(_) => Some(Latency::Standard),
        };
        let request_metadata = f.bool("request_metadata")?;
        let prompt_caching = match f.one_of("prompt_caching", &["off", "auto"])? {
            Some(1) => PromptCaching::Auto,
            _ => PromptCaching::Off,
        };
        Ok(RawPolicy {
            allowed_models: f.strings("allowed_models")?,
            max_tokens,
            requests_per_minute: f.u64("requests_per_minute")?,
            guardrail,
            credentials,
            prompt_caching,
            service_tier,
            latency,
            request_metadata,
            tokens_per_minute: f.u64("tokens_per_minute")?,
        })
    }

    /// The fields a `policy` object may have.
    pub const FIELDS: &'static [&'static str] = &[
        "allowed_models",
        "max_tokens",
        "requests_per_minute",
        "guardrail",
        "credentials",
        "prompt_caching",
        "service_tier",
        "latency",
        "request_metadata",
        "tokens_per_minute",
    ];

    /// Checks every field; `project` names the project in errors.
    pub fn validate(self, project: &str, models: &Models) -> Result<Policy, String> {
        if let Some(ids) = &self.allowed_models {
            if let Some(id) = ids.iter().find(|id| models.info(id).is_none()) {
                return Err(format!(
                    "project {project:?}: allowed_models has unsupported model {id:?}"
                ));
            }
            if ids.is_empty() {
                return Err(format!(
                    "project {project:?}: allowed_models must not be empty"
                ));
            }
        }
        let allowed_models = self.allowed_models;
        let mt = self.max_tokens.unwrap_or_default();
        if mt.ceiling == Some(0) || mt.default == Some(0) {
            return Err(format!(
                "project {project:?}: max_tokens values must be positive"
            ));
        }
        if let (Some(c), Some(d)) = (mt.ceiling, mt.default) {
            if d > c {
                return Err(format!(
                    "project {project:?}: max_tokens.default {d} is above the ceiling {c}"
                ));
            }
        }
        let requests_per_minute = match self.requests_per_minute {
            None => None,
            Some(n) => match u32::try_from(n) {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    return Err(format!(
                        "project {project:?}: requests_per_minute must be between 1 and {}",
                        u32::MAX
                    ))
                }
            },
        };
        if self.tokens_per_minute == Some(0) {
            return Err(format!(
                "project {project:?}: tokens_per_minute must be positive"
            ));
        }
        if let Some(g) = &self.guardrail {
            if !is_guardrail_id(&g.identifier) || !is_guardrail_version(&g.version) {
                return Err(format!(
                    "project {project:?}: guardrail needs an identifier ([a-z0-9]+ or a guardrail ARN) and a version (DRAFT or 1-99999999)"
                ));
            }
        }
        Ok(Policy {
            allowed_models,
            max_tokens: mt,
            requests_per_minute,
            guardrail: self.guardrail,
            credentials: self.credentials,
            prompt_caching: self.prompt_caching,
            service_tier: self.service_tier,
            latency: self.latency,
            request_metadata: self.request_metadata.unwrap_or(true),
            tokens_per_minute: self.tokens_per_minute,
        })
    }
}

impl Policy {
    /// Whether the project may call the model the caller named `id`.
    pub fn allows(&self, id: &str) -> bool {
        self.allowed_models
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|a| a == id))
    }

    /// Refuses a model outside the list (403, documented).
    pub fn check_model(&self, project: &str, model: &Model) -> Result<(), ApiError> {
        if self.allows(&model.id) {
            return Ok(());
        }
        Err(ApiError::model_not_allowed(project, &model.id))
    }

    /// The `max_tokens` to send: the request's (at most the ceiling) or the default.
    pub fn max_tokens(&self, requested: Option<u64>) -> Result<Option<u64>, ApiError> {
        match (requested, self.max_tokens.ceiling) {
            (Some(n), Some(c)) if n > c => Err(ApiError::invalid(
                "max_tokens",
                format!("`max_tokens` {n} is above this project's ceiling of {c}."),
            )),
            (Some(n), _) => Ok(Some(n)),
            (None, _) => Ok(self.max_tokens.default),
        }
    }
}

fn lower_alnum(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Bedrock's rule: `[a-z0-9]+` or `arn:aws(-*)?:bedrock:<region>:<12 digits>:guardrail/[a-z0-9]+`.
fn is_guardrail_id(id: &str) -> bool {
    if lower_alnum(id) {
        return true;
    }
    let parts: Vec<&str> = id.split(':').collect();
    let [arn, partition, service, region, account, resource] = parts.as_slice() else {
        return false;
    };
    *arn == "arn"
        && (*partition == "aws"
            || partition
                .strip_prefix("aws-")
                .is_some_and(|p| !p.is_empty()))
        && *service == "bedrock"
        && (1..=20).contains(&region.len())
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && resource.strip_prefix("guardrail/").is_some_and(lower_alnum)
}

/// Bedrock's rule: `DRAFT` or `[1-9][0-9]{0,7}`.
fn is_guardrail_version(v: &str) -> bool {
    v == "DRAFT"
        || ((1..=8).contains(&v.len())
            && !v.starts_with('0')
            && v.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guardrail_rules_follow_bedrock() {
        for ok in [
            "abc123",
            "arn:aws:bedrock:us-east-1:123456789012:guardrail/abc1",
            "arn:aws-cn:bedrock:cn-north-1:123456789012:guardrail/x9",
        ] {
            assert!(is_guardrail_id(ok), "{ok}");
        }
        for bad in [
            "",
            "gr-test",
            "ABC",
            "arn:aws:bedrock:us-east-1:1234:guardrail/a",
            "arn:aws:s3:us-east-1:123456789012:guardrail/a",
        ] {
            assert!(!is_guardrail_id(bad), "{bad}");
        }
        assert!(is_guardrail_version("DRAFT") && is_guardrail_version("12345678"));
        assert!(
            !is_guardrail_version("0")
                && !is_guardrail_version("123456789")
                && !is_guardrail_version("draft")
        );
    }
}
