//! A complete Converse answer replayed as OpenAI server-sent events.
//!
//! Used where a model cannot stream what was asked (Mistral Large takes tools,
//! but not while streaming): the filter makes a non-streamed call and sends
//! its answer as the chunks a stream would have produced.

use crate::answer::completion::parse_answer;
use crate::answer::sse::{ChunkWriter, Fragment, StreamContext};
use crate::error::ApiError;
use crate::exchange::record::Summary;
use crate::openai::{Delta, FunctionDelta, ThinkingBlock, ToolCallDelta};

/// SSE body for the Converse JSON `body`.
pub fn to_sse(body: &[u8], ctx: &StreamContext) -> Result<(Vec<u8>, Summary), ApiError> {
    let answer = parse_answer(body, ctx.answer_tool.as_deref())?;
    let ctx = ChunkWriter::new(ctx.clone());
    let summary = Summary {
        usage: answer.usage,
        finish_reason: Some(answer.finish_reason),
    };
    let mut out = Vec::with_capacity(body.len() * 2);
    ctx.role(&mut out);
    for (index, block) in (0u32..).zip(answer.thinking_blocks.iter()) {
        match block {
            ThinkingBlock::Thinking {
                thinking,
                signature,
            } => {
                ctx.reasoning(&mut out, index, Fragment::Text(thinking));
                if let Some(s) = signature {
                    ctx.reasoning(&mut out, index, Fragment::Signature(s));
                }
            }
            ThinkingBlock::RedactedThinking { data } => {
                ctx.reasoning(&mut out, index, Fragment::Redacted(data));
            }
        }
    }
    if let Some(text) = answer.text.as_deref().filter(|t| !t.is_empty()) {
        let delta = Delta {
            content: Some(text),
            ..Delta::default()
        };
        ctx.choice(&mut out, delta, None);
    }
    for (index, call) in (0u32..).zip(answer.tool_calls.iter()) {
        ctx.tool_call(
            &mut out,
            ToolCallDelta {
                index,
                id: Some(&call.id),
                kind: Some("function"),
                function: FunctionDelta {
                    name: Some(&call.function.name),
                    arguments: &call.function.arguments,
                },
            },
        );
    }
    ctx.choice(&mut out, Delta::default(), Some(answer.finish_reason));
    ctx.end(&mut out, answer.usage, answer.service_tier);
    Ok((out, summary))
}
