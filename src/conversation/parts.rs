//! Content parts: text, inline images and documents, and the cache points
//! a caller's `cache_control` markers ask for.

use crate::data_url::{parse_data_url, DataUrl, Image};
use crate::error::{clip, ApiError, MAX_ECHO_CHARS};

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

/// MIME types of the formats Converse's `DocumentBlock` takes.
const DOCUMENT_TYPES: [(&str, &str); 9] = [
    ("application/pdf", "pdf"),
    ("text/csv", "csv"),
    ("application/msword", "doc"),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "docx",
    ),
    ("application/vnd.ms-excel", "xls"),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
    ),
    ("text/html", "html"),
    ("text/plain", "txt"),
    ("text/markdown", "md"),
];

impl Document {
    /// A document from a caller's `data:` URL (`what` names the field in
    /// errors, `param` its path): a type Converse reads, within Bedrock's size.
    pub fn from_data_url(
        url: String,
        filename: Option<String>,
        what: &str,
        param: &dyn Fn() -> String,
    ) -> Result<Document, ApiError> {
        let data = parse_data_url(url, what, param)?;
        let mime = data.meta().split(';').next().unwrap_or("");
        let Some(format) = DOCUMENT_TYPES
            .iter()
            .find(|(m, _)| m.eq_ignore_ascii_case(mime))
            .map(|(_, f)| *f)
        else {
            return Err(ApiError::invalid(
                param(),
                format!(
                    "Documents must be base64 `data:` URLs of a type Bedrock reads (pdf, csv, doc, docx, xls, xlsx, html, txt, md), not `{}`.",
                    clip(mime, MAX_ECHO_CHARS)
                ),
            ));
        };
        let size = data.decoded_len();
        if size > MAX_DOCUMENT_BYTES {
            return Err(ApiError::invalid(
                param(),
                format!(
                    "The document is {size} bytes; Bedrock takes at most {MAX_DOCUMENT_BYTES}."
                ),
            ));
        }
        Ok(Document {
            format,
            filename,
            data,
        })
    }
}
