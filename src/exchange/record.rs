//! What one exchange did, for metrics and access logs (never a key or credential).

use crate::api::Route;
use crate::config::Project;
use crate::outcome::Usage;
use std::borrow::Cow;
use std::rc::Rc;

/// Facts about one request, filled in as they become known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// The caller's project, once the key matched.
    pub project: Option<Rc<Project>>,
    /// The endpoint the request asked for, once its path matched.
    pub route: Option<Route>,
    /// Requested model, once the body parsed.
    pub model: Option<Rc<str>>,
    /// Status sent to the client.
    pub status: Option<u16>,
    /// OpenAI error code of a request refused before it went upstream.
    pub rejected: Option<Cow<'static, str>>,
    /// Bedrock's token counts.
    pub usage: Option<Usage>,
    /// How the answer finished (OpenAI's `finish_reason` words).
    pub finish_reason: Option<&'static str>,
}
