//! Asking for reasoning, per the model's kind in the catalog, and Bedrock's
//! thinking rules applied before anything leaves.
//!
//! - Claude 3.7 – 4.5: `thinking: {type: "enabled", budget_tokens}`, the
//!   budget from [`BUDGETS`]; `maxTokens` is raised above the budget when the
//!   caller's is too small or absent. A forced `tool_choice` is refused.
//! - Claude 4.6 and later: `thinking: {type: "adaptive", display:
//!   "summarized"}` and `outputConfig.effort`. Opus 4.7 changed `display`'s
//!   default to `omitted` (a signature and no text), so the filter asks for
//!   the summary OpenAI clients show as `reasoning_content`.
//! - Both Claude kinds: `temperature` is dropped (thinking runs at 1) and a
//!   `top_p` below 0.95 is dropped (Anthropic's limits while thinking).
//! - Nova 2: `reasoningConfig: {type: "enabled", maxReasoningEffort}`.
//! - gpt-oss: `reasoning_effort`.
//! - DeepSeek R1 always reasons: nothing is sent, and `none` is refused.
//!
//! A tool loop in progress whose assistant turn comes back without its
//! thinking blocks cannot be continued with thinking on (Bedrock wants that
//! turn to start with its signed block): the request then goes without
//! thinking, as Anthropic's own API degrades when thinking toggles mid-turn.

use crate::bedrock::converse::{ContentBlock, ConverseMessage, ConverseRequest, ConverseRole};
use crate::catalog::resolve::Model;
use crate::catalog::Reasoning;
use crate::conversation::reasoning::{Effort, ReasoningAsk};
use crate::conversation::tools::ToolChoice;
use crate::conversation::Sampling;
use crate::error::ApiError;
use serde_json::{json, Value};

/// `reasoning_effort` → Claude thinking budget, in tokens (LiteLLM's map,
/// which the clients written for it expect; Bedrock's minimum is 1024).
pub const BUDGETS: [(Effort, u64); 5] = [
    (Effort::Minimal, 1024),
    (Effort::Low, 1024),
    (Effort::Medium, 2048),
    (Effort::High, 4096),
    (Effort::Xhigh, 8192),
];

/// Tokens left for the answer when `maxTokens` is raised above a thinking
/// budget and the caller gave none.
pub const ANSWER_ROOM: u64 = 4096;

fn budget(effort: Effort) -> u64 {
    BUDGETS
        .iter()
        .find(|(e, _)| *e == effort)
        .map_or(1024, |(_, b)| *b)
}

/// Effort on the scale of `outputConfig.effort` (and of Nova's and gpt-oss's
/// three levels, where `xhigh` is `high`).
fn effort_name(effort: Effort, has_xhigh: bool) -> &'static str {
    match effort {
        Effort::None | Effort::Minimal | Effort::Low => "low",
        Effort::Medium => "medium",
        Effort::High => "high",
        Effort::Xhigh if has_xhigh => "xhigh",
        Effort::Xhigh => "high",
    }
}

/// The effort a thinking budget stands for, for models that take an effort.
fn effort_of_budget(tokens: u64) -> Effort {
    BUDGETS
        .iter()
        .rev()
        .find(|(_, b)| tokens >= *b)
        .map_or(Effort::Low, |(e, _)| *e)
}

/// Whether the model is a Claude that reasons (and so takes thinking blocks back).
pub(super) fn takes_thinking_blocks(model: &Model) -> bool {
    matches!(
        model.info.reasoning,
        Some(Reasoning::AnthropicBudget | Reasoning::AnthropicAdaptive)
    )
}

/// True when the conversation ends in a tool loop (the user's tool results
/// after the assistant's tool use) whose first assistant turn lacks its
/// thinking. Anthropic's rule: the first assistant turn after the last user
/// turn that answers no tool must start with its thinking block; later turns
/// of the loop carry none (Claude thinks once per turn without interleaved
/// thinking), so a two-round loop is judged by its first round.
fn tool_loop_lacks_thinking(turns: &[ConverseMessage]) -> bool {
    let answers_tools = |m: &ConverseMessage| {
        m.role == ConverseRole::User
            && m.content
                .iter()
                .any(|b| matches!(b, ContentBlock::ToolResult(_)))
    };
    if !turns.last().is_some_and(answers_tools) {
        return false;
    }
    let start = turns
        .iter()
        .rposition(|m| m.role == ConverseRole::User && !answers_tools(m))
        .map_or(0, |i| i + 1);
    let Some(first) = turns.get(start..).and_then(|loop_turns| {
        loop_turns
            .iter()
            .find(|m| m.role == ConverseRole::Assistant)
    }) else {
        return false;
    };
    first
        .content
        .iter()
        .any(|b| matches!(b, ContentBlock::ToolUse(_)))
        && !matches!(
            first.content.first(),
            Some(ContentBlock::ReasoningContent(_))
        )
}

