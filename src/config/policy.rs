//! A project's `policy` object, read field by field and checked into a
//! [`Policy`] (the decisions it drives live in `crate::policy`).

use super::fields::Fields;
use crate::aws::arn::is_guardrail;
use crate::bedrock::options::{Latency, ServiceTier};
use crate::catalog::resolve::Models;
use crate::policy::{CredentialSource, Guardrail, MaxTokens, Policy, PromptCaching, TierRule};

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
        let latency = f
            .one_of("latency", &Latency::ALL.map(Latency::name))?
            .and_then(|i| Latency::ALL.get(i).copied());
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
            if let Some(id) = ids.iter().find(|id| models.owner(id).is_none()) {
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
            if !is_guardrail(&g.identifier) || !is_guardrail_version(&g.version) {
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
    fn guardrail_versions_follow_bedrock() {
        assert!(is_guardrail_version("DRAFT") && is_guardrail_version("12345678"));
        assert!(
            !is_guardrail_version("0")
                && !is_guardrail_version("123456789")
                && !is_guardrail_version("draft")
        );
    }
}
