//! A conversation → a Converse request, adapting to Converse's stricter
//! rules and to each model's, in three steps: what the model takes is
//! decided once (`rules.rs`'s `fit`), the turns are built and judged
//! (`turns.rs`, `rules.rs`), then the request around them (structured
//! output, tools, reasoning, cache points, sampling). Every adaptation is
//! documented in `docs/api/chat-completions.md`.
//!
//! `temperature` above 1 (OpenAI allows up to 2) is sent as 1, Converse's maximum.

mod cache;
mod reasoning;
mod rules;
mod structured;
mod turns;

pub use cache::MAX_CACHE_POINTS;
pub use reasoning::{ANSWER_ROOM, BUDGETS};
pub use rules::{DOCUMENT_TEXT, MAX_DOCUMENTS_PER_TURN};
pub use structured::JSON_OBJECT_INSTRUCTION;

use crate::bedrock::converse::{
    ContentBlock, ConverseRequest, ConverseToolChoice, Empty, InferenceConfig, InputSchema,
    NamedTool, OutputConfig, SystemBlock, ToolConfig, ToolEntry, ToolSpec,
};
use crate::catalog::resolve::Model;
use crate::conversation::tools::{Tool, ToolChoice};
use crate::conversation::{Conversation, Sampling};
use crate::error::ApiError;
use rules::Fit;
use serde_json::Map;
use structured::Structured;

/// Largest `temperature` Converse accepts (botocore: `inferenceConfig.temperature` max 1).
pub const MAX_CONVERSE_TEMPERATURE: f64 = 1.0;

/// Builds the Converse body for `conv` (consumes its strings).
pub fn to_converse(conv: Conversation) -> Result<ConverseRequest, ApiError> {
    let model = conv.model;
    // 1. What the model takes, decided once for the whole request.
    let Fit {
        caller_tools,
        tool_choice,
        mut sampling,
        structured,
        keep_thinking,
    } = rules::fit(
        &model,
        &conv.messages,
        !conv.tools.is_empty(),
        conv.tool_choice,
        conv.sampling,
        conv.output_format,
        conv.reasoning,
    )?;
    let answer_by_tool = matches!(structured, Some(Structured::Tool(_)));
    // 2. The turns, and the rules that judge them.
    let (mut system, mut turns) =
        turns::build(conv.messages, caller_tools || answer_by_tool, keep_thinking);
    if matches!(structured, Some(Structured::Instruction)) {
        system.push(ContentBlock::Text(JSON_OBJECT_INSTRUCTION.to_string()));
    }
    rules::check_turns(&model, &mut turns)?;
    let Some(first) = turns.first_mut() else {
        return Err(ApiError::invalid(
            "messages",
            "`messages` must contain a user message with non-blank content.",
        ));
    };
    let system = if model.info.system_prompt {
        system.into_iter().filter_map(system_block).collect()
    } else {
        first.content.splice(0..0, system);
        Vec::new()
    };
    // 3. The request around them: output, tools, reasoning, cache points, sampling.
    let reasoning_choice = tool_choice.clone().filter(|_| caller_tools);
    let mut out = ConverseRequest {
        messages: turns,
        system,
        inference_config: None,
        tool_config: None,
        guardrail_config: None,
        additional_model_request_fields: Map::new(),
        output_config: OutputConfig::default(),
        service_tier: None,
        performance_config: None,
        request_metadata: Default::default(),
        answer_tool: None,
    };
    match structured {
        Some(Structured::Native(format)) => out.output_config.text_format = Some(format),
        Some(Structured::Tool(spec)) => {
            out.answer_tool = Some(spec.name.clone());
            out.tool_config = Some(structured::tool_config(&model, spec));
        }
        Some(Structured::Instruction) | None => {}
    }
    if caller_tools {
        out.tool_config = Some(tool_config(&model, conv.tools, tool_choice));
    }
    reasoning::apply(
        &model,
        conv.reasoning,
        &mut sampling,
        reasoning_choice.as_ref(),
        &mut out,
    )?;
    cache::apply(&model, conv.auto_cache_points, &mut out);
    out.inference_config = inference_config(sampling);
    Ok(out)
}

/// A block of the system prompt (only text and cache points reach it).
fn system_block(block: ContentBlock) -> Option<SystemBlock> {
    match block {
        ContentBlock::Text(t) => Some(SystemBlock::Text(t)),
        ContentBlock::CachePoint(p) => Some(SystemBlock::CachePoint(p)),
        _ => None,
    }
}

/// The caller's tools: `strict` where the model takes it, a cache point
/// after each tool that asked for one.
fn tool_config(model: &Model, tools: Vec<Tool>, choice: Option<ToolChoice>) -> ToolConfig {
    let mut entries = Vec::with_capacity(tools.len() + 1);
    for t in tools {
        let strict = t.strict.filter(|_| model.info.strict_tools);
        let mut schema = t.parameters;
        if strict == Some(true) {
            // A strict tool's schema follows structured output's rules.
            structured::fit_schema(&mut schema);
        }
        entries.push(ToolEntry::ToolSpec(ToolSpec {
            name: t.name,
            description: t.description,
            input_schema: InputSchema { json: schema },
            strict,
        }));
        if let Some(mark) = t.cache {
            entries.push(ToolEntry::CachePoint(turns::cache_point(mark)));
        }
    }
    ToolConfig {
        tools: entries,
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
