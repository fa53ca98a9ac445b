//! `instructions` and `input`: a Responses request's items as the
//! conversation's messages.
//!
//! - Messages: `user`, `assistant`, `system` and `developer` (the last two,
//!   like `instructions`, are system text); content a string or parts
//!   (`input_text`, `input_image` and `input_file` as inline `data:` URLs,
//!   and on assistant turns `output_text` and `refusal`).
//! - `function_call` / `custom_tool_call` are the assistant's tool calls
//!   (a custom call's text is the input of its one-string-property tool),
//!   `function_call_output` / `custom_tool_call_output` the results.
//! - `reasoning` items go back to Bedrock as the reasoning block their
//!   `encrypted_content` carries, first in the assistant turn that follows.
//! - `item_reference` is resolved from the id itself (see [`super::items`]).
//!
//! Item ids, statuses and phases are read past: the gateway keeps no state.

use super::items::{reasoning_block, resolve, ItemRef};
use super::tools::ToolNames;
use crate::api::fields::{is_tool_use_id, take_opt_string, take_string};
use crate::conversation::message::{Message, Role, ToolCall};
use crate::conversation::parts::{Document, Part};
use crate::conversation::reasoning::ThinkingBlock;
use crate::data_url::parse_image;
use crate::error::{clip, ApiError, MAX_ECHO_CHARS};
use serde_json::{json, Map, Value};

/// What reading the input needs to know.
pub struct Reading<'a> {
    /// The tools offered (for the Converse names of earlier calls).
    pub names: &'a ToolNames,
    /// The key that checks item ids, when the configuration has one.
    pub item_key: Option<&'a [u8]>,
}

/// What a reference to an item the gateway cannot resolve gets told.
const UNRESOLVED: &str = "This gateway keeps no state, and this id is not one it can read back (a streamed answer's item, another gateway's without the shared `responses.item_key`, or no id of ours): send the item itself in `input`. With the Vercel AI SDK, set `providerOptions: { openai: { store: false } }`.";

/// The messages of `instructions` and `input`.
pub fn parse_input(
    instructions: Option<String>,
    input: Option<Value>,
    reading: &Reading<'_>,
) -> Result<Vec<Message>, ApiError> {
    let mut out = Vec::new();
    if let Some(text) = instructions.filter(|t| !t.trim().is_empty()) {
        out.push(message(Role::System, vec![Part::Text(text)]));
    }
    let items = match input {
        None | Some(Value::Null) => return Err(ApiError::invalid("input", "`input` is required.")),
        Some(Value::String(text)) => {
            out.push(message(Role::User, vec![Part::Text(text)]));
            return Ok(out);
        }
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(ApiError::invalid(
                "input",
                "`input` must be a string or an array of items.",
            ))
        }
    };
    if items.is_empty() {
        return Err(ApiError::invalid("input", "`input` must not be empty."));
    }
    out.reserve(items.len());
    // Reasoning waits for the assistant turn it belongs to.
    let mut reasoning: Vec<ThinkingBlock> = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let base = format!("input.[{i}]");
        let Value::Object(mut item) = item else {
            return Err(ApiError::invalid(
                base,
                "Each input item must be an object.",
            ));
        };
        let kind = take_opt_string(&mut item, "type", &|| format!("{base}.type"))?;
        let mut next = match kind.as_deref().unwrap_or("message") {
            "message" => role_message(&base, item)?,
            "function_call" => call(&base, item, reading.names, false)?,
            "custom_tool_call" => call(&base, item, reading.names, true)?,
            "function_call_output" | "custom_tool_call_output" => call_output(&base, item)?,
            "reasoning" => {
                reasoning.extend(reasoning_item(&base, item)?);
                continue;
            }
            "item_reference" => match reference(&base, item, reading)? {
                Some(m) => m,
                None => continue,
            },
            other => {
                return Err(ApiError::invalid(
                    format!("{base}.type"),
                    format!(
                        "Input items of type `{}` are not supported: send messages, function and custom tool calls and their outputs, and reasoning.",
                        clip(other, MAX_ECHO_CHARS)
                    ),
                ))
            }
        };
        if next.role == Role::Assistant && !reasoning.is_empty() {
            next.thinking_blocks = std::mem::take(&mut reasoning);
        }
        out.push(next);
    }
    Ok(out)
}

