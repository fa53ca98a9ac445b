//! What one exchange did, for metrics and access logs (never a key or credential).

use crate::config::Project;
use crate::openai::Usage;
use std::borrow::Cow;
use std::rc::Rc;

/// Facts about one request, filled in as they become known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// The caller's project, once the key matched.
    pub project: Option<Rc<Project>>,
    /// Requested model, once the body parsed.
    pub model: Option<Rc<str>>,
    /// Status sent to the client.
    pub status: Option<u16>,
    /// OpenAI error code of a request refused before it went upstream.
    pub rejected: Option<Cow<'static, str>>,
    /// Bedrock's token counts.
    pub usage: Option<Usage>,
    /// OpenAI finish reason.
    pub finish_reason: Option<&'static str>,
}

/// What an answer's translation learned: token counts and finish reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Token counts, when Bedrock reported them.
    pub usage: Option<Usage>,
    /// OpenAI finish reason, when the answer finished.
    pub finish_reason: Option<&'static str>,
}
