//! Planning a chat call: from the caller and its body to a signed Converse
//! request, decided whole before anything is emitted (or, for a model
//! Bedrock serves through its OpenAI-compatible APIs, to the passthrough
//! of [`crate::api::openai_compat`]).

use super::answer::ChatPending;
use super::request::parse_fields;
use crate::api::converse_call::converse_call;
use crate::api::openai_compat::{self, CompatApi};
use crate::api::{body, Pending, Planned};
use crate::aws::sigv4::SigningKeys;
use crate::caller::Caller;
use crate::catalog::resolve::Served;
use crate::config::Config;
use crate::error::ApiError;
use std::rc::Rc;
use std::time::SystemTime;

/// Parses, checks against the project's policy, translates and signs the
/// chat request `body` of `caller`. Notes the model in `model` once the
/// whole body is read.
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
    *model = Some(Rc::clone(&req.conversation.model.id));
    let call = converse_call(
        config,
        caller,
        req.conversation,
        req.stream,
        req.timeout_seconds,
        now,
        signing_keys,
    )?;
    Ok(Planned {
        headers: call.headers,
        body: call.body,
        pending: Pending::Chat(ChatPending {
            handoff: call.handoff,
            mode: call.mode,
            include_usage: req.include_usage,
            answer_tool: call.answer_tool,
        }),
    })
}
