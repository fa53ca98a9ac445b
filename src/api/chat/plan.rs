//! Planning a chat call: from the caller and its body to a signed Converse
//! request, decided whole before anything is emitted (or, for a model
//! Bedrock serves through its OpenAI-compatible APIs, to the passthrough
//! of [`crate::api::openai_compat`]).

use super::answer::ChatPending;
use super::request::parse_fields;
use crate::api::body;
use crate::api::openai_compat::{self, CompatApi};
use crate::api::{Handoff, Mode, Planned};
use crate::aws::call::{self, Target, EVENT_STREAM};
use crate::aws::endpoint;
use crate::aws::sigv4::SigningKeys;
use crate::bedrock::converse;
use crate::caller::Caller;
use crate::catalog::resolve::Served;
use crate::config::Config;
use crate::conversation::converse::to_converse;
use crate::error::ApiError;
use crate::policy::options;
use std::rc::Rc;
use std::time::SystemTime;

/// Parses, checks against the project's policy, translates and signs the
/// chat request `body` of `caller`. Notes the model in `model` as soon as
/// it is known.
pub fn plan(
    config: &Config,
    caller: &Caller,
    body: &[u8],
    now: SystemTime,
    signing_keys: &SigningKeys,
    model: &mut Option<Rc<str>>,
) -> Result<Planned, ApiError> {
    let body = body::read(body, &config.models)?;
    let converse_model = match body.model {
        Served::Converse(m) => m,
        Served::OpenAi(m) => {
            let call = openai_compat::Call {
                config,
                caller,
                now,
                signing_keys,
            };
            return openai_compat::plan(CompatApi::ChatCompletions, m, body.fields, &call, model);
        }
    };
    let req = parse_fields(converse_model, body.fields)?;
    let mut conversation = req.conversation;
    *model = Some(Rc::clone(&conversation.model.id));
    let project = &caller.project;
    let policy = &project.policy;
    policy.check_model(&project.name, &conversation.model)?;
    conversation.sampling.max_tokens = policy.max_tokens(conversation.sampling.max_tokens)?;
    conversation.auto_cache_points = policy.auto_cache_points();
    let chosen = conversation.model.clone();
    let timeout = config.timeout(req.timeout_seconds);
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
        req.stream,
        converse.tool_config.is_some() && !chosen.info.tools_streaming,
    ) {
        (false, _) => Mode::Json,
        (true, false) => Mode::Stream,
        (true, true) => Mode::Replay,
    };
    let answer_tool = converse.answer_tool.take();
    let payload = serde_json::to_vec(&converse)
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
        &payload,
        &caller.auth,
        &caller.region,
        timeout,
        now,
        signing_keys,
    )?;
    Ok(Planned {
        headers,
        body: payload,
        pending: crate::api::Pending::Chat(ChatPending {
            handoff: Handoff::new(caller, Rc::clone(&chosen.id), now),
            mode,
            include_usage: req.include_usage,
            answer_tool: answer_tool.map(Rc::from),
        }),
    })
}
