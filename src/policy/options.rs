//! Bedrock's request options, as the request asks and the project's policy
//! allows: `serviceTier`, `performanceConfig` and `requestMetadata`, decided
//! together and written into the Converse request.
//!
//! - Service tier: the request's (`auto` or none: the policy's default), or
//!   the policy's pin (a request naming another tier is refused). A tier the
//!   model does not serve is refused, except a policy default, which then
//!   gives way to Bedrock's standard tier.
//! - Latency: the request's `performanceConfig.latency`, else the policy's.
//!   `optimized` on a model without a latency-optimized version is refused
//!   when the request asks, skipped when the policy does.
//! - Request metadata (unless the policy turns it off): `project` (the
//!   project's name), `user` (OpenAI `user`), then the request's `metadata`
//!   pairs, within Bedrock's limits: at most 16 pairs, keys of 1–256 and
//!   values of 0–256 characters of `[a-zA-Z0-9\s:_@$#=/+,-.]`.

use super::{Policy, TierRule};
use crate::bedrock::converse::{
    ConverseRequest, PerformanceConfig, RequestMetadata, ServiceTierConfig,
};
use crate::bedrock::options::{Latency, ServiceTier};
use crate::catalog::resolve::Model;
use crate::error::ApiError;

/// Bedrock's request options as the request asks them (their shape checked,
/// nothing decided yet).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOptions {
    /// `service_tier`: `None` when absent or `auto` (the project's default applies).
    pub service_tier: Option<ServiceTier>,
    /// `performanceConfig.latency`.
    pub latency: Option<Latency>,
    /// OpenAI `user`.
    pub user: Option<String>,
    /// OpenAI `metadata` pairs, in key order.
    pub metadata: Vec<(String, String)>,
}

/// Bedrock's most `requestMetadata` pairs.
pub const MAX_METADATA_PAIRS: usize = 16;
/// Bedrock's longest `requestMetadata` key or value.
pub const MAX_METADATA_CHARS: usize = 256;
/// The keys the filter writes itself.
pub const RESERVED_METADATA_KEYS: [&str; 2] = ["project", "user"];

fn serves(model: &Model, tier: ServiceTier) -> bool {
    let t = model.info.service_tiers;
    match tier {
        ServiceTier::Priority => t.priority,
        ServiceTier::Default => t.default,
        ServiceTier::Flex => t.flex,
    }
}

/// Bedrock's metadata character set: `[a-zA-Z0-9\s:_@$#=/+,-.]` (Java's `\s`).
fn metadata_chars_ok(s: &str) -> bool {
    s.len() <= MAX_METADATA_CHARS
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b" \t\n\x0b\x0c\r:_@$#=/+,-.".contains(&b))
}

fn tier(
    model: &Model,
    asked: Option<ServiceTier>,
    rule: Option<TierRule>,
) -> Result<Option<ServiceTier>, ApiError> {
    let refuse = |t: ServiceTier| {
        ApiError::invalid(
            "service_tier",
            format!(
                "Model {} does not offer the `{}` service tier on Bedrock.",
                model.named(),
                t.name()
            ),
        )
    };
    match (asked, rule) {
        (Some(a), Some(TierRule::Pin(p))) if a != p => Err(ApiError::invalid(
            "service_tier",
            format!(
                "This project's service tier is `{}`; the request asked for `{}`.",
                p.name(),
                a.name()
            ),
        )),
        (_, Some(TierRule::Pin(p))) | (Some(p), _) => {
            if serves(model, p) {
                Ok(Some(p))
            } else {
                Err(refuse(p))
            }
        }
        (None, Some(TierRule::Default(d))) => Ok(Some(d).filter(|d| serves(model, *d))),
        (None, None) => Ok(None),
    }
}

fn metadata(options: RequestOptions, project: &str) -> Result<RequestMetadata, ApiError> {
    let mut pairs = Vec::with_capacity(2 + options.metadata.len());
    pairs.push(("project".to_string(), project.to_string()));
    if let Some(user) = options.user {
        if !metadata_chars_ok(&user) {
            return Err(ApiError::invalid(
                "user",
                "`user` goes to Bedrock's request metadata: at most 256 characters of letters, digits, spaces and :_@$#=/+,-.",
            ));
        }
        pairs.push(("user".to_string(), user));
    }
    let extra = options.metadata.len();
    for (k, v) in options.metadata {
        if RESERVED_METADATA_KEYS.contains(&k.as_str()) {
            return Err(ApiError::invalid(
                "metadata",
                format!("`metadata` key `{k}` is the gateway's own (the project and `user`)."),
            ));
        }
        if k.is_empty() || !metadata_chars_ok(&k) || !metadata_chars_ok(&v) {
            return Err(ApiError::invalid(
                "metadata",
                "`metadata` goes to Bedrock's request metadata: keys of 1-256 and values of 0-256 characters of letters, digits, spaces and :_@$#=/+,-.",
            ));
        }
        pairs.push((k, v));
    }
    if pairs.len() > MAX_METADATA_PAIRS {
        let own = pairs.len() - extra;
        return Err(ApiError::invalid(
            "metadata",
            format!(
                "Bedrock takes at most {MAX_METADATA_PAIRS} request metadata pairs and the gateway adds {own} (`project`, and `user` when given): send at most {} `metadata` pairs.",
                MAX_METADATA_PAIRS - own
            ),
        ));
    }
    Ok(RequestMetadata(pairs))
}

/// Adds the options of `options` and `policy` to `out` (`project` names the caller's project).
pub fn apply(
    model: &Model,
    options: RequestOptions,
    policy: &Policy,
    project: &str,
    out: &mut ConverseRequest,
) -> Result<(), ApiError> {
    out.service_tier = tier(model, options.service_tier, policy.service_tier)?
        .map(|t| ServiceTierConfig { kind: t.name() });
    let latency = match (options.latency, policy.latency) {
        (Some(Latency::Optimized), _) if !model.info.latency_optimized => {
            return Err(ApiError::invalid(
                "performanceConfig.latency",
                format!(
                    "Model {} has no latency-optimized version on Bedrock.",
                    model.named()
                ),
            ))
        }
        (Some(l), _) => Some(l),
        (None, Some(Latency::Optimized)) if !model.info.latency_optimized => None,
        (None, l) => l,
    };
    out.performance_config = latency.map(|l| PerformanceConfig { latency: l.name() });
    if policy.request_metadata {
        out.request_metadata = metadata(options, project)?;
    }
    Ok(())
}
