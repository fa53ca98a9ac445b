//! ConverseStream bytes → OpenAI `chat.completion.chunk` events, one
//! callback at a time: the conversation's stream reader with the chat
//! chunk writer.

use super::chunks::ChunkWriter;
use crate::conversation::stream::StreamReader;

/// Turns ConverseStream frames into `chat.completion.chunk` events
/// (`StreamTranslator::new(ctx, max_frame_bytes)`).
pub type StreamTranslator = StreamReader<ChunkWriter>;