fn refuse(param: &'static str, message: String) -> ApiError {
    ApiError::invalid(param, message)
}

/// Drops the sampling parameters Anthropic refuses while thinking.
fn thinking_sampling(sampling: &mut Sampling) {
    sampling.temperature = None;
    if sampling.top_p.is_some_and(|p| p < 0.95) {
        sampling.top_p = None;
    }
}

/// Adds the model's reasoning request to `out` (whose turns are built), as `ask` asks.
pub(super) fn apply(
    model: &Model,
    ask: Option<ReasoningAsk>,
    sampling: &mut Sampling,
    tool_choice: Option<&ToolChoice>,
    out: &mut ConverseRequest,
) -> Result<(), ApiError> {
    let Some(ask) = ask else {
        return Ok(());
    };
    let param = match ask {
        ReasoningAsk::Effort(_) => "reasoning_effort",
        _ => "thinking",
    };
    let kind = model.info.reasoning;
    if !ask.is_on() {
        if kind == Some(Reasoning::DeepSeekAlways) {
            return Err(refuse(
                param,
                format!(
                    "Model {} always reasons on Bedrock; it cannot be asked not to.",
                    model.named()
                ),
            ));
        }
        return Ok(());
    }
    let Some(kind) = kind else {
        return Err(refuse(
            param,
            format!("Model {} cannot reason on Bedrock.", model.named()),
        ));
    };
    let fields = &mut out.additional_model_request_fields;
    match kind {
        Reasoning::AnthropicBudget | Reasoning::AnthropicAdaptive
            if tool_loop_lacks_thinking(&out.messages) => {}
        Reasoning::AnthropicBudget => {
            let tokens = thinking_budget(model, ask, tool_choice)?;
            sampling.max_tokens = match sampling.max_tokens {
                None => Some(tokens + ANSWER_ROOM),
                Some(m) if m <= tokens => Some(tokens + m),
                keep => keep,
            };
            thinking_sampling(sampling);
            fields.insert(
                "thinking".into(),
                json!({"type": "enabled", "budget_tokens": tokens}),
            );
        }
        Reasoning::AnthropicAdaptive => {
            out.output_config.effort = match ask {
                ReasoningAsk::Effort(e) => Some(effort_name(e, true)),
                ReasoningAsk::Budget(n) => Some(effort_name(effort_of_budget(n), true)),
                _ => None,
            };
            thinking_sampling(sampling);
            fields.insert(
                "thinking".into(),
                json!({"type": "adaptive", "display": "summarized"}),
            );
        }
        Reasoning::Nova | Reasoning::OpenAiEffort => {
            let ReasoningAsk::Effort(e) = ask else {
                return Err(refuse(
                    "thinking",
                    format!(
                        "`thinking` is Claude's; ask model {} with `reasoning_effort`.",
                        model.named()
                    ),
                ));
            };
            let level = Value::from(effort_name(e, false));
            if kind == Reasoning::Nova {
                fields.insert(
                    "reasoningConfig".into(),
                    json!({"type": "enabled", "maxReasoningEffort": level}),
                );
            } else {
                fields.insert("reasoning_effort".into(), level);
            }
        }
        Reasoning::DeepSeekAlways => {}
        Reasoning::DeepSeekHybrid => {
            return Err(refuse(
                param,
                format!(
                    "Bedrock documents no request field that asks model {} to reason.",
                    model.named()
                ),
            ))
        }
    }
    Ok(())
}

/// The thinking budget of a model that thinks with one (Claude before
/// adaptive thinking): from `reasoning_effort` or `thinking.budget_tokens`;
/// Bedrock refuses a forced tool call while it thinks.
fn thinking_budget(
    model: &Model,
    ask: ReasoningAsk,
    tool_choice: Option<&ToolChoice>,
) -> Result<u64, ApiError> {
    let tokens = match ask {
        ReasoningAsk::Effort(e) => budget(e),
        ReasoningAsk::Budget(n) => n,
        _ => {
            return Err(refuse(
                "thinking.type",
                format!(
                    "Model {} thinks with a budget on Bedrock: send `thinking: {{\"type\": \"enabled\", \"budget_tokens\": N}}` or `reasoning_effort`.",
                    model.named()
                ),
            ))
        }
    };
    if matches!(
        tool_choice,
        Some(ToolChoice::Required | ToolChoice::Function(_))
    ) {
        return Err(refuse(
            "tool_choice",
            format!(
                "With thinking on, model {} cannot be forced to call a tool on Bedrock; use `tool_choice: auto`.",
                model.named()
            ),
        ));
    }
    Ok(tokens)
}
