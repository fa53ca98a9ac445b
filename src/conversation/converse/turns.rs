//! The turns: a conversation's messages → Converse `system` and alternating turns.
//!
//! `system`/`developer` messages, and assistant messages before the first
//! user message, become system text; blank text is dropped and messages
//! left empty with it; consecutive messages of the same role merge into one
//! turn (tool results are user-side content). Without tools in play, earlier
//! tool calls and results are written into the conversation as text.
//! Documents get a name derived from their filename, unique in the request.

use crate::bedrock::converse::{
    CachePointBlock, ContentBlock, ConverseMessage, ConverseRole, DocumentBlock, DocumentSource,
    ImageBlock, ImageSource, ReasoningBlock, ReasoningText, ToolResultBlock, ToolResultContent,
    ToolUseBlock,
};
use crate::conversation::message::{Message, Role, ToolCall};
use crate::conversation::parts::{CacheMark, Document, Part};
use crate::conversation::reasoning::ThinkingBlock;

/// The longest document name Bedrock takes.
const MAX_DOCUMENT_NAME: usize = 200;

fn reasoning_block(block: ThinkingBlock) -> ContentBlock {
    ContentBlock::ReasoningContent(match block {
        ThinkingBlock::Thinking {
            thinking,
            signature,
        } => ReasoningBlock::ReasoningText(ReasoningText {
            text: thinking,
            signature,
        }),
        ThinkingBlock::RedactedThinking { data } => ReasoningBlock::RedactedContent(data),
    })
}

/// A cache point block for `mark`.
pub(super) fn cache_point(mark: CacheMark) -> CachePointBlock {
    CachePointBlock {
        kind: "default",
        ttl: mark.one_hour.then_some("1h"),
    }
}

/// Document names given so far (Bedrock wants them unique in a request).
#[derive(Default)]
struct Names(Vec<String>);

impl Names {
    /// Bedrock's rule: letters, digits, single spaces, hyphens, parentheses
    /// and square brackets, 1–200 characters. The extension is dropped and
    /// every other run of characters becomes one hyphen; a name already given
    /// gets " (2)", " (3)", ...
    fn give(&mut self, filename: Option<&str>) -> String {
        let stem = filename
            .map(|f| {
                f.rsplit_once('.')
                    .filter(|(_, ext)| {
                        (1..=5).contains(&ext.len())
                            && ext.chars().all(|c| c.is_ascii_alphanumeric())
                    })
                    .map_or(f, |(stem, _)| stem)
            })
            .unwrap_or("");
        let mut name = String::with_capacity(stem.len().min(MAX_DOCUMENT_NAME));
        for c in stem.chars() {
            let next = if c.is_ascii_alphanumeric() || "-()[]".contains(c) {
                c
            } else if c == ' ' {
                ' '
            } else {
                '-'
            };
            let repeat = matches!(next, ' ' | '-') && name.ends_with(next);
            if !repeat && name.len() < MAX_DOCUMENT_NAME - 8 {
                name.push(next);
            }
        }
        let mut name = name.trim_matches([' ', '-']).to_string();
        if name.is_empty() {
            name.push_str("document");
        }
        let base = name.clone();
        let mut n = 1;
        while self.0.contains(&name) {
            n += 1;
            name = format!("{base} ({n})");
        }
        self.0.push(name.clone());
        name
    }
}

fn document(doc: Document, names: &mut Names) -> DocumentBlock {
    DocumentBlock {
        format: doc.format,
        name: names.give(doc.filename.as_deref()),
        source: DocumentSource { bytes: doc.data },
    }
}

/// The system content and the turns of `messages`.
///
/// With `keep_thinking` (a Claude that reasons), an assistant message's
/// thinking blocks go first in its turn, unmodified; otherwise they are dropped.
pub(super) fn build(
    messages: Vec<Message>,
    use_tools: bool,
    keep_thinking: bool,
) -> (Vec<ContentBlock>, Vec<ConverseMessage>) {
    let mut system: Vec<ContentBlock> = Vec::new();
    let mut turns: Vec<ConverseMessage> = Vec::with_capacity(messages.len());
    let mut names = Names::default();
    for msg in messages {
        let (role, blocks) = match msg.role {
            Role::System => {
                system.extend(content(msg.parts, &mut names));
                continue;
            }
            Role::Assistant if turns.is_empty() => {
                system.extend(content(msg.parts, &mut names));
                system.extend(
                    msg.tool_calls
                        .iter()
                        .map(|c| ContentBlock::Text(describe_call(c))),
                );
                continue;
            }
            Role::User => (ConverseRole::User, content(msg.parts, &mut names)),
            Role::Assistant => {
                let mut blocks: Vec<ContentBlock> = if keep_thinking {
                    msg.thinking_blocks
                        .into_iter()
                        .map(reasoning_block)
                        .collect()
                } else {
                    Vec::new()
                };
                blocks.extend(content(msg.parts, &mut names));
                for call in msg.tool_calls {
                    blocks.push(if use_tools {
                        ContentBlock::ToolUse(ToolUseBlock {
                            tool_use_id: call.id,
                            name: call.name,
                            input: call.arguments,
                        })
                    } else {
                        ContentBlock::Text(describe_call(&call))
                    });
                }
                (ConverseRole::Assistant, blocks)
            }
            Role::Tool => (ConverseRole::User, tool_result(msg, use_tools, &mut names)),
        };
        match turns.last_mut() {
            Some(last) if last.role == role => last.content.extend(blocks),
            _ if !blocks
                .iter()
                .any(|b| !matches!(b, ContentBlock::CachePoint(_))) => {}
            _ => turns.push(ConverseMessage {
                role,
                content: blocks,
            }),
        }
    }
    (system, turns)
}

