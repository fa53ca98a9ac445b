//! Per-project policy, decided in one place: which models a project may
//! call, its token limits, request and token rates, guardrail, where its
//! AWS credentials come from, its prompt caching, and the Bedrock options it
//! pays for (service tier, latency, request metadata: [`options`]). The
//! plugin configuration's reader (`config::policy`) builds a [`Policy`];
//! every decision about a request is made here.

pub mod options;
pub mod rate_limit;

use crate::bedrock::converse::GuardrailConfig;
use crate::bedrock::options::{Latency, ServiceTier};
use crate::catalog::resolve::Model;
use crate::error::ApiError;

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

impl Policy {
    /// Whether the project may call the model the caller named `id`.
    pub fn allows(&self, id: &str) -> bool {
        self.allowed_models
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|a| a == id))
    }

    /// Refuses a model outside the list (403, documented).
    pub fn check_model(&self, project: &str, model: &Model) -> Result<(), ApiError> {
        self.check_model_id(project, &model.id)
    }

    /// Refuses a model id (as the caller named it, on any surface) outside the list.
    pub fn check_model_id(&self, project: &str, id: &str) -> Result<(), ApiError> {
        if self.allows(id) {
            return Ok(());
        }
        Err(ApiError::model_not_allowed(project, id))
    }

    /// Whether the filter places cache points itself.
    pub fn auto_cache_points(&self) -> bool {
        self.prompt_caching == PromptCaching::Auto
    }

    /// The guardrail every call of the project carries, in Converse's shape.
    pub fn guardrail_config(&self) -> Option<GuardrailConfig> {
        self.guardrail.as_ref().map(|g| GuardrailConfig {
            guardrail_identifier: g.identifier.clone(),
            guardrail_version: g.version.clone(),
        })
    }

    /// Refuses a `maxTokens` that reasoning raised past the project's
    /// ceiling (`asked`: what the translation would send).
    pub fn check_raised_max_tokens(&self, asked: Option<u64>) -> Result<(), ApiError> {
        match (self.max_tokens.ceiling, asked) {
            (Some(ceiling), Some(asked)) if asked > ceiling => Err(ApiError::invalid(
                "reasoning_effort",
                format!("Reasoning needs `max_tokens` {asked}, above this project's ceiling of {ceiling}; ask for less effort."),
            )),
            _ => Ok(()),
        }
    }

    /// The `max_tokens` to send: the request's (at most the ceiling) or the default.
    pub fn max_tokens(&self, requested: Option<u64>) -> Result<Option<u64>, ApiError> {
        self.output_cap("max_tokens", requested)
    }

    /// The output cap to send in the request field `field` (`max_tokens`,
    /// `max_completion_tokens`, `max_output_tokens`): the request's (at most
    /// the ceiling) or the default.
    pub fn output_cap(
        &self,
        field: &'static str,
        requested: Option<u64>,
    ) -> Result<Option<u64>, ApiError> {
        match (requested, self.max_tokens.ceiling) {
            (Some(n), Some(c)) if n > c => Err(ApiError::invalid(
                field,
                format!("`{field}` {n} is above this project's ceiling of {c}."),
            )),
            (Some(n), _) => Ok(Some(n)),
            (None, _) => Ok(self.max_tokens.default),
        }
    }
}
