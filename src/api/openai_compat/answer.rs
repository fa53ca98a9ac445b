//! The passthrough's answer phase: what the request phase leaves for it, a
//! buffered answer given back with `model` as the caller named it and its
//! usage read, and Bedrock's errors kept with their status in OpenAI's shape.

use super::json_span::replace_string;
use super::stream::CompatStream;
use super::CompatApi;
use crate::api::{Handoff, Mode, Rewritten, UpstreamAnswer};
use crate::error::openai::from_openai_upstream;
use crate::error::{json_fault, ApiError};
use crate::outcome::{Outcome, Usage};
use serde_json::Value;

/// What the passthrough's answer phase needs to know about the request.
#[derive(Debug)]
pub struct CompatPending {
    /// What every API's answer phase knows.
    pub handoff: Handoff,
    /// The API called.
    pub api: CompatApi,
    /// The caller asked for server-sent events.
    pub streamed: bool,
    /// The gateway asked for the usage chunk (`stream_options.include_usage`)
    /// that the caller did not: it is read, not forwarded.
    pub drop_usage_chunk: bool,
}

/// A count at `key` of `obj` (0 when absent).
fn count(obj: &Value, key: &str) -> Option<u64> {
    obj.get(key).and_then(Value::as_u64)
}

/// Chat Completions' `usage` (`None` when it is not an object).
pub(super) fn chat_usage(u: &Value) -> Option<Usage> {
    u.as_object()?;
    let input = count(u, "prompt_tokens").unwrap_or(0);
    let output = count(u, "completion_tokens").unwrap_or(0);
    let cached = u
        .get("prompt_tokens_details")
        .and_then(|d| count(d, "cached_tokens"));
    Some(Usage {
        input,
        output,
        total: count(u, "total_tokens").unwrap_or(input + output),
        cache_read: cached.unwrap_or(0),
        cache_write: 0,
        cache_reported: cached.is_some(),
    })
}

/// The Responses API's `usage`, with Bedrock's `cache_write_tokens`.
pub(super) fn responses_usage(u: &Value) -> Option<Usage> {
    u.as_object()?;
    let input = count(u, "input_tokens").unwrap_or(0);
    let output = count(u, "output_tokens").unwrap_or(0);
    let details = u.get("input_tokens_details");
    let read = details.and_then(|d| count(d, "cached_tokens"));
    let write = details.and_then(|d| count(d, "cache_write_tokens"));
    Some(Usage {
        input,
        output,
        total: count(u, "total_tokens").unwrap_or(input + output),
        cache_read: read.unwrap_or(0),
        cache_write: write.unwrap_or(0),
        cache_reported: read.is_some() || write.is_some(),
    })
}

/// The first choice's `finish_reason` of a chat answer or chunk, in the
/// words the record keeps.
pub(super) fn chat_finish(v: &Value) -> Option<&'static str> {
    match v.pointer("/choices/0/finish_reason")?.as_str()? {
        "stop" => Some("stop"),
        "length" => Some("length"),
        "tool_calls" => Some("tool_calls"),
        "content_filter" => Some("content_filter"),
        "function_call" => Some("function_call"),
        _ => None,
    }
}

/// A Responses status as a `finish_reason` word.
pub(super) fn status_word(status: &str) -> Option<&'static str> {
    match status {
        "completed" => Some("stop"),
        "incomplete" => Some("length"),
        _ => None,
    }
}

/// What a finished response (or the `response` of a Responses event) tells.
pub(super) fn response_outcome(r: &Value) -> Outcome {
    Outcome {
        usage: r.get("usage").and_then(responses_usage),
        finish_reason: r
            .get("status")
            .and_then(Value::as_str)
            .and_then(status_word),
    }
}

impl CompatPending {
    /// How the answer travels back.
    pub fn mode(&self) -> Mode {
        if self.streamed {
            Mode::Stream
        } else {
            Mode::Json
        }
    }

    /// Whether an answer with `status` and `content_type` is forwarded as a
    /// stream (else it is buffered: an error, or a JSON body where events
    /// were asked for).
    pub fn streams(&self, status: u16, content_type: Option<&str>) -> bool {
        const SSE: &[u8] = b"text/event-stream";
        self.streamed
            && status == 200
            && content_type
                .and_then(|c| c.trim_start().as_bytes().get(..SSE.len()))
                .is_some_and(|p| p.eq_ignore_ascii_case(SSE))
    }

    /// The forwarder of a streamed answer.
    pub fn stream(&self) -> CompatStream {
        CompatStream::new(
            self.api,
            std::rc::Rc::clone(&self.handoff.model),
            self.drop_usage_chunk,
            self.handoff.redactor.clone(),
        )
    }

    /// A buffered answer given back: an error keeps its status in OpenAI's
    /// shape; a success keeps its bytes but `model`, and tells its usage.
    pub fn rewrite(&self, a: &UpstreamAnswer<'_>) -> Rewritten {
        if a.status != 200 {
            let err = from_openai_upstream(a.status, a.error_type, a.body, &self.handoff.redactor);
            return Rewritten::error(&err);
        }
        match self.rewrite_ok(a.body) {
            Ok(r) => r,
            Err(e) => Rewritten::error(&e),
        }
    }

    fn rewrite_ok(&self, body: &[u8]) -> Result<Rewritten, ApiError> {
        let v: Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_upstream_response(format!(
                "Bedrock's answer is not a {} object: {}.",
                self.api.name(),
                json_fault(&e)
            ))
        })?;
        // bedrock-runtime's answer to a path it does not serve: HTTP 200 and
        // a Coral fault, `{"Output":{"__type":"…#UnknownOperationException"}}`.
        if let Some(fault) = v.pointer("/Output/__type").and_then(Value::as_str) {
            return Err(ApiError::bad_upstream_response(format!(
                "Bedrock answered HTTP 200 with `{}`: the endpoint does not serve the {} API at the path the gateway called for this model.",
                fault.rsplit('#').next().unwrap_or("a fault"),
                self.api.name()
            )));
        }
        let object = v.get("object").and_then(Value::as_str);
        let (expected, outcome) = match self.api {
            CompatApi::ChatCompletions => (
                object == Some("chat.completion"),
                Outcome {
                    usage: v.get("usage").and_then(chat_usage),
                    finish_reason: chat_finish(&v),
                },
            ),
            CompatApi::Responses => (object == Some("response"), response_outcome(&v)),
        };
        if !expected {
            return Err(ApiError::bad_upstream_response(format!(
                "Bedrock's answer is not a {} object.",
                self.api.name()
            )));
        }
        let body =
            replace_string(body, &["model"], &self.handoff.model).unwrap_or_else(|| body.to_vec());
        Ok(Rewritten::json(body, outcome))
    }
}