fn message(role: Role, parts: Vec<Part>) -> Message {
    Message {
        role,
        parts,
        tool_calls: Vec::new(),
        tool_call_id: None,
        thinking_blocks: Vec::new(),
    }
}

/// A message item: its role and content.
fn role_message(base: &str, mut item: Map<String, Value>) -> Result<Message, ApiError> {
    let role = match take_string(&mut item, "role", &|| format!("{base}.role"))?.as_str() {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "system" | "developer" => Role::System,
        other => {
            return Err(ApiError::invalid(
                format!("{base}.role"),
                format!(
                    "Unknown role `{}`; expected user, assistant, system or developer.",
                    clip(other, MAX_ECHO_CHARS)
                ),
            ))
        }
    };
    let parts = content(base, item.remove("content"), role == Role::Assistant)?;
    Ok(message(role, parts))
}

/// A message's content: a string, or parts.
fn content(base: &str, v: Option<Value>, assistant: bool) -> Result<Vec<Part>, ApiError> {
    let param = || format!("{base}.content");
    match v {
        Some(Value::String(s)) => Ok(vec![Part::Text(s)]),
        Some(Value::Array(parts)) => parts
            .into_iter()
            .enumerate()
            .map(|(j, p)| part(&format!("{base}.content.[{j}]"), p, assistant))
            .collect(),
        None | Some(Value::Null) => Err(ApiError::invalid(param(), "`content` is required.")),
        Some(_) => Err(ApiError::invalid(
            param(),
            "`content` must be a string or an array of content parts.",
        )),
    }
}

/// One content part.
fn part(base: &str, v: Value, assistant: bool) -> Result<Part, ApiError> {
    let Value::Object(mut p) = v else {
        return Err(ApiError::invalid(
            base.to_string(),
            "Each content part must be an object.",
        ));
    };
    let kind = take_string(&mut p, "type", &|| format!("{base}.type"))?;
    match (kind.as_str(), assistant) {
        ("input_text", _) | ("output_text", true) => {
            Ok(Part::Text(take_string(&mut p, "text", &|| {
                format!("{base}.text")
            })?))
        }
        ("refusal", true) => Ok(Part::Text(take_string(&mut p, "refusal", &|| {
            format!("{base}.refusal")
        })?)),
        ("input_image", false) => {
            no_file_id(base, &p)?;
            let url = take_string(&mut p, "image_url", &|| format!("{base}.image_url"))?;
            Ok(Part::Image(parse_image(url, &|| {
                format!("{base}.image_url")
            })?))
        }
        ("input_file", false) => {
            no_file_id(base, &p)?;
            if p.get("file_url").is_some_and(|u| !u.is_null()) {
                return Err(ApiError::invalid(
                    format!("{base}.file_url"),
                    "URLs are not fetched by this gateway; send the document inline as `file_data` (a `data:<type>;base64,` URL).",
                ));
            }
            let param = || format!("{base}.file_data");
            let url = take_string(&mut p, "file_data", &param)?;
            let filename = take_opt_string(&mut p, "filename", &|| format!("{base}.filename"))?;
            Ok(Part::Document(Document::from_data_url(
                url,
                filename,
                "file_data",
                &param,
            )?))
        }
        (other, _) => Err(ApiError::invalid(
            format!("{base}.type"),
            format!(
                "Content part type `{}` is not supported here.",
                clip(other, MAX_ECHO_CHARS)
            ),
        )),
    }
}

fn no_file_id(base: &str, p: &Map<String, Value>) -> Result<(), ApiError> {
    if p.get("file_id").is_some_and(|id| !id.is_null()) {
        return Err(ApiError::invalid(
            format!("{base}.file_id"),
            "This gateway has no file store: send the image or document inline as a `data:<type>;base64,` URL.",
        ));
    }
    Ok(())
}

fn call_id(base: &str, item: &mut Map<String, Value>) -> Result<String, ApiError> {
    let param = || format!("{base}.call_id");
    let id = take_string(item, "call_id", &param)?;
    if !is_tool_use_id(&id) {
        return Err(ApiError::invalid(
            param(),
            "`call_id` must be 1-64 characters of [a-zA-Z0-9_.:-] (Bedrock's rule).",
        ));
    }
    Ok(id)
}

