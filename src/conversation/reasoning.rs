//! What the caller asks of reasoning (an effort, a budget, adaptive or
//! off), and the reasoning blocks an answer shows and a caller sends back.

use serde::Serialize;

/// OpenAI's `reasoning_effort`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effort {
    /// `none`: no reasoning.
    None,
    /// `minimal`.
    Minimal,
    /// `low`.
    Low,
    /// `medium`.
    Medium,
    /// `high`.
    High,
    /// `xhigh`.
    Xhigh,
}

/// What the request asks of reasoning, when it asks anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasoningAsk {
    /// `reasoning_effort`.
    Effort(Effort),
    /// `thinking: {"type": "enabled", "budget_tokens": N}`.
    Budget(u64),
    /// `thinking: {"type": "adaptive"}`.
    Adaptive,
    /// `thinking: {"type": "disabled"}`.
    Disabled,
}

impl Effort {
    /// Every effort, weakest first.
    pub const ALL: [Effort; 6] = [
        Effort::None,
        Effort::Minimal,
        Effort::Low,
        Effort::Medium,
        Effort::High,
        Effort::Xhigh,
    ];

    /// OpenAI's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Effort::None => "none",
            Effort::Minimal => "minimal",
            Effort::Low => "low",
            Effort::Medium => "medium",
            Effort::High => "high",
            Effort::Xhigh => "xhigh",
        }
    }

    /// The effort named `name`.
    pub fn from_name(name: &str) -> Option<Effort> {
        Effort::ALL.into_iter().find(|e| e.name() == name)
    }
}

impl ReasoningAsk {
    /// Whether it asks for reasoning at all.
    pub fn is_on(self) -> bool {
        !matches!(
            self,
            ReasoningAsk::Effort(Effort::None) | ReasoningAsk::Disabled
        )
    }
}

/// A reasoning block of an answer, in Anthropic's shape: what an answer
/// shows and what the caller echoes back, unchanged, on the assistant turn.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ThinkingBlock {
    /// `{"type": "thinking", "thinking", "signature"}`.
    Thinking {
        /// The reasoning text, unmodified.
        thinking: String,
        /// Its signature, when the model signed it.
        #[serde(skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
    },
    /// `{"type": "redacted_thinking", "data": <base64>}`.
    RedactedThinking {
        /// Bedrock's `redactedContent`, base64 as it came.
        data: String,
    },
}