/// The blocks of `parts`: blank text dropped, documents named.
fn content(parts: Vec<Part>, names: &mut Names) -> Vec<ContentBlock> {
    parts
        .into_iter()
        .filter_map(|p| match p {
            Part::Text(t) if t.trim().is_empty() => None,
            Part::Text(t) => Some(ContentBlock::Text(t)),
            Part::Image(img) => Some(ContentBlock::Image(ImageBlock {
                format: img.format,
                source: ImageSource { bytes: img.data },
            })),
            Part::Document(doc) => Some(ContentBlock::Document(document(doc, names))),
            Part::CachePoint(mark) => Some(ContentBlock::CachePoint(cache_point(mark))),
        })
        .collect()
}

/// A tool message: a `toolResult` block (its text parts joined by newlines,
/// images and documents as their own blocks, in order), then any cache point.
/// Without tools in play, the text only, written into the conversation.
fn tool_result(msg: Message, use_tools: bool, names: &mut Names) -> Vec<ContentBlock> {
    let id = msg.tool_call_id.unwrap_or_default();
    let mut inner: Vec<ToolResultContent> = Vec::new();
    let mut after = Vec::new();
    let mut text = String::new();
    let flush = |text: &mut String, inner: &mut Vec<ToolResultContent>| {
        if !text.is_empty() {
            inner.push(ToolResultContent::Text(std::mem::take(text)));
        }
    };
    for part in msg.parts {
        match part {
            Part::Text(t) if t.trim().is_empty() => {}
            Part::Text(t) => {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(&t);
            }
            Part::Image(img) if use_tools => {
                flush(&mut text, &mut inner);
                inner.push(ToolResultContent::Image(ImageBlock {
                    format: img.format,
                    source: ImageSource { bytes: img.data },
                }));
            }
            Part::Document(doc) if use_tools => {
                flush(&mut text, &mut inner);
                inner.push(ToolResultContent::Document(document(doc, names)));
            }
            Part::CachePoint(mark) => after.push(ContentBlock::CachePoint(cache_point(mark))),
            Part::Image(_) | Part::Document(_) => {}
        }
    }
    if !use_tools {
        let mut blocks = vec![ContentBlock::Text(format!(
            "[Result of tool call {id}]: {text}"
        ))];
        blocks.extend(after);
        return blocks;
    }
    flush(&mut text, &mut inner);
    if inner.is_empty() {
        // Converse refuses blank text; an empty result still has to answer the call.
        inner.push(ToolResultContent::Text("(empty)".into()));
    }
    let mut blocks = vec![ContentBlock::ToolResult(ToolResultBlock {
        tool_use_id: id,
        content: inner,
    })];
    blocks.extend(after);
    blocks
}

fn describe_call(call: &ToolCall) -> String {
    format!(
        "[Called tool {} with arguments {}]",
        call.name, call.arguments
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_names_follow_bedrocks_rule_and_are_unique() {
        let mut n = Names::default();
        assert_eq!(n.give(Some("Q3 report_final.v2.pdf")), "Q3 report-final-v2");
        assert_eq!(
            n.give(Some("Q3 report_final.v2.docx")),
            "Q3 report-final-v2 (2)"
        );
        assert_eq!(n.give(None), "document");
        assert_eq!(n.give(Some("../../etc/passwd")), "etc-passwd");
        assert_eq!(n.give(Some("   ")), "document (2)");
        assert_eq!(n.give(Some("数据.csv")), "document (3)");
        let long = n.give(Some(&"x".repeat(500)));
        assert!(long.len() <= MAX_DOCUMENT_NAME);
    }
}
