//! The conversation: OpenAI messages → Converse `system` and alternating turns.
//!
//! `system`/`developer` messages, and assistant messages before the first
//! user message, become system text; blank text is dropped and messages
//! left empty with it; consecutive messages of the same role merge into one
//! turn (tool results are user-side content). Without tools in play, earlier
//! tool calls and results are written into the conversation as text.

use crate::bedrock::converse::{
    ContentBlock, ConverseRole, ImageBlock, ImageSource, Message, ReasoningBlock, ReasoningText,
    ToolResultBlock, ToolResultContent, ToolUseBlock,
};
use crate::request::parse::message::{self, Part, Role};
use crate::request::parse::reasoning::ThinkingBlock;

fn reasoning_block(block: ThinkingBlock) -> ContentBlock {
    ContentBlock::ReasoningContent(match block {
        ThinkingBlock::Thinking {
            thinking,
            signature,
        } => ReasoningBlock::ReasoningText(ReasoningText {
            text: thinking,
            signature,
        }),
        ThinkingBlock::Redacted { data } => ReasoningBlock::RedactedContent(data),
    })
}

/// The system text and the turns of `messages`.
///
/// With `keep_thinking` (a Claude that reasons), an assistant message's
/// thinking blocks go first in its turn, unmodified; otherwise they are dropped.
pub(super) fn build(
    messages: Vec<message::Message>,
    use_tools: bool,
    keep_thinking: bool,
) -> (Vec<String>, Vec<Message>) {
    let mut system: Vec<String> = Vec::new();
    let mut turns: Vec<Message> = Vec::with_capacity(messages.len());
    for msg in messages {
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
                let mut blocks: Vec<ContentBlock> = if keep_thinking {
                    msg.thinking_blocks
                        .into_iter()
                        .map(reasoning_block)
                        .collect()
                } else {
                    Vec::new()
                };
                blocks.extend(content(msg.parts));
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
    (system, turns)
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
