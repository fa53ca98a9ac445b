//! Planning a Responses call: from the caller and its body to a signed
//! Converse request, decided whole before anything is emitted (the same
//! policy, translation and signing as chat completions); or, for a model
//! Bedrock serves through its OpenAI-compatible APIs, to the passthrough of
//! [`crate::api::openai_compat`].

use super::answer::{ResponseContext, ResponsesPending};
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
/// Responses request `body` of `caller`. Notes the model in `model` once
/// the whole body is read.
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
            return openai_compat::plan(CompatApi::Responses, m, body.fields, &call, model);
        }
    };
    let item_key = config.item_key.as_ref().map(|k| k.bytes());
    let req = parse_fields(converse_model, body.fields, item_key)?;
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
    let context = ResponseContext {
        id: String::new(),
        model: Rc::clone(&call.handoff.model),
        created: call.handoff.created,
        echo: req.echo.into(),
        summary: req.summary,
        encrypted_reasoning: req.encrypted_reasoning,
        tools: Rc::new(req.tools),
        answer_tool: call.answer_tool,
        item_key: config.item_key.clone(),
    };
    Ok(Planned {
        headers: call.headers,
        body: call.body,
        pending: Pending::Responses(ResponsesPending {
            handoff: call.handoff,
            mode: call.mode,
            context,
        }),
    })
}
