//! ConverseStream events, classified by frame headers (never guessed from JSON).

use crate::bedrock::converse::{ServedTier, TokenUsage};
use crate::bedrock::eventstream::FrameRef;
use crate::error::json_fault;
use serde::Deserialize;
use std::borrow::Cow;

/// One ConverseStream event. Its text borrows from the frame's payload
/// where the JSON has no escapes (most deltas): no copy per event.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent<'a> {
    /// `messageStart`.
    MessageStart,
    /// `contentBlockStart` for a tool call.
    ToolUseStart {
        /// Bedrock's content block index.
        block: u32,
        /// `toolUseId`.
        id: String,
        /// Tool name.
        name: String,
    },
    /// `contentBlockDelta` with text.
    TextDelta(Cow<'a, str>),
    /// `contentBlockDelta` with reasoning.
    Reasoning {
        /// Bedrock's content block index.
        block: u32,
        /// What arrived.
        delta: ReasoningDelta<'a>,
    },
    /// `contentBlockDelta` with a tool-input JSON fragment.
    ToolInputDelta {
        /// Bedrock's content block index.
        block: u32,
        /// JSON fragment.
        input: Cow<'a, str>,
    },
    /// `messageStop`.
    MessageStop {
        /// Converse stop reason.
        stop_reason: String,
    },
    /// `metadata` (arrives after `messageStop`).
    Metadata {
        /// Token counts, when present.
        usage: Option<TokenUsage>,
        /// The service tier that served the request, when present.
        service_tier: Option<&'static str>,
    },
    /// `:message-type: exception` (or `error`).
    Exception {
        /// Exception name, e.g. `throttlingException`.
        name: String,
        /// Its message.
        message: String,
    },
    /// Anything else (`contentBlockStop`, reasoning, future events): nothing to emit.
    Ignored,
}

/// A reasoning fragment of a `contentBlockDelta`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReasoningDelta<'a> {
    /// Reasoning text.
    Text(Cow<'a, str>),
    /// The block's signature (near its end).
    Signature(Cow<'a, str>),
    /// Redacted reasoning, base64 in the JSON payload.
    Redacted(Cow<'a, str>),
}

/// Why a frame could not be understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unexpected ConverseStream frame: {0}")]
pub struct EventError(pub String);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockStart {
    content_block_index: u32,
    start: StartBody,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartBody {
    tool_use: Option<ToolUseStartBody>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolUseStartBody {
    tool_use_id: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockDelta<'a> {
    content_block_index: u32,
    #[serde(borrow)]
    delta: DeltaBody<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeltaBody<'a> {
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow)]
    tool_use: Option<ToolUseDelta<'a>>,
    #[serde(borrow)]
    reasoning_content: Option<ReasoningDeltaBody<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReasoningDeltaBody<'a> {
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow)]
    signature: Option<Cow<'a, str>>,
    #[serde(borrow)]
    redacted_content: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ToolUseDelta<'a> {
    #[serde(borrow)]
    input: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stop {
    stop_reason: String,
}

#[derive(Deserialize)]
struct Meta {
    usage: Option<TokenUsage>,
    #[serde(rename = "serviceTier")]
    service_tier: Option<ServedTier>,
}

#[derive(Deserialize)]
struct ExceptionBody {
    #[serde(alias = "Message")]
    message: Option<String>,
}

fn json<'a, T: Deserialize<'a>>(payload: &'a [u8], what: &str) -> Result<T, EventError> {
    serde_json::from_slice(payload).map_err(|e| EventError(format!("{what}: {}", json_fault(&e))))
}

impl<'a> StreamEvent<'a> {
    /// Classifies a decoded frame by `:message-type`, then `:event-type` or `:exception-type`.
    pub fn from_frame(m: &FrameRef<'a>) -> Result<StreamEvent<'a>, EventError> {
        let payload = m.payload;
        match m.header_str(":message-type") {
            Some("event") => {}
            Some("exception") => {
                let name = m
                    .header_str(":exception-type")
                    .unwrap_or("exception")
                    .to_string();
                let message = serde_json::from_slice::<ExceptionBody>(payload)
                    .ok()
                    .and_then(|b| b.message)
                    .unwrap_or_default();
                return Ok(StreamEvent::Exception { name, message });
            }
            Some("error") => {
                let name = m.header_str(":error-code").unwrap_or("error").to_string();
                let message = m.header_str(":error-message").unwrap_or("").to_string();
                return Ok(StreamEvent::Exception { name, message });
            }
            other => return Err(EventError(format!(":message-type {other:?}"))),
        }
        Ok(match m.header_str(":event-type") {
            Some("messageStart") => StreamEvent::MessageStart,
            Some("contentBlockStart") => {
                let s: BlockStart = json(payload, "contentBlockStart")?;
                match s.start.tool_use {
                    Some(t) => StreamEvent::ToolUseStart {
                        block: s.content_block_index,
                        id: t.tool_use_id,
                        name: t.name,
                    },
                    None => StreamEvent::Ignored,
                }
            }
            Some("contentBlockDelta") => {
                let d: BlockDelta = json(payload, "contentBlockDelta")?;
                let block = d.content_block_index;
                match (d.delta.text, d.delta.tool_use, d.delta.reasoning_content) {
                    (Some(t), _, _) => StreamEvent::TextDelta(t),
                    (None, Some(u), _) => StreamEvent::ToolInputDelta {
                        block,
                        input: u.input,
                    },
                    (None, None, Some(r)) => {
                        let delta = match (r.text, r.signature, r.redacted_content) {
                            (Some(t), _, _) => ReasoningDelta::Text(t),
                            (None, Some(s), _) => ReasoningDelta::Signature(s),
                            (None, None, Some(d)) => ReasoningDelta::Redacted(d),
                            (None, None, None) => return Ok(StreamEvent::Ignored),
                        };
                        StreamEvent::Reasoning { block, delta }
                    }
                    (None, None, None) => StreamEvent::Ignored,
                }
            }
            Some("messageStop") => {
                let s: Stop = json(payload, "messageStop")?;
                StreamEvent::MessageStop {
                    stop_reason: s.stop_reason,
                }
            }
            Some("metadata") => {
                let meta: Meta = json(payload, "metadata")?;
                StreamEvent::Metadata {
                    usage: meta.usage,
                    service_tier: meta.service_tier.as_ref().and_then(ServedTier::name),
                }
            }
            Some(_) => StreamEvent::Ignored,
            None => return Err(EventError("event without :event-type".into())),
        })
    }
}
