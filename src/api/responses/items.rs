//! The ids of a buffered answer's output items, and the reasoning a caller
//! sends back: what lets a stateless gateway resolve `item_reference` and
//! continue a tool loop.
//!
//! - A buffered answer's item id carries what the item holds (a message's
//!   text, a call's id, name and input), integrity-checked with the plugin
//!   configuration's `responses.item_key` (HMAC-SHA256, 128 bits), so that
//!   every gateway of a fleet resolves every other's ids. A reasoning item's
//!   id carries nothing but its check: the caller sends reasoning back as
//!   the item itself, with its `encrypted_content`.
//! - A streamed item's id is sent before its content exists, so it carries
//!   nothing: a reference to it cannot be resolved.
//! - `encrypted_content` carries what Bedrock needs to take a reasoning
//!   block back: the signed text, or the redacted data. It is an encoding
//!   (URL-safe base64 of a small JSON), not encryption: Bedrock checks the
//!   signature of what comes back.

use crate::base64::{decode_url, encode_url};
use crate::conversation::reasoning::ThinkingBlock;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The bytes of an item id's check (a truncated HMAC-SHA256).
const TAG_BYTES: usize = 16;

/// What a buffered answer's item id carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ItemRef {
    /// An assistant message: its text.
    #[serde(rename = "m")]
    Message(String),
    /// A function call: call id, name, namespace, arguments.
    #[serde(rename = "f")]
    Call(String, String, Option<String>, String),
    /// A custom tool call: call id, name, namespace, input.
    #[serde(rename = "c")]
    Custom(String, String, Option<String>, String),
    /// A reasoning item: nothing but where it was made (response id, index).
    #[serde(rename = "r")]
    Reasoning(String, u32),
}

impl ItemRef {
    /// The id prefix OpenAI uses for the item's kind.
    fn prefix(&self) -> &'static str {
        match self {
            ItemRef::Message(_) => "msg_",
            ItemRef::Call(..) => "fc_",
            ItemRef::Custom(..) => "ctc_",
            ItemRef::Reasoning(..) => "rs_",
        }
    }
}

fn tag(key: &[u8], payload: &[u8]) -> Option<[u8; 32]> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(b"bedrock-openai-filter item id v1\n");
    mac.update(payload);
    Some(mac.finalize().into_bytes().into())
}

/// The id of an item that carries `item`, checked with `key`: `<prefix>` +
/// URL-safe base64 of the JSON of `item`, `.`, and of its check.
pub fn carrying_id(key: &[u8], item: &ItemRef) -> Option<String> {
    let payload = serde_json::to_vec(item).ok()?;
    let tag = tag(key, &payload)?;
    let mut id = String::with_capacity(payload.len() * 4 / 3 + 32);
    id.push_str(item.prefix());
    id.push_str(&encode_url(&payload));
    id.push('.');
    id.push_str(&encode_url(tag.get(..TAG_BYTES)?));
    Some(id)
}

/// What an id carries, if `key` made it.
pub fn resolve(key: &[u8], id: &str) -> Option<ItemRef> {
    let (_, rest) = id.split_once('_')?;
    let (text, check_text) = rest.rsplit_once('.')?;
    let payload = decode_url(text)?;
    let check = decode_url(check_text)?;
    // One spelling per id: base64 that decodes alike but reads otherwise is not ours.
    if encode_url(&payload) != text || encode_url(&check) != check_text {
        return None;
    }
    let expected = tag(key, &payload)?;
    let expected = expected.get(..TAG_BYTES)?;
    // Constant time: the comparison does not say how much of a forgery was right.
    let diff = check
        .iter()
        .zip(expected)
        .fold(u8::from(check.len() != TAG_BYTES), |acc, (a, b)| {
            acc | (a ^ b)
        });
    if std::hint::black_box(diff) != 0 {
        return None;
    }
    let item: ItemRef = serde_json::from_slice(&payload).ok()?;
    id.starts_with(item.prefix()).then_some(item)
}

