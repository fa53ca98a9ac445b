//! OpenAI chat request → Converse request, adapting to Converse's stricter rules.
//!
//! Adaptations (each documented in the README):
//! - `system`/`developer` messages, and assistant messages before the first
//!   user message, become `system` blocks; for models without a system
//!   prompt their text is put in front of the first user turn instead.
//! - Blank or empty text is dropped; messages left empty are dropped.
//! - Consecutive messages of the same role merge into one turn.

use crate::bedrock::converse::{
    ContentBlock, ConverseRequest, ConverseRole, InferenceConfig, Message, SystemBlock,
};
use crate::error::ApiError;
use crate::openai::request::{ChatRequest, Role, Sampling};

/// Builds the Converse body for `req` (consumes the parsed request's strings).
pub fn to_converse(req: ChatRequest) -> Result<ConverseRequest, ApiError> {
    let mut system: Vec<String> = Vec::new();
    let mut turns: Vec<Message> = Vec::with_capacity(req.messages.len());
    for msg in req.messages {
        let texts = msg.texts.into_iter().filter(|t| !t.trim().is_empty());
        let role = match msg.role {
            Role::System => {
                system.extend(texts);
                continue;
            }
            Role::Assistant if turns.is_empty() => {
                system.extend(texts);
                continue;
            }
            Role::Assistant => ConverseRole::Assistant,
            Role::User => ConverseRole::User,
        };
        let blocks = texts.map(ContentBlock::Text);
        match turns.last_mut() {
            Some(last) if last.role == role => last.content.extend(blocks),
            _ => {
                let content: Vec<ContentBlock> = blocks.collect();
                if !content.is_empty() {
                    turns.push(Message { role, content });
                }
            }
        }
    }
    let Some(first) = turns.first_mut() else {
        return Err(ApiError::invalid(
            "messages",
            "`messages` must contain a user message with non-blank content.",
        ));
    };
    let system = if req.model.system_prompt {
        system
            .into_iter()
            .map(|text| SystemBlock { text })
            .collect()
    } else {
        if !system.is_empty() {
            let folded = system.into_iter().map(ContentBlock::Text);
            first.content.splice(0..0, folded);
        }
        Vec::new()
    };
    Ok(ConverseRequest {
        messages: turns,
        system,
        inference_config: inference_config(req.sampling),
    })
}

fn inference_config(s: Sampling) -> Option<InferenceConfig> {
    if s.temperature.is_none() && s.top_p.is_none() && s.max_tokens.is_none() && s.stop.is_empty() {
        return None;
    }
    Some(InferenceConfig {
        max_tokens: s.max_tokens,
        temperature: s.temperature,
        top_p: s.top_p,
        stop_sequences: s.stop,
    })
}
