//! The per-model rules from the catalog, applied before anything leaves:
//! what a model lacks is a 400 naming the model and the field; what has a
//! faithful adaptation is adapted (each one in `docs/api/chat-completions.md`).
//! [`fit`] decides them for the request as a whole, once; [`check_turns`]
//! judges the turns once they are built.

use super::reasoning::takes_thinking_blocks;
use super::structured::{self, Structured};
use crate::bedrock::converse::{ContentBlock, ConverseMessage, ConverseRole};
use crate::catalog::resolve::Model;
use crate::catalog::{Reasoning, SamplingRule};
use crate::conversation::message::{Message, Role};
use crate::conversation::output::OutputFormat;
use crate::conversation::parts::Part;
use crate::conversation::reasoning::ReasoningAsk;
use crate::conversation::tools::ToolChoice;
use crate::conversation::Sampling;
use crate::error::ApiError;

/// What the model takes of a request, decided once.
#[derive(Debug)]
pub(super) struct Fit {
    /// The caller's tools are in play (offered, and `tool_choice` is not `none`).
    pub(super) caller_tools: bool,
    /// `tool_choice` as the model can take it.
    pub(super) tool_choice: Option<ToolChoice>,
    /// Sampling as the model takes it.
    pub(super) sampling: Sampling,
    /// How the answer's format is carried out, if one was asked.
    pub(super) structured: Option<Structured>,
    /// The assistant's thinking blocks go back to the model.
    pub(super) keep_thinking: bool,
}

/// Decides what `model` takes of a request: its media, tools and
/// `tool_choice`, sampling and stop sequences, and how its output format
/// is carried out. The first rule the request breaks is the refusal.
pub(super) fn fit(
    model: &Model,
    messages: &[Message],
    has_tools: bool,
    mut tool_choice: Option<ToolChoice>,
    mut sampling: Sampling,
    output_format: Option<OutputFormat>,
    reasoning: Option<ReasoningAsk>,
) -> Result<Fit, ApiError> {
    check_media(messages, model)?;
    let caller_tools = has_tools && tool_choice != Some(ToolChoice::None);
    if caller_tools {
        check_tools(model, &mut tool_choice)?;
    }
    adapt_sampling(model, &mut sampling)?;
    let forcing_refused = reasoning.is_some_and(|a| a.is_on())
        && model.info.reasoning == Some(Reasoning::AnthropicBudget);
    let structured = output_format
        .map(|f| structured::plan(model, f, caller_tools, forcing_refused))
        .transpose()?;
    Ok(Fit {
        caller_tools,
        tool_choice,
        sampling,
        structured,
        keep_thinking: takes_thinking_blocks(model),
    })
}

/// Judges the built turns: a prefill the model does not take is refused,
/// and Bedrock's document rules are applied.
pub(super) fn check_turns(model: &Model, turns: &mut [ConverseMessage]) -> Result<(), ApiError> {
    check_prefill(
        model,
        turns
            .last()
            .is_some_and(|t| t.role == ConverseRole::Assistant),
    )?;
    check_documents(turns)
}

/// Refuses images and documents where the model or Converse takes none:
/// models without them, messages other than user and tool messages, and
/// tool messages when the model takes no tools.
fn check_media(messages: &[Message], model: &Model) -> Result<(), ApiError> {
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
                    format!("Model {} does not accept images on Bedrock.", model.named())
                } else {
                    format!(
                        "Model {} does not accept documents on Bedrock.",
                        model.named()
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
fn check_documents(turns: &mut [ConverseMessage]) -> Result<(), ApiError> {
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
fn check_tools(model: &Model, choice: &mut Option<ToolChoice>) -> Result<(), ApiError> {
    let info = model.info;
    if !info.tools {
        return Err(ApiError::invalid(
            "tools",
            format!("Model {} does not support tools on Bedrock.", model.named()),
        ));
    }
    let kinds = info.tool_choice;
    match choice {
        Some(ToolChoice::Required) if !kinds.any => Err(ApiError::invalid(
            "tool_choice",
            format!(
                "Model {} cannot be made to call a tool on Bedrock (`tool_choice: required`); use `auto`.",
                model.named()
            ),
        )),
        Some(ToolChoice::Function(_)) if !kinds.tool => Err(ApiError::invalid(
            "tool_choice",
            format!(
                "Model {} cannot be made to call a named function on Bedrock; use `auto`{}.",
                model.named(),
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
fn adapt_sampling(model: &Model, sampling: &mut Sampling) -> Result<(), ApiError> {
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
            format!("Model {} {what} on Bedrock.", model.named()),
        ));
    }
    Ok(())
}

/// Refuses a conversation that ends with an assistant turn for a model that
/// takes no prefill.
fn check_prefill(model: &Model, ends_with_assistant: bool) -> Result<(), ApiError> {
    if ends_with_assistant && !model.info.prefill {
        return Err(ApiError::invalid(
            "messages",
            format!(
                "Model {} does not continue an assistant message on Bedrock: the conversation must end with a user or tool message.",
                model.named()
            ),
        ));
    }
    Ok(())
}
