//! Planning a chat call: from the caller and its body to a signed Converse
//! request, decided whole before anything is emitted (a model Bedrock serves
//! through its OpenAI-compatible APIs goes to [`crate::api::openai_compat`]
//! instead: [`crate::api::plan()`] decides).

use super::answer::ChatPending;
use super::request::parse_fields;
use crate::api::converse_call::converse_call;
use crate::api::{Pending, Planned, Planning};
use crate::catalog::resolve::Model;
use crate::error::ApiError;
use serde_json::{Map, Value};
use std::rc::Rc;

/// Parses the rest of a chat body whose Converse `model` is read, checks it
/// against the project's policy, translates and signs it. Notes the model
/// in `noted` once the whole body is read.
pub fn plan(
    ctx: &Planning<'_>,
    model: Model,
    fields: Map<String, Value>,
    noted: &mut Option<Rc<str>>,
) -> Result<Planned, ApiError> {
    let req = parse_fields(model, fields)?;
    *noted = Some(Rc::clone(&req.conversation.model.id));
    let call = converse_call(ctx, req.conversation, req.stream, req.timeout_seconds)?;
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
