//! A complete Converse answer replayed as `chat.completion.chunk` events.
//!
//! Used where a model cannot stream what was asked (Mistral Large takes tools,
//! but not while streaming): the filter makes a non-streamed call and sends
//! its answer as the chunks a stream would have produced.

use super::chunks::{ChunkWriter, StreamContext};
use crate::conversation::answer::parse_answer;
use crate::conversation::stream::replay;
use crate::error::ApiError;
use crate::outcome::Outcome;

/// SSE body for the Converse JSON `body`.
pub fn to_sse(body: &[u8], ctx: &StreamContext) -> Result<(Vec<u8>, Outcome), ApiError> {
    let answer = parse_answer(body, ctx.answer_tool.as_deref())?;
    let mut writer = ChunkWriter::new(ctx.clone());
    let mut out = Vec::with_capacity(body.len() * 2);
    replay(&answer, &mut writer, &mut out);
    Ok((out, answer.outcome()))
}
