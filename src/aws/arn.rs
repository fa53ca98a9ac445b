//! Bedrock ARNs, one grammar: `arn:aws[-<partition>]:bedrock:<region>:<account>:<resource>`,
//! read once by [`split`]; the models an operator may declare (the shapes
//! botocore's `ConversationalModelId` pattern allows for Converse, [`parse`])
//! and guardrails ([`is_guardrail`]) are kinds of it.

/// The kinds of Bedrock resource a Converse `modelId` ARN may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArnKind {
    /// `foundation-model/<provider>.<model>` (no account).
    FoundationModel,
    /// `inference-profile/<id>` (system-defined, cross-region).
    InferenceProfile,
    /// `application-inference-profile/<id>` (for cost allocation).
    ApplicationInferenceProfile,
    /// `provisioned-model/<id>` (provisioned throughput).
    ProvisionedModel,
    /// `custom-model/<provider>.<model>/<id>`.
    CustomModel,
    /// `custom-model-deployment/<id>`.
    CustomModelDeployment,
    /// `prompt-router/<id>` or `default-prompt-router/<id>`.
    PromptRouter,
}

fn all(s: &str, allowed: impl Fn(u8) -> bool) -> bool {
    s.bytes().all(allowed)
}

fn lower_alnum_dash(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'
}

/// `[a-z0-9-]{1,63}.[a-z0-9-]{1,63}([.:]?[a-z0-9-]{1,63})`: a provider-dotted model id.
fn model_id_ok(s: &str) -> bool {
    let Some((provider, rest)) = s.split_once('.') else {
        return false;
    };
    (1..=63).contains(&provider.len())
        && all(provider, lower_alnum_dash)
        && !rest.is_empty()
        && rest
            .split(['.', ':'])
            .all(|p| (1..=63).contains(&p.len()) && all(p, lower_alnum_dash))
}

/// 12 lower-case letters or digits (provisioned, deployment, custom model ids).
fn short_id_ok(s: &str) -> bool {
    s.len() == 12 && all(s, |b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// `[a-zA-Z0-9-:.]+` (profile and router ids).
fn profile_id_ok(s: &str) -> bool {
    !s.is_empty() && all(s, |b| b.is_ascii_alphanumeric() || b"-:.".contains(&b))
}

/// The parts of a Bedrock ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts<'a> {
    /// The Region (checked for shape only).
    pub region: &'a str,
    /// The account: empty, or anything (its rule is the resource kind's).
    pub account: &'a str,
    /// The resource kind (`application-inference-profile`).
    pub kind: &'a str,
    /// The resource id after the kind's `/`.
    pub id: &'a str,
}

/// Splits a Bedrock ARN into its parts, or says why it is not one.
pub fn split(arn: &str) -> Result<Parts<'_>, String> {
    let mut parts = arn.splitn(6, ':');
    let fields: [&str; 6] = std::array::from_fn(|_| parts.next().unwrap_or(""));
    let [scheme, partition, service, region, account, resource] = fields;
    let partition_ok = partition == "aws"
        || partition
            .strip_prefix("aws-")
            .is_some_and(|p| !p.is_empty() && !p.contains(':'));
    if scheme != "arn" || !partition_ok || service != "bedrock" {
        return Err("must start with arn:aws[-<partition>]:bedrock:".into());
    }
    if !(1..=20).contains(&region.len()) || !all(region, lower_alnum_dash) {
        return Err("has no valid region".into());
    }
    let (kind, id) = resource.split_once('/').unwrap_or((resource, ""));
    Ok(Parts {
        region,
        account,
        kind,
        id,
    })
}

/// 12 digits: an AWS account id.
fn account_ok(account: &str) -> bool {
    account.len() == 12 && all(account, |b| b.is_ascii_digit())
}

