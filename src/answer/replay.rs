//! A complete Converse answer replayed as OpenAI server-sent events.
//!
//! Used where a model cannot stream what was asked (Mistral Large takes tools,
//! but not while streaming): the filter makes a non-streamed call and sends
//! its answer as the chunks a stream would have produced.

use crate::answer::completion::parse_answer;
use crate::answer::sse;
use crate::answer::stream::StreamContext;
use crate::error::ApiError;
use crate::exchange::record::Summary;
use crate::openai::{ChatChunk, ChunkChoice, Delta, FunctionDelta, ToolCallDelta};

/// SSE body for the Converse JSON `body`.
pub fn to_sse(body: &[u8], ctx: &StreamContext) -> Result<(Vec<u8>, Summary), ApiError> {
    let answer = parse_answer(body)?;
    let summary = Summary {
        usage: answer.usage,
        finish_reason: Some(answer.finish_reason),
    };
    let mut out = Vec::with_capacity(body.len() * 2);
    let write = |out: &mut Vec<u8>, delta: Delta<'_>, finish: Option<&'static str>| {
        let choices = [ChunkChoice {
            index: 0,
            delta,
            logprobs: None,
            finish_reason: finish,
        }];
        sse::write_data(out, &chunk(ctx, &choices, None));
    };
    let role = Delta {
        role: Some("assistant"),
        content: Some(""),
        ..Delta::default()
    };
    write(&mut out, role, None);
    if let Some(text) = answer.text.as_deref().filter(|t| !t.is_empty()) {
        let delta = Delta {
            content: Some(text),
            ..Delta::default()
        };
        write(&mut out, delta, None);
    }
    for (index, call) in (0u32..).zip(answer.tool_calls.iter()) {
        let calls = [ToolCallDelta {
            index,
            id: Some(&call.id),
            kind: Some("function"),
            function: FunctionDelta {
                name: Some(&call.function.name),
                arguments: &call.function.arguments,
            },
        }];
        let delta = Delta {
            tool_calls: &calls,
            ..Delta::default()
        };
        write(&mut out, delta, None);
    }
    write(&mut out, Delta::default(), Some(answer.finish_reason));
    if ctx.include_usage {
        sse::write_data(&mut out, &chunk(ctx, &[], answer.usage));
    }
    out.extend_from_slice(sse::DONE);
    Ok((out, summary))
}

fn chunk<'a>(
    ctx: &'a StreamContext,
    choices: &'a [ChunkChoice<'a>],
    usage: Option<crate::openai::Usage>,
) -> ChatChunk<'a> {
    ChatChunk {
        id: &ctx.id,
        object: "chat.completion.chunk",
        created: ctx.created,
        model: ctx.model,
        system_fingerprint: None,
        choices,
        usage,
    }
}