/// The prefix of what this gateway writes in `encrypted_content`.
const REASONING_PREFIX: &str = "bof1_";

#[derive(Serialize, Deserialize)]
enum Carried {
    #[serde(rename = "t")]
    Text(String, Option<String>),
    #[serde(rename = "r")]
    Redacted(String),
}

/// `encrypted_content` for a reasoning block.
pub fn encrypted_content(block: &ThinkingBlock) -> String {
    let carried = match block {
        ThinkingBlock::Thinking {
            thinking,
            signature,
        } => Carried::Text(thinking.clone(), signature.clone()),
        ThinkingBlock::RedactedThinking { data } => Carried::Redacted(data.clone()),
    };
    let json = serde_json::to_vec(&carried).unwrap_or_default();
    let mut out = String::with_capacity(REASONING_PREFIX.len() + json.len() * 4 / 3 + 4);
    out.push_str(REASONING_PREFIX);
    out.push_str(&encode_url(&json));
    out
}

/// The reasoning block an `encrypted_content` this gateway wrote carries.
pub fn reasoning_block(encrypted: &str) -> Option<ThinkingBlock> {
    let json = decode_url(encrypted.strip_prefix(REASONING_PREFIX)?)?;
    Some(match serde_json::from_slice(&json).ok()? {
        Carried::Text(thinking, signature) => ThinkingBlock::Thinking {
            thinking,
            signature,
        },
        Carried::Redacted(data) => ThinkingBlock::RedactedThinking { data },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn ids_carry_their_item_and_refuse_forgery() {
        for item in [
            ItemRef::Message("Hello, \"world\" é".into()),
            ItemRef::Call(
                "call_1".into(),
                "get_weather".into(),
                None,
                "{\"city\":\"Paris\"}".into(),
            ),
            ItemRef::Custom(
                "c1".into(),
                "apply_patch".into(),
                Some("ns".into()),
                "*** Begin".into(),
            ),
            ItemRef::Reasoning("resp_1".into(), 0),
        ] {
            let id = carrying_id(KEY, &item).unwrap();
            assert!(id.starts_with(item.prefix()), "{id}");
            assert!(id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b)));
            assert_eq!(resolve(KEY, &id), Some(item.clone()));
            assert_eq!(resolve(b"another key, just as long as it is", &id), None);
            // One character changed anywhere: refused.
            for at in 4..id.len() {
                let mut forged = id.clone().into_bytes();
                forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
                let forged = String::from_utf8(forged).unwrap();
                if forged != id {
                    assert_eq!(resolve(KEY, &forged), None, "{forged}");
                }
            }
        }
        let msg = carrying_id(KEY, &ItemRef::Message("x".into())).unwrap();
        assert_eq!(
            resolve(KEY, &msg.replacen("msg_", "fc_", 1)),
            None,
            "kind and prefix agree"
        );
        for junk in [
            "",
            "msg_",
            "msg_abc",
            "msg_abc.def",
            "rs_1",
            "msg_.",
            "fc_!!.!!",
        ] {
            assert_eq!(resolve(KEY, junk), None, "{junk}");
        }
    }

    #[test]
    fn reasoning_round_trips_byte_for_byte() {
        for block in [
            ThinkingBlock::Thinking {
                thinking: "Let me think.\nStep 1: é".into(),
                signature: Some("EqQBCkYIBxgCKkD+sig==".into()),
            },
            ThinkingBlock::Thinking {
                thinking: String::new(),
                signature: None,
            },
            ThinkingBlock::RedactedThinking {
                data: "AbCd+/==".into(),
            },
        ] {
            let carried = encrypted_content(&block);
            assert!(carried.starts_with(REASONING_PREFIX));
            assert_eq!(reasoning_block(&carried), Some(block));
        }
        assert_eq!(reasoning_block("gAAAAABo-openai-encrypted"), None);
        assert_eq!(reasoning_block("bof1_!!"), None);
    }
}
