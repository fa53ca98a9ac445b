//! A conversation as a signed Converse call, the same for every API that
//! speaks through Converse: the project's policy applied (model allowed,
//! token caps, caching, service tier, latency, metadata, guardrail), the
//! Converse request built under the model's rules, how the answer travels
//! back decided, and the call signed.

use super::{Handoff, Mode, Planning};
use crate::aws::call::{self, Target, EVENT_STREAM};
use crate::aws::endpoint;
use crate::bedrock::converse;
use crate::conversation::converse::to_converse;
use crate::conversation::Conversation;
use crate::error::ApiError;
use crate::header::Name;
use crate::policy::options;
use std::rc::Rc;

/// A Converse call, ready to be emitted.
#[derive(Debug)]
pub struct ConverseCall {
    /// Headers the call sets (path, authority, body framing, timeout, signature).
    pub headers: Vec<(Name, String)>,
    /// The Converse body.
    pub body: Vec<u8>,
    /// How the answer travels back.
    pub mode: Mode,
    /// The tool whose input is the answer (structured output by a forced tool).
    pub answer_tool: Option<Rc<str>>,
    /// What the answer phase knows of the request.
    pub handoff: Handoff,
}

/// Applies the caller's project policy to `conversation`, builds and signs its
/// Converse call (streamed when `stream`, unless the model cannot stream
/// what was asked: then replayed), with Envoy's timeout from `timeout`.
pub fn converse_call(
    ctx: &Planning<'_>,
    mut conversation: Conversation,
    stream: bool,
    timeout: Option<u64>,
) -> Result<ConverseCall, ApiError> {
    let Planning {
        config,
        caller,
        now,
        signing_keys,
    } = *ctx;
    let project = &caller.project;
    let policy = &project.policy;
    policy.check_model(&project.name, &conversation.model)?;
    conversation.sampling.max_tokens = policy.max_tokens(conversation.sampling.max_tokens)?;
    conversation.auto_cache_points = policy.auto_cache_points();
    let chosen = conversation.model.clone();
    let timeout = config.timeout(timeout);
    let options = std::mem::take(&mut conversation.options);
    let mut converse = to_converse(conversation)?;
    options::apply(&chosen, options, policy, &project.name, &mut converse)?;
    policy.check_raised_max_tokens(
        converse
            .inference_config
            .as_ref()
            .and_then(|c| c.max_tokens),
    )?;
    converse.guardrail_config = policy.guardrail_config();
    let mode = match (
        stream,
        converse.tool_config.is_some() && !chosen.info.tools_streaming,
    ) {
        (false, _) => Mode::Json,
        (true, false) => Mode::Stream,
        (true, true) => Mode::Replay,
    };
    let answer_tool = converse.answer_tool.take();
    let body = serde_json::to_vec(&converse)
        .map_err(|e| ApiError::internal(format!("could not encode the Converse body: {e}")))?;
    let streamed = mode == Mode::Stream;
    let target = Target {
        authority: endpoint::authority(config.endpoint.as_ref(), &caller.region),
        path: converse::path(chosen.target(), streamed),
        accept: if streamed {
            EVENT_STREAM
        } else {
            "application/json"
        },
    };
    let headers = call::headers(
        target,
        &body,
        &caller.auth,
        &caller.region,
        timeout,
        now,
        signing_keys,
    )?;
    Ok(ConverseCall {
        headers,
        body,
        mode,
        answer_tool: answer_tool.map(Rc::from),
        handoff: Handoff::new(caller, chosen.id, now),
    })
}
