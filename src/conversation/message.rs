//! The turns of a conversation as the caller wrote them: who spoke, what
//! they said (content parts), the tool calls an assistant made and the
//! thinking it showed, and the tool results sent back.

use super::parts::Part;
use super::reasoning::ThinkingBlock;
use serde_json::Value;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `system` or `developer`.
    System,
    /// `user`.
    User,
    /// `assistant`.
    Assistant,
    /// `tool` (a tool result).
    Tool,
}

/// A tool call made by the assistant earlier in the conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// `id`, echoed by the tool result.
    pub id: String,
    /// Function name.
    pub name: String,
    /// Arguments, parsed from their JSON string.
    pub arguments: Value,
}

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The author.
    pub role: Role,
    /// Content parts in order (a string content is one text part).
    pub parts: Vec<Part>,
    /// Assistant tool calls.
    pub tool_calls: Vec<ToolCall>,
    /// For `tool` messages: the call answered.
    pub tool_call_id: Option<String>,
    /// For assistant messages: the thinking blocks of that answer, echoed back.
    pub thinking_blocks: Vec<ThinkingBlock>,
}
