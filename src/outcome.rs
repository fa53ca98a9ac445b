//! What an answer came to, whatever the API: its token counts and how it
//! finished, as metrics, token budgets and access logs read them.

/// Token counts of one answer, as Bedrock reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Every prompt token: Bedrock's `inputTokens` + cache reads + cache writes.
    pub input: u64,
    /// Generated tokens (reasoning included).
    pub output: u64,
    /// Bedrock's `totalTokens` (= input + output).
    pub total: u64,
    /// Prompt tokens read from the cache.
    pub cache_read: u64,
    /// Prompt tokens written to the cache.
    pub cache_write: u64,
    /// Bedrock reported cache counts (zero or not).
    pub cache_reported: bool,
}

/// What an answer's translation learned: token counts and how it finished.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Token counts, when Bedrock reported them.
    pub usage: Option<Usage>,
    /// How the answer finished, in OpenAI's `finish_reason` words (`stop`,
    /// `length`, `tool_calls`, `content_filter`), when it finished.
    pub finish_reason: Option<&'static str>,
}
