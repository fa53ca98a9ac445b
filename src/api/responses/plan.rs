//! Planning a Responses call: from the caller and its body to a signed
//! Converse request, decided whole before anything is emitted (the same
//! policy, translation and signing as chat completions; a model Bedrock
//! serves through its OpenAI-compatible APIs goes to
//! [`crate::api::openai_compat`] instead: [`crate::api::plan()`] decides).

use super::answer::{ResponseContext, ResponsesPending};
use super::request::parse_fields;
use crate::api::converse_call::converse_call;
use crate::api::{Pending, Planned, Planning};
use crate::catalog::resolve::Model;
use crate::error::ApiError;
use serde_json::{Map, Value};
use std::rc::Rc;

/// Parses the rest of a Responses body whose Converse `model` is read,
/// checks it against the project's policy, translates and signs it. Notes
/// the model in `noted` once the whole body is read.
pub fn plan(
    ctx: &Planning<'_>,
    model: Model,
    fields: Map<String, Value>,
    noted: &mut Option<Rc<str>>,
) -> Result<Planned, ApiError> {
    let config = ctx.config;
    let item_key = config.item_key.as_ref().map(|k| k.bytes());
    let req = parse_fields(model, fields, item_key)?;
    *noted = Some(Rc::clone(&req.conversation.model.id));
    let call = converse_call(ctx, req.conversation, req.stream, req.timeout_seconds)?;
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
