//! Content parts: text, inline images and documents, and the cache points
//! a caller's `cache_control` markers ask for.

use crate::data_url::{DataUrl, Image};

/// Bedrock's limit on one document, decoded (botocore: "each ≤ 4.5 MB").
pub const MAX_DOCUMENT_BYTES: usize = 4_500_000;

/// A content part.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Text.
    Text(String),
    /// An inline image.
    Image(Image),
    /// An inline document.
    Document(Document),
    /// `cache_control` on the part before it: a cache point here.
    CachePoint(CacheMark),
}

/// `cache_control: {"type": "ephemeral", "ttl"?}`: cache the prompt up to here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheMark {
    /// `ttl: "1h"` (otherwise Bedrock's default, 5 minutes).
    pub one_hour: bool,
}

/// A `file` part: an inline document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Converse's format, from the MIME type.
    pub format: &'static str,
    /// The caller's `filename`, if any.
    pub filename: Option<String>,
    /// The document, base64 in the caller's `data:` URL.
    pub data: DataUrl,
}
