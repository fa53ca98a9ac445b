//! The per-model rules from the catalog, applied before anything leaves:
//! what a model lacks is a 400 naming the model and the field; what has a
//! faithful adaptation is adapted (each one in the README).

use crate::bedrock::converse::{ContentBlock, Message};
use crate::catalog::resolve::Model;
use crate::catalog::SamplingRule;
use crate::error::ApiError;
use crate::request::parse::message::{self, Role};
use crate::request::parse::parts::Part;
use crate::request::parse::tools::ToolChoice;
use crate::request::parse::Sampling;

/// How the caller's model is named in a refusal: its id, and the catalog
/// model it stands for when that differs (a declared alias or ARN).
pub(super) fn name(model: &Model) -> String {
    if &*model.id == model.info.id {
        format!("`{}`", model.id)
    } else {
        format!("`{}` ({})", model.id, model.info.id)
    }
}

/// Refuses images and documents where the model or Converse takes none:
/// models without them, messages other than user and tool messages, and
/// tool messages when the model takes no tools.
pub(super) fn check_media(messages: &[message::Message], model: &Model) -> Result<(), ApiError> {
    for (i, m) in messages.iter().enumerate() {
        // The caller's part index: cache points are markers, not parts.
        let parts = m.parts.iter().filter(|p| !matches!(p, Part::CachePoint(_)));
        for (j, p) in parts.enumerate() {
            let (what, takes) = match p {
                Part::Image(_) => ("images", model.info.images),
                Part::Document(_) => ("documents", model.info.documents),
                _ => continue,
            };
            let param = format!("messages.[{i}].content.[{j}]");
            let place_ok = match m.role {
                Role::User => true,
                Role::Tool => model.info.tools,
                _ => false,
            };
            if !place_ok {
                return Err(ApiError::invalid(
                    param,
                    format!("Bedrock takes {what} only in user messages and in tool results of models with tools."),
                ));
            }
            if !takes {
                let message = if what == "images" {
                    format!("Model {} does not accept images on Bedrock.", name(model))
                } else {
                    format!(
                        "Model {} does not accept documents on Bedrock.",
                        name(model)
                    )
                };
                return Err(ApiError::invalid(param, message));
            }
        }
    }
    Ok(())
}

/// The most documents Bedrock takes in one message.
pub const MAX_DOCUMENTS_PER_TURN: usize = 5;

/// The text Bedrock wants beside documents, where a turn has none of its own.
pub const DOCUMENT_TEXT: &str = "(see the attached document)";

/// Bedrock's document rules on the built turns: at most five per turn, and a
/// text block beside them (one is added where the turn has none).
pub(super) fn check_documents(turns: &mut [Message]) -> Result<(), ApiError> {
    for (i, turn) in turns.iter_mut().enumerate() {
        let docs = turn
            .content
            .iter()
            .filter(|b| matches!(b, ContentBlock::Document(_)))
            .count();
        if docs > MAX_DOCUMENTS_PER_TURN {
            return Err(ApiError::invalid(
                "messages",
                format!("Bedrock takes at most {MAX_DOCUMENTS_PER_TURN} documents in one turn; turn {i} has {docs}."),
            ));
        }
        let has_text = turn
            .content
            .iter()
            .any(|b| matches!(b, ContentBlock::Text(_)));
        if docs > 0 && !has_text {
            turn.content
                .push(ContentBlock::Text(DOCUMENT_TEXT.to_string()));
        }
    }
    Ok(())
}

/// Refuses tools for a model without them, and a `tool_choice` its
/// `toolChoice` kinds cannot express; `auto` on a model that takes no
/// `toolChoice` at all is left implicit (Converse's default).
pub(super) fn check_tools(model: &Model, choice: &mut Option<ToolChoice>) -> Result<(), ApiError> {
    let info = model.info;
    if !info.tools {
        return Err(ApiError::invalid(
            "tools",
            format!("Model {} does not support tools on Bedrock.", name(model)),
        ));
    }
    let kinds = info.tool_choice;
    match choice {
        Some(ToolChoice::Required) if !kinds.any => Err(ApiError::invalid(
            "tool_choice",
            format!(
                "Model {} cannot be made to call a tool on Bedrock (`tool_choice: required`); use `auto`.",
                name(model)
            ),
        )),
        Some(ToolChoice::Function(_)) if !kinds.tool => Err(ApiError::invalid(
            "tool_choice",
            format!(
                "Model {} cannot be made to call a named function on Bedrock; use `auto`{}.",
                name(model),
                if kinds.any { " or `required`" } else { "" }
            ),
        )),
        Some(ToolChoice::Auto) if !kinds.auto => {
            *choice = None;
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Applies the model's sampling rule and stop-sequence limit: of
/// `temperature` and `top_p`, a model that takes only one gets
/// `temperature`; a model that takes neither gets none; more stop sequences
/// than the model takes are refused.
pub(super) fn adapt_sampling(model: &Model, sampling: &mut Sampling) -> Result<(), ApiError> {
    match model.info.sampling {
        SamplingRule::Any => {}
        SamplingRule::TemperatureOrTopP => {
            if sampling.temperature.is_some() {
                sampling.top_p = None;
            }
        }
        SamplingRule::None => {
            sampling.temperature = None;
            sampling.top_p = None;
        }
    }
    let max = usize::from(model.info.max_stop_sequences);
    if sampling.stop.len() > max {
        let what = match max {
            0 => "takes no stop sequences".to_string(),
            1 => "takes at most 1 stop sequence".to_string(),
            n => format!("takes at most {n} stop sequences"),
        };
        return Err(ApiError::invalid(
            "stop",
            format!("Model {} {what} on Bedrock.", name(model)),
        ));
    }
    Ok(())
}

/// Refuses a conversation that ends with an assistant turn for a model that
/// takes no prefill.
pub(super) fn check_prefill(model: &Model, ends_with_assistant: bool) -> Result<(), ApiError> {
    if ends_with_assistant && !model.info.prefill {
        return Err(ApiError::invalid(
            "messages",
            format!(
                "Model {} does not continue an assistant message on Bedrock: the conversation must end with a user or tool message.",
                name(model)
            ),
        ));
    }
    Ok(())
}