fn assistant_call(id: String, name: String, arguments: Value) -> Message {
    Message {
        role: Role::Assistant,
        parts: Vec::new(),
        tool_calls: vec![ToolCall {
            id,
            name,
            arguments,
        }],
        tool_call_id: None,
        thinking_blocks: Vec::new(),
    }
}

/// A function or custom tool call the model made earlier.
fn call(
    base: &str,
    mut item: Map<String, Value>,
    names: &ToolNames,
    custom: bool,
) -> Result<Message, ApiError> {
    let id = call_id(base, &mut item)?;
    let name = take_string(&mut item, "name", &|| format!("{base}.name"))?;
    let namespace = take_opt_string(&mut item, "namespace", &|| format!("{base}.namespace"))?;
    let arguments = if custom {
        let input = take_string(&mut item, "input", &|| format!("{base}.input"))?;
        json!({ "input": input })
    } else {
        let param = || format!("{base}.arguments");
        let raw = take_string(&mut item, "arguments", &param)?;
        arguments(&raw, &param)?
    };
    let converse = names.converse_name(namespace.as_deref(), &name);
    Ok(assistant_call(id, converse, arguments))
}

/// A call's arguments, parsed from their JSON text (empty: no arguments).
fn arguments(raw: &str, param: &dyn Fn() -> String) -> Result<Value, ApiError> {
    if raw.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_str(raw)
        .map_err(|e| ApiError::invalid(param(), format!("`arguments` is not valid JSON: {e}")))
}

/// A tool's output: text, or text, image and file parts.
fn call_output(base: &str, mut item: Map<String, Value>) -> Result<Message, ApiError> {
    let id = call_id(base, &mut item)?;
    let parts = match item.remove("output") {
        Some(Value::String(s)) => vec![Part::Text(s)],
        Some(Value::Array(parts)) => parts
            .into_iter()
            .enumerate()
            .map(|(j, p)| part(&format!("{base}.output.[{j}]"), p, false))
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(ApiError::invalid(
                format!("{base}.output"),
                "`output` must be a string or an array of content parts.",
            ))
        }
    };
    Ok(Message {
        role: Role::Tool,
        parts,
        tool_calls: Vec::new(),
        tool_call_id: Some(id),
        thinking_blocks: Vec::new(),
    })
}

/// A reasoning item: the block its `encrypted_content` carries, if any.
fn reasoning_item(
    base: &str,
    mut item: Map<String, Value>,
) -> Result<Option<ThinkingBlock>, ApiError> {
    let param = || format!("{base}.encrypted_content");
    let Some(carried) = take_opt_string(&mut item, "encrypted_content", &param)? else {
        // Without it there is nothing Bedrock can take back.
        return Ok(None);
    };
    reasoning_block(&carried).map(Some).ok_or_else(|| {
        ApiError::invalid(
            param(),
            "`encrypted_content` is not reasoning this gateway wrote; send back the reasoning item as the gateway gave it.",
        )
    })
}

/// An `item_reference`: the message or call its id carries (a reasoning
/// item's id carries nothing to send, and is read past).
fn reference(
    base: &str,
    mut item: Map<String, Value>,
    reading: &Reading<'_>,
) -> Result<Option<Message>, ApiError> {
    let id = take_string(&mut item, "id", &|| format!("{base}.id"))?;
    let resolved = reading.item_key.and_then(|key| resolve(key, &id));
    let Some(resolved) = resolved else {
        return Err(ApiError::invalid(base.to_string(), UNRESOLVED));
    };
    let names = reading.names;
    Ok(match resolved {
        ItemRef::Message(text) => Some(message(Role::Assistant, vec![Part::Text(text)])),
        ItemRef::Call(call_id, name, namespace, raw) => {
            let args = arguments(&raw, &|| format!("{base}.id"))?;
            let converse = names.converse_name(namespace.as_deref(), &name);
            Some(assistant_call(call_id, converse, args))
        }
        ItemRef::Custom(call_id, name, namespace, input) => {
            let converse = names.converse_name(namespace.as_deref(), &name);
            Some(assistant_call(call_id, converse, json!({ "input": input })))
        }
        ItemRef::Reasoning(..) => None,
    })
}
