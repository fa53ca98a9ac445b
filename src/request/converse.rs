//! OpenAI chat request → Converse request, adapting to Converse's stricter rules.
//!
//! Adaptations (each documented in the README):
//! - `system`/`developer` messages, and assistant messages before the first
//!   user message, become `system` blocks; for models without a system
//!   prompt their text is put in front of the first user turn instead.
//! - Blank or empty text is dropped; messages left empty are dropped.
//! - Consecutive messages of the same role merge into one turn (tool results
//!   are user-side content, so they merge with each other and with user text).
//! - `temperature` above 1 (OpenAI allows up to 2) is sent as 1, Converse's maximum.
//! - Without tools in play (`tools` absent, or `tool_choice: "none"`), earlier
//!   tool calls and results are written into the conversation as text, so no
//!   `toolConfig` is needed and the model cannot call a tool.

use crate::bedrock::converse::{
    ContentBlock, ConverseRequest, ConverseRole, ConverseToolChoice, Empty, ImageBlock,
    ImageSource, InferenceConfig, InputSchema, Message, NamedTool, SystemBlock, ToolConfig,
    ToolEntry, ToolResultBlock, ToolResultContent, ToolSpec, ToolUseBlock,
};
use crate::catalog::ModelInfo;
use crate::error::ApiError;
use crate::request::parse::message::{self, Part, Role};
use crate::request::parse::tools::{Tool, ToolChoice};
use crate::request::parse::{ChatRequest, Sampling};

/// Largest `temperature` Converse accepts (botocore: `inferenceConfig.temperature` max 1).
pub const MAX_CONVERSE_TEMPERATURE: f64 = 1.0;

/// Builds the Converse body for `req` (consumes the parsed request's strings).
pub fn to_converse(req: ChatRequest) -> Result<ConverseRequest, ApiError> {
    let model = req.model;
    check_images(&req.messages, model)?;
    let use_tools = !req.tools.is_empty() && req.tool_choice != Some(ToolChoice::None);
    if use_tools && !model.tools {
        return Err(ApiError::invalid(
            "tools",
            format!("Model `{}` does not support tools on Bedrock.", model.id),
        ));
    }
    let mut system: Vec<String> = Vec::new();
    let mut turns: Vec<Message> = Vec::with_capacity(req.messages.len());
    for msg in req.messages {
        let (role, blocks) = match msg.role {
            Role::System => {
                system.extend(texts(msg.parts));
                continue;
            }
            Role::Assistant if turns.is_empty() => {
                system.extend(texts(msg.parts));
                system.extend(msg.tool_calls.iter().map(describe_call));
                continue;
            }
            Role::User => (ConverseRole::User, content(msg.parts)),
            Role::Assistant => {
                let mut blocks = content(msg.parts);
                for call in msg.tool_calls {
                    blocks.push(if use_tools {
                        ContentBlock::ToolUse(ToolUseBlock {
                            tool_use_id: call.id,
                            name: call.name,
                            input: call.arguments,
                        })
                    } else {
                        ContentBlock::Text(describe_call(&call))
                    });
                }
                (ConverseRole::Assistant, blocks)
            }
            Role::Tool => (ConverseRole::User, vec![tool_result(msg, use_tools)]),
        };
        match turns.last_mut() {
            Some(last) if last.role == role => last.content.extend(blocks),
            _ if blocks.is_empty() => {}
            _ => turns.push(Message {
                role,
                content: blocks,
            }),
        }
    }
    let Some(first) = turns.first_mut() else {
        return Err(ApiError::invalid(
            "messages",
            "`messages` must contain a user message with non-blank content.",
        ));
    };
    let system = if model.system_prompt {
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
    let tool_config = use_tools.then(|| tool_config(req.tools, req.tool_choice));
    Ok(ConverseRequest {
        messages: turns,
        system,
        inference_config: inference_config(req.sampling),
        tool_config,
        guardrail_config: None,
    })
}

/// Refuses image parts for models without images, and outside user messages.
fn check_images(messages: &[message::Message], model: &ModelInfo) -> Result<(), ApiError> {
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
            if !model.images {
                return Err(ApiError::invalid(
                    param,
                    format!("Model `{}` does not accept images on Bedrock.", model.id),
                ));
            }
        }
    }
    Ok(())
}

/// Non-blank text parts only (images are refused outside user turns before this runs).
fn texts(parts: Vec<Part>) -> impl Iterator<Item = String> {
    parts.into_iter().filter_map(|p| match p {
        Part::Text(t) if !t.trim().is_empty() => Some(t),
        _ => None,
    })
}

fn content(parts: Vec<Part>) -> Vec<ContentBlock> {
    parts
        .into_iter()
        .filter_map(|p| match p {
            Part::Text(t) if t.trim().is_empty() => None,
            Part::Text(t) => Some(ContentBlock::Text(t)),
            Part::Image(img) => Some(ContentBlock::Image(ImageBlock {
                format: img.format,
                source: ImageSource { bytes: img.data },
            })),
        })
        .collect()
}

fn tool_result(msg: message::Message, use_tools: bool) -> ContentBlock {
    let id = msg.tool_call_id.unwrap_or_default();
    let mut text: String = texts(msg.parts).collect::<Vec<_>>().join("\n");
    if !use_tools {
        return ContentBlock::Text(format!("[Result of tool call {id}]: {text}"));
    }
    if text.is_empty() {
        // Converse refuses blank text; an empty result still has to answer the call.
        text.push_str("(empty)");
    }
    ContentBlock::ToolResult(ToolResultBlock {
        tool_use_id: id,
        content: vec![ToolResultContent::Text(text)],
    })
}

fn describe_call(call: &message::ToolCall) -> String {
    format!(
        "[Called tool {} with arguments {}]",
        call.name, call.arguments
    )
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
