//! Bedrock's request options as OpenAI clients send them: `service_tier`,
//! `performanceConfig` (LiteLLM's name for Converse's field), and the `user`
//! and `metadata` that become Converse `requestMetadata`.
//!
//! Only their shape is checked here; whether a model serves a tier or the
//! latency-optimized version, and Bedrock's limits on metadata, are checked
//! when the Converse request is built (the project's policy decides first).

use super::fields::take_opt_string;
use crate::error::ApiError;
use serde_json::{Map, Value};

/// A Bedrock service tier (Converse `serviceTier.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceTier {
    /// Faster, at a premium.
    Priority,
    /// Standard.
    Default,
    /// Cheaper, slower, for work that can wait.
    Flex,
}

impl ServiceTier {
    /// Every tier.
    pub const ALL: [ServiceTier; 3] = [
        ServiceTier::Priority,
        ServiceTier::Default,
        ServiceTier::Flex,
    ];

    /// The name both APIs use.
    pub fn name(self) -> &'static str {
        match self {
            ServiceTier::Priority => "priority",
            ServiceTier::Default => "default",
            ServiceTier::Flex => "flex",
        }
    }

    /// The tier named `name`.
    pub fn from_name(name: &str) -> Option<ServiceTier> {
        ServiceTier::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// Converse `performanceConfig.latency`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latency {
    /// The model as usual.
    Standard,
    /// Its latency-optimized version (some models, some Regions).
    Optimized,
}

impl Latency {
    /// Converse's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Latency::Standard => "standard",
            Latency::Optimized => "optimized",
        }
    }
}

/// The request's options, as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// `service_tier`: `None` when absent or `auto` (the project's default applies).
    pub service_tier: Option<ServiceTier>,
    /// `performanceConfig.latency`.
    pub latency: Option<Latency>,
    /// OpenAI `user`.
    pub user: Option<String>,
    /// OpenAI `metadata` pairs, in key order.
    pub metadata: Vec<(String, String)>,
}

/// Removes and checks the option fields of `obj`.
pub fn parse_options(obj: &mut Map<String, Value>) -> Result<Options, ApiError> {
    let service_tier = match obj.remove("service_tier") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == "auto" => None,
        Some(Value::String(s)) => Some(ServiceTier::from_name(&s).ok_or_else(|| {
            ApiError::invalid(
                "service_tier",
                "`service_tier` must be one of auto, default, flex or priority (Bedrock's tiers).",
            )
        })?),
        Some(_) => {
            return Err(ApiError::invalid(
                "service_tier",
                "`service_tier` must be a string.",
            ))
        }
    };
    let latency = match obj.remove("performanceConfig") {
        None | Some(Value::Null) => None,
        Some(Value::Object(mut p)) => {
            let latency = match p.remove("latency") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s == "standard" => Some(Latency::Standard),
                Some(Value::String(s)) if s == "optimized" => Some(Latency::Optimized),
                Some(_) => {
                    return Err(ApiError::invalid(
                        "performanceConfig.latency",
                        "`performanceConfig.latency` must be `standard` or `optimized`.",
                    ))
                }
            };
            if let Some(k) = p.keys().next() {
                return Err(ApiError::invalid(
                    "performanceConfig",
                    format!("`performanceConfig` takes only `latency`, not `{k}`."),
                ));
            }
            latency
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "performanceConfig",
                "`performanceConfig` must be an object.",
            ))
        }
    };
    let user = take_opt_string(obj, "user", &|| "user".into())?;
    let metadata = match obj.remove("metadata") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(m)) => m
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(v) => Ok((k, v)),
                _ => Err(ApiError::invalid(
                    "metadata",
                    "`metadata` values must be strings.",
                )),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => {
            return Err(ApiError::invalid(
                "metadata",
                "`metadata` must be an object of string pairs.",
            ))
        }
    };
    Ok(Options {
        service_tier,
        latency,
        user,
        metadata,
    })
}
