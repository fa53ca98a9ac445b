//! The per-model rules from the catalog, applied before anything leaves:
//! what a model lacks is a 400 naming the model and the field; what has a
//! faithful adaptation is adapted (each one in the README).

use crate::catalog::resolve::Model;
use crate::catalog::SamplingRule;
use crate::error::ApiError;
use crate::request::parse::message::{self, Part, Role};
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

/// Refuses image parts for models without images, and outside user messages.
pub(super) fn check_images(messages: &[message::Message], model: &Model) -> Result<(), ApiError> {
    for (i, m) in messages.iter().enumerate() {
        for (j, p) in m.parts.iter().enumerate() {
            if !matches!(p, Part::Image(_)) {
                continue;
            }
            let param = format!("messages.[{i}].content.[{j}]");
            if m.role != Role::User {
                return Err(ApiError::invalid(
                    param,
                    "Images are only accepted in user messages.",
                ));
            }
            if !model.info.images {
                return Err(ApiError::invalid(
                    param,
                    format!("Model {} does not accept images on Bedrock.", name(model)),
                ));
            }
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
