//! Bedrock's request options as OpenAI clients send them (the Responses API
//! reads `service_tier` and `metadata` the same way): `service_tier`,
//! `performanceConfig` (LiteLLM's name for Converse's field), and the `user`
//! and `metadata` that become Converse `requestMetadata`.
//!
//! Only their shape is checked here; whether a model serves a tier or the
//! latency-optimized version, and Bedrock's limits on metadata, are decided
//! by the project's policy (`crate::policy::options`).

use crate::api::fields::take_opt_string;
use crate::bedrock::options::{Latency, ServiceTier};
use crate::error::ApiError;
use crate::policy::options::RequestOptions;
use serde_json::{Map, Value};

/// `service_tier`: `None` when absent or `auto` (the project's default applies).
pub fn service_tier(v: Option<Value>) -> Result<Option<ServiceTier>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s == "auto" => Ok(None),
        Some(Value::String(s)) => ServiceTier::from_name(&s).map(Some).ok_or_else(|| {
            ApiError::invalid(
                "service_tier",
                "`service_tier` must be one of auto, default, flex or priority (Bedrock's tiers).",
            )
        }),
        Some(_) => Err(ApiError::invalid(
            "service_tier",
            "`service_tier` must be a string.",
        )),
    }
}

/// `metadata`: an object of string pairs, in key order.
pub fn metadata_pairs(v: Option<Value>) -> Result<Vec<(String, String)>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(m)) => m
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(v) => Ok((k, v)),
                _ => Err(ApiError::invalid(
                    "metadata",
                    "`metadata` values must be strings.",
                )),
            })
            .collect(),
        Some(_) => Err(ApiError::invalid(
            "metadata",
            "`metadata` must be an object of string pairs.",
        )),
    }
}

/// Removes and checks the option fields of `obj`.
pub fn parse_options(obj: &mut Map<String, Value>) -> Result<RequestOptions, ApiError> {
    let service_tier = service_tier(obj.remove("service_tier"))?;
    let latency = match obj.remove("performanceConfig") {
        None | Some(Value::Null) => None,
        Some(Value::Object(mut p)) => {
            let latency = match p.remove("latency") {
                None | Some(Value::Null) => None,
                Some(v) => Some(v.as_str().and_then(Latency::from_name).ok_or_else(|| {
                    ApiError::invalid(
                        "performanceConfig.latency",
                        "`performanceConfig.latency` must be `standard` or `optimized`.",
                    )
                })?),
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
    let metadata = metadata_pairs(obj.remove("metadata"))?;
    Ok(RequestOptions {
        service_tier,
        latency,
        user,
        metadata,
    })
}
