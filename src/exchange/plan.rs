//! Planning the upstream call: from the caller and its body to a signed
//! Converse request, decided whole before anything is emitted.

use crate::answer::buffered::{Mode, Pending};
use crate::bedrock::converse::GuardrailConfig;
use crate::config::Config;
use crate::error::ApiError;
use crate::exchange::record::Record;
use crate::exchange::step::Name;
use crate::policy::PromptCaching;
use crate::request::caller::{Caller, UpstreamAuth};
use crate::request::converse::{options, to_converse};
use crate::request::headers::ENVOY_SIGNER_HEADER;
use crate::request::parse;
use crate::request::sigv4::{sign_request, SignRequest, SigningKeys};
use crate::request::upstream;
use std::borrow::Cow;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The upstream call, ready to be emitted.
#[derive(Debug)]
pub(crate) struct UpstreamCall {
    /// Headers the call sets (path, authority, body framing, timeout, signature).
    pub(crate) headers: Vec<(Name, String)>,
    /// The Converse body.
    pub(crate) body: Vec<u8>,
    /// What the answer phase needs to know.
    pub(crate) pending: Pending,
}

/// Parses, checks against the project's policy, translates and signs the
/// request `body` of `caller`. Notes the model in `record` as soon as it is known.
pub(crate) fn plan(
    config: &Config,
    caller: Caller,
    body: &[u8],
    now: SystemTime,
    signing_keys: &SigningKeys,
    record: &mut Record,
) -> Result<UpstreamCall, ApiError> {
    let mut req = parse::parse(body, &config.models)?;
    record.model = Some(Rc::clone(&req.model.id));
    let policy = &caller.project.policy;
    policy.check_model(&caller.project.name, &req.model)?;
    req.sampling.max_tokens = policy.max_tokens(req.sampling.max_tokens)?;
    req.auto_cache_points = policy.prompt_caching == PromptCaching::Auto;
    let model = req.model.clone();
    let include_usage = req.include_usage;
    let timeout = req
        .timeout_seconds
        .unwrap_or(config.max_timeout_seconds)
        .min(config.max_timeout_seconds);
    let tools_streaming = model.info.tools_streaming;
    let stream = req.stream;
    let options = std::mem::take(&mut req.options);
    let mut converse = to_converse(req)?;
    options::apply(&model, options, policy, &caller.project.name, &mut converse)?;
    if let (Some(ceiling), Some(asked)) = (
        policy.max_tokens.ceiling,
        converse
            .inference_config
            .as_ref()
            .and_then(|c| c.max_tokens),
    ) {
        // Only a reasoning budget raises maxTokens past what the policy allowed.
        if asked > ceiling {
            return Err(ApiError::invalid(
                "reasoning_effort",
                format!("Reasoning needs `max_tokens` {asked}, above this project's ceiling of {ceiling}; ask for less effort."),
            ));
        }
    }
    converse.guardrail_config = policy.guardrail.as_ref().map(|g| GuardrailConfig {
        guardrail_identifier: g.identifier.clone(),
        guardrail_version: g.version.clone(),
    });
    let mode = match (stream, converse.tool_config.is_some() && !tools_streaming) {
        (false, _) => Mode::Json,
        (true, false) => Mode::Stream,
        (true, true) => Mode::Replay,
    };
    let answer_tool = converse.answer_tool.take();
    let payload = serde_json::to_vec(&converse)
        .map_err(|e| ApiError::internal(format!("could not encode the Converse body: {e}")))?;
    let streamed = mode == Mode::Stream;
    let authority = upstream::authority(config.endpoint.as_ref(), &caller.region);
    let path = upstream::converse_path(model.target(), streamed);
    let accept = if streamed {
        "application/vnd.amazon.eventstream"
    } else {
        "application/json"
    };
    let mut headers: Vec<(Name, String)> = Vec::with_capacity(10);
    match &caller.auth {
        UpstreamAuth::SigV4(credentials) => {
            let signed = sign_request(
                &SignRequest {
                    authority: &authority,
                    path: &path,
                    body: &payload,
                    region: &caller.region,
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
        // The route this header selects runs Envoy's signer (see README, "credentials: envoy").
        UpstreamAuth::Envoy => headers.push((ENVOY_SIGNER_HEADER.into(), "envoy".into())),
    }
    headers.push((":path".into(), path));
    headers.push((":authority".into(), authority));
    headers.push(("content-type".into(), "application/json".into()));
    headers.push(("content-length".into(), payload.len().to_string()));
    headers.push(("accept".into(), accept.into()));
    headers.push((
        "x-envoy-upstream-rq-timeout-ms".into(),
        (timeout * 1000).to_string(),
    ));
    let created = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Ok(UpstreamCall {
        headers,
        body: payload,
        pending: Pending {
            caller,
            model: model.id,
            created,
            mode,
            include_usage,
            answer_tool: answer_tool.map(Rc::from),
        },
    })
}
