//! The Responses API's answer as the official SDKs (and Codex, the Agents
//! SDK, the AI SDK) read it: the `response` object, its output items and
//! its usage. Fields the SDKs require are always written (an empty
//! `annotations` list, a reasoning item's `summary`, every usage detail as
//! an integer).

use crate::outcome::Usage;
use serde::Serialize;

/// The parts of a `response` object that change; the request's settings
/// (`tools`, `tool_choice`, `text`, ...) are spliced in after them.
#[derive(Debug, Serialize)]
pub struct ResponseHead<'a> {
    /// `resp_...`.
    pub id: &'a str,
    /// Always `response`.
    pub object: &'static str,
    /// Unix seconds.
    pub created_at: u64,
    /// `in_progress`, `completed`, `incomplete` or `failed`.
    pub status: &'static str,
    /// Why a failed response failed.
    pub error: Option<ResponseError<'a>>,
    /// Why an incomplete response stopped.
    pub incomplete_details: Option<Incomplete>,
    /// The model as the caller sent it.
    pub model: &'a str,
    /// The output items, in Bedrock's order.
    pub output: &'a [OutputItem],
    /// Token counts, once known.
    pub usage: Option<ResponseUsage>,
    /// The service tier Bedrock served, else `default`.
    pub service_tier: &'a str,
}

/// `incomplete_details`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Incomplete {
    /// `max_output_tokens` or `content_filter`.
    pub reason: &'static str,
}

/// `error` of a failed response.
#[derive(Debug, Serialize)]
pub struct ResponseError<'a> {
    /// One of OpenAI's codes (`server_error`, `rate_limit_exceeded`, `invalid_prompt`).
    pub code: &'static str,
    /// What happened.
    pub message: &'a str,
}

/// One output item.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutputItem {
    /// The assistant's text.
    Message {
        /// `msg_...`.
        id: String,
        /// Always `assistant`.
        role: &'static str,
        /// `in_progress` or `completed`.
        status: &'static str,
        /// One `output_text` part (none while streaming starts).
        content: Vec<OutputText>,
    },
    /// A call of a function tool.
    FunctionCall {
        /// `fc_...`.
        id: String,
        /// Bedrock's `toolUseId`, echoed by the output.
        call_id: String,
        /// The function's name.
        name: String,
        /// Its namespace, for a tool of a `namespace` tool.
        #[serde(skip_serializing_if = "Option::is_none")]
        namespace: Option<String>,
        /// JSON text.
        arguments: String,
        /// `in_progress` or `completed`.
        status: &'static str,
    },
    /// A call of a custom tool.
    CustomToolCall {
        /// `ctc_...`.
        id: String,
        /// Bedrock's `toolUseId`.
        call_id: String,
        /// The tool's name.
        name: String,
        /// Its namespace, for a tool of a `namespace` tool.
        #[serde(skip_serializing_if = "Option::is_none")]
        namespace: Option<String>,
        /// The free text.
        input: String,
        /// `in_progress` or `completed`.
        status: &'static str,
    },
    /// One reasoning block.
    Reasoning {
        /// `rs_...`.
        id: String,
        /// The reasoning text, when the caller asked for a summary.
        summary: Vec<SummaryText>,
        /// What Bedrock takes back (when `include` asked for it).
        #[serde(skip_serializing_if = "Option::is_none")]
        encrypted_content: Option<String>,
        /// `in_progress` or `completed`.
        status: &'static str,
    },
}

/// An `output_text` part.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OutputText {
    /// Always `output_text`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The text.
    pub text: String,
    /// Web citations of the text.
    pub annotations: Vec<UrlAnnotation>,
    /// Always empty: Bedrock gives no log probabilities.
    pub logprobs: [(); 0],
}

impl OutputText {
    /// A part with `text`.
    pub fn new(text: String, annotations: Vec<UrlAnnotation>) -> OutputText {
        OutputText {
            kind: "output_text",
            text,
            annotations,
            logprobs: [],
        }
    }
}

/// A `url_citation` annotation.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UrlAnnotation {
    /// Always `url_citation`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// First character of the passage in the text.
    pub start_index: usize,
    /// One past its last character.
    pub end_index: usize,
    /// The page's title.
    pub title: String,
    /// The page's URL.
    pub url: String,
}

/// A `summary_text` part of a reasoning item.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SummaryText {
    /// Always `summary_text`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The text.
    pub text: String,
}

/// `usage`, every detail an integer (SDKs and Codex refuse a null or missing one).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct ResponseUsage {
    /// Every prompt token, cache reads and writes included.
    pub input_tokens: u64,
    /// Cache reads and writes.
    pub input_tokens_details: InputDetails,
    /// Generated tokens, reasoning included.
    pub output_tokens: u64,
    /// Reasoning tokens.
    pub output_tokens_details: OutputDetails,
    /// input + output.
    pub total_tokens: u64,
}

/// `usage.input_tokens_details`.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct InputDetails {
    /// Prompt tokens read from the cache.
    pub cached_tokens: u64,
    /// Prompt tokens written to the cache.
    pub cache_write_tokens: u64,
}

/// `usage.output_tokens_details`.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct OutputDetails {
    /// Bedrock reports no reasoning count apart: always 0 (documented).
    pub reasoning_tokens: u64,
}

impl From<Usage> for ResponseUsage {
    fn from(u: Usage) -> ResponseUsage {
        ResponseUsage {
            input_tokens: u.input,
            input_tokens_details: InputDetails {
                cached_tokens: u.cache_read,
                cache_write_tokens: u.cache_write,
            },
            output_tokens: u.output,
            output_tokens_details: OutputDetails {
                reasoning_tokens: 0,
            },
            total_tokens: u.total,
        }
    }
}

/// The whole `response` object: `head`'s members, then `echo` (the
/// request's settings, JSON members without braces).
pub fn write_response(out: &mut Vec<u8>, head: &ResponseHead<'_>, echo: &str) {
    let start = out.len();
    if serde_json::to_writer(&mut *out, head).is_err() || out.last() != Some(&b'}') {
        out.truncate(start);
        out.extend_from_slice(b"{}");
        return;
    }
    if !echo.is_empty() {
        out.pop();
        out.push(b',');
        out.extend_from_slice(echo.as_bytes());
        out.push(b'}');
    }
}