/// What kind of Bedrock resource `arn` names, or why it is not one Converse
/// accepts. The region is checked for shape only.
pub fn parse(arn: &str) -> Result<ArnKind, String> {
    let Parts {
        account, kind, id, ..
    } = split(arn)?;
    let account_ok = account_ok(account);
    let (found, id_ok) = match kind {
        "foundation-model" => (ArnKind::FoundationModel, account.is_empty() && model_id_ok(id)),
        "inference-profile" => (ArnKind::InferenceProfile, account_ok && profile_id_ok(id)),
        "application-inference-profile" => {
            (ArnKind::ApplicationInferenceProfile, account_ok && profile_id_ok(id))
        }
        "provisioned-model" => (ArnKind::ProvisionedModel, account_ok && short_id_ok(id)),
        "custom-model-deployment" => (ArnKind::CustomModelDeployment, account_ok && short_id_ok(id)),
        "custom-model" => (
            ArnKind::CustomModel,
            account_ok
                && id
                    .rsplit_once('/')
                    .is_some_and(|(model, sid)| model_id_ok(model) && short_id_ok(sid)),
        ),
        "prompt-router" | "default-prompt-router" => {
            (ArnKind::PromptRouter, account_ok && profile_id_ok(id))
        }
        "imported-model" => return Err("names an imported model, which Converse does not serve".into()),
        _ => {
            return Err(format!(
                "names a `{kind}`, not a model, inference profile, provisioned or custom model or prompt router"
            ))
        }
    };
    if id_ok {
        Ok(found)
    } else {
        Err(format!(
            "is not a well-formed `{kind}` ARN (account or resource id)"
        ))
    }
}

/// `[a-z0-9]+`: a guardrail id.
fn lower_alnum(s: &str) -> bool {
    !s.is_empty() && all(s, |b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Bedrock's guardrail identifier rule: `[a-z0-9]+`, or
/// `arn:aws(-*)?:bedrock:<region>:<12 digits>:guardrail/[a-z0-9]+`.
pub fn is_guardrail(id: &str) -> bool {
    if lower_alnum(id) {
        return true;
    }
    split(id).is_ok_and(|p| p.kind == "guardrail" && account_ok(p.account) && lower_alnum(p.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_converse_accepts() {
        for (arn, kind) in [
            (
                "arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/a1b2c3d4e5f6",
                ArnKind::ApplicationInferenceProfile,
            ),
            (
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0",
                ArnKind::InferenceProfile,
            ),
            (
                "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
                ArnKind::FoundationModel,
            ),
            (
                "arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:provisioned-model/abcdef123456",
                ArnKind::ProvisionedModel,
            ),
            (
                "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-lite-v1:0:300k/abcdef123456",
                ArnKind::CustomModel,
            ),
            (
                "arn:aws:bedrock:us-east-1:123456789012:default-prompt-router/anthropic.claude:1",
                ArnKind::PromptRouter,
            ),
        ] {
            assert_eq!(parse(arn), Ok(kind), "{arn}");
        }
    }

    #[test]
    fn refuses_the_rest_with_a_reason() {
        for arn in [
            "arn:aws:s3:us-east-1:123456789012:application-inference-profile/x",
            "arn:aws:bedrock::123456789012:application-inference-profile/x",
            "arn:aws:bedrock:us-east-1:1234:application-inference-profile/x",
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/",
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a b",
            "arn:aws:bedrock:us-east-1:123456789012:foundation-model/x",
            "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/short",
            "arn:aws:bedrock:us-east-1:123456789012:imported-model/abcdef123456",
            "arn:aws:bedrock:us-east-1:123456789012:guardrail/abc",
            "arn:aws:bedrock:US-EAST-1:123456789012:inference-profile/x",
            "not-an-arn",
        ] {
            assert!(parse(arn).is_err(), "{arn}");
        }
    }

    #[test]
    fn guardrail_rules_follow_bedrock() {
        for ok in [
            "abc123",
            "arn:aws:bedrock:us-east-1:123456789012:guardrail/abc1",
            "arn:aws-cn:bedrock:cn-north-1:123456789012:guardrail/x9",
        ] {
            assert!(is_guardrail(ok), "{ok}");
        }
        for bad in [
            "",
            "gr-test",
            "ABC",
            "arn:aws:bedrock:us-east-1:1234:guardrail/a",
            "arn:aws:s3:us-east-1:123456789012:guardrail/a",
        ] {
            assert!(!is_guardrail(bad), "{bad}");
        }
    }
}
