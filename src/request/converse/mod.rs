//! OpenAI chat request → Converse request, adapting to Converse's stricter
//! rules and to each model's (see `rules.rs` and `turns.rs`; every adaptation
//! is documented in the README).
//!
//! `temperature` above 1 (OpenAI allows up to 2) is sent as 1, Converse's maximum.

mod reasoning;
mod rules;
mod turns;

pub use reasoning::{ANSWER_ROOM, BUDGETS};

use crate::bedrock::converse::{
    ContentBlock, ConverseRequest, ConverseRole, ConverseToolChoice, Empty, InferenceConfig,
    InputSchema, NamedTool, OutputConfig, SystemBlock, ToolConfig, ToolEntry, ToolSpec,
};
use crate::error::ApiError;
use crate::request::parse::tools::{Tool, ToolChoice};
use crate::request::parse::{ChatRequest, Sampling};
use serde_json::Map;

/// Largest `temperature` Converse accepts (botocore: `inferenceConfig.temperature` max 1).
pub const MAX_CONVERSE_TEMPERATURE: f64 = 1.0;

/// Builds the Converse body for `req` (consumes the parsed request's strings).
pub fn to_converse(req: ChatRequest) -> Result<ConverseRequest, ApiError> {
    let model = &req.model;
    rules::check_images(&req.messages, model)?;
    let mut tool_choice = req.tool_choice;
    let use_tools = !req.tools.is_empty() && tool_choice != Some(ToolChoice::None);
    if use_tools {
        rules::check_tools(model, &mut tool_choice)?;
    }
    let mut sampling = req.sampling;
    rules::adapt_sampling(model, &mut sampling)?;
    let keep_thinking = reasoning::takes_thinking_blocks(model);
    let (system, mut turns) = turns::build(req.messages, use_tools, keep_thinking);
    rules::check_prefill(
        model,
        turns
            .last()
            .is_some_and(|t| t.role == ConverseRole::Assistant),
    )?;
    let Some(first) = turns.first_mut() else {
        return Err(ApiError::invalid(
            "messages",
            "`messages` must contain a user message with non-blank content.",
        ));
    };
    let system = if model.info.system_prompt {
        system
            .into_iter()
            .map(|text| SystemBlock { text })
            .collect()
    } else {
        first
            .content
            .splice(0..0, system.into_iter().map(ContentBlock::Text));
        Vec::new()
    };
    let reasoning_choice = tool_choice.clone();
    let tool_config = use_tools.then(|| tool_config(req.tools, tool_choice));
    let mut out = ConverseRequest {
        messages: turns,
        system,
        inference_config: None,
        tool_config,
        guardrail_config: None,
        additional_model_request_fields: Map::new(),
        output_config: OutputConfig::default(),
    };
    reasoning::apply(
        model,
        req.reasoning,
        &mut sampling,
        reasoning_choice.as_ref().filter(|_| use_tools),
        &mut out,
    )?;
    out.inference_config = inference_config(sampling);
    Ok(out)
}

fn tool_config(tools: Vec<Tool>, choice: Option<ToolChoice>) -> ToolConfig {
    ToolConfig {
        tools: tools
            .into_iter()
            .map(|t| ToolEntry {
                tool_spec: ToolSpec {
                    name: t.name,
                    description: t.description,
                    input_schema: InputSchema { json: t.parameters },
                },
            })
            .collect(),
        tool_choice: match choice {
            None | Some(ToolChoice::None) => None,
            Some(ToolChoice::Auto) => Some(ConverseToolChoice::Auto(Empty {})),
            Some(ToolChoice::Required) => Some(ConverseToolChoice::Any(Empty {})),
            Some(ToolChoice::Function(name)) => Some(ConverseToolChoice::Tool(NamedTool { name })),
        },
    }
}

fn inference_config(s: Sampling) -> Option<InferenceConfig> {
    if s.temperature.is_none() && s.top_p.is_none() && s.max_tokens.is_none() && s.stop.is_empty() {
        return None;
    }
    Some(InferenceConfig {
        max_tokens: s.max_tokens,
        // OpenAI takes 0..=2, Converse 0..=1: values up to 1 pass unchanged, higher ones are capped.
        temperature: s.temperature.map(|t| t.min(MAX_CONVERSE_TEMPERATURE)),
        top_p: s.top_p,
        stop_sequences: s.stop,
    })
}
