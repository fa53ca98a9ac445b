//! The passthrough's answer phase: what the request phase leaves for it, a
//! buffered answer given back with `model` as the caller named it and its
//! usage read, and Bedrock's errors kept with their status in OpenAI's shape.

use super::json_span::replace_string;
use super::stream::CompatStream;
use super::CompatApi;
use crate::api::{Handoff, Mode, Rewritten, UpstreamAnswer};
use crate::error::openai::from_openai_upstream;
use crate::error::ApiError;
use crate::outcome::{Outcome, Usage};
use serde::Deserialize;

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

/// Chat Completions' `usage`.
#[derive(Deserialize)]
pub(super) struct ChatUsage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    total_tokens: Option<u64>,
    prompt_tokens_details: Option<ChatPromptDetails>,
}

#[derive(Deserialize)]
struct ChatPromptDetails {
    cached_tokens: Option<u64>,
}

/// The Responses API's `usage` (with Bedrock's `cache_write_tokens`).
#[derive(Deserialize)]
pub(super) struct ResponsesUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    total_tokens: Option<u64>,
    input_tokens_details: Option<ResponsesInputDetails>,
}

#[derive(Deserialize)]
struct ResponsesInputDetails {
    cached_tokens: Option<u64>,
    cache_write_tokens: Option<u64>,
}

impl ChatUsage {
    pub(super) fn usage(&self) -> Usage {
        let input = self.prompt_tokens.unwrap_or(0);
        let output = self.completion_tokens.unwrap_or(0);
        let cached = self
            .prompt_tokens_details
            .as_ref()
            .and_then(|d| d.cached_tokens);
        Usage {
            input,
            output,
            total: self.total_tokens.unwrap_or(input + output),
            cache_read: cached.unwrap_or(0),
            cache_write: 0,
            cache_reported: cached.is_some(),
        }
    }
}

impl ResponsesUsage {
    pub(super) fn usage(&self) -> Usage {
        let input = self.input_tokens.unwrap_or(0);
        let output = self.output_tokens.unwrap_or(0);
        let details = self.input_tokens_details.as_ref();
        let read = details.and_then(|d| d.cached_tokens);
        let write = details.and_then(|d| d.cache_write_tokens);
        Usage {
            input,
            output,
            total: self.total_tokens.unwrap_or(input + output),
            cache_read: read.unwrap_or(0),
            cache_write: write.unwrap_or(0),
            cache_reported: read.is_some() || write.is_some(),
        }
    }
}

/// OpenAI's `finish_reason` words, as the record keeps them.
pub(super) fn finish_word(reason: &str) -> Option<&'static str> {
    [
        "stop",
        "length",
        "tool_calls",
        "content_filter",
        "function_call",
    ]
    .into_iter()
    .find(|w| *w == reason)
}

/// A Responses status as a `finish_reason` word.
pub(super) fn status_word(status: &str) -> Option<&'static str> {
    match status {
        "completed" => Some("stop"),
        "incomplete" => Some("length"),
        _ => None,
    }
}

#[derive(Deserialize)]
struct ChatPeek {
    object: Option<String>,
    usage: Option<ChatUsage>,
    #[serde(default)]
    choices: Vec<ChoicePeek>,
}

#[derive(Deserialize)]
pub(super) struct ChoicePeek {
    pub(super) finish_reason: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ResponsePeek {
    pub(super) object: Option<String>,
    pub(super) status: Option<String>,
    pub(super) usage: Option<ResponsesUsage>,
}

/// bedrock-runtime's answer to a path it does not serve: HTTP 200 and a
/// Coral fault, `{"Output":{"__type":"…#UnknownOperationException"}}`.
#[derive(Deserialize)]
struct CoralFault {
    #[serde(rename = "Output")]
    output: CoralOutput,
}

#[derive(Deserialize)]
struct CoralOutput {
    #[serde(rename = "__type")]
    kind: String,
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
        self.streamed
            && status == 200
            && content_type.is_some_and(|c| {
                c.trim_start()
                    .get(..17)
                    .is_some_and(|p| p.eq_ignore_ascii_case("text/event-stream"))
            })
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
        if let Ok(fault) = serde_json::from_slice::<CoralFault>(body) {
            return Err(ApiError::bad_upstream_response(format!(
                "Bedrock answered HTTP 200 with `{}`: the endpoint does not serve the {} API at the path the gateway called for this model.",
                fault.output.kind.rsplit('#').next().unwrap_or("a fault"),
                self.api.name()
            )));
        }
        let (expected, outcome) = match self.api {
            CompatApi::ChatCompletions => {
                let peek: ChatPeek =
                    serde_json::from_slice(body).map_err(|e| not_openai(e, self.api))?;
                let outcome = Outcome {
                    usage: peek.usage.as_ref().map(ChatUsage::usage),
                    finish_reason: peek
                        .choices
                        .first()
                        .and_then(|c| c.finish_reason.as_deref())
                        .and_then(finish_word),
                };
                (peek.object.as_deref() == Some("chat.completion"), outcome)
            }
            CompatApi::Responses => {
                let peek: ResponsePeek =
                    serde_json::from_slice(body).map_err(|e| not_openai(e, self.api))?;
                let outcome = Outcome {
                    usage: peek.usage.as_ref().map(ResponsesUsage::usage),
                    finish_reason: peek.status.as_deref().and_then(status_word),
                };
                (peek.object.as_deref() == Some("response"), outcome)
            }
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

fn not_openai(e: serde_json::Error, api: CompatApi) -> ApiError {
    ApiError::bad_upstream_response(format!(
        "Bedrock's answer is not a {} object: {e}",
        api.name()
    ))
}
