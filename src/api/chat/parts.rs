//! Content parts: text, `image_url`, `file` (documents), and the
//! `cache_control` markers a part (or a message, or a tool) may carry.

use crate::api::fields::{take_opt_string, take_string};
use crate::conversation::parts::{CacheMark, Document, Part};
use crate::data_url::parse_image;
use crate::error::{clip, ApiError, MAX_ECHO_CHARS};
use serde_json::Value;

/// Parses `cache_control` (absent or null: none).
pub fn parse_cache_control(
    v: Option<Value>,
    param: &dyn Fn() -> String,
) -> Result<Option<CacheMark>, ApiError> {
    let mut c = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(c)) => c,
        Some(_) => {
            return Err(ApiError::invalid(
                param(),
                "`cache_control` must be {\"type\": \"ephemeral\"}.",
            ))
        }
    };
    if take_string(&mut c, "type", &|| format!("{}.type", param()))? != "ephemeral" {
        return Err(ApiError::invalid(
            format!("{}.type", param()),
            "`cache_control.type` must be ephemeral.",
        ));
    }
    let one_hour = match take_opt_string(&mut c, "ttl", &|| format!("{}.ttl", param()))?.as_deref()
    {
        None | Some("5m") => false,
        Some("1h") => true,
        Some(_) => {
            return Err(ApiError::invalid(
                format!("{}.ttl", param()),
                "`cache_control.ttl` must be 5m or 1h.",
            ))
        }
    };
    Ok(Some(CacheMark { one_hour }))
}

/// Parses a message's `content` (message `i`): a string, or parts.
pub fn parse_content(i: usize, optional: bool, v: Option<Value>) -> Result<Vec<Part>, ApiError> {
    let param = || format!("messages.[{i}].content");
    match v {
        Some(Value::String(s)) => Ok(vec![Part::Text(s)]),
        Some(Value::Array(items)) => {
            let mut parts = Vec::with_capacity(items.len());
            for (j, p) in items.into_iter().enumerate() {
                parse_part(i, j, p, &mut parts)?;
            }
            Ok(parts)
        }
        None | Some(Value::Null) if optional => Ok(Vec::new()),
        None | Some(Value::Null) => Err(ApiError::invalid(
            param(),
            "`content` is required for this role.",
        )),
        Some(_) => Err(ApiError::invalid(
            param(),
            "`content` must be a string or an array of content parts.",
        )),
    }
}

fn parse_document(base: &str, v: Option<Value>) -> Result<Document, ApiError> {
    let Some(Value::Object(mut f)) = v else {
        return Err(ApiError::invalid(
            format!("{base}.file"),
            "A file part needs a `file` object with `file_data`.",
        ));
    };
    if f.get("file_id").is_some_and(|id| !id.is_null()) {
        return Err(ApiError::invalid(
            format!("{base}.file.file_id"),
            "This gateway has no file store: send the document inline as `file_data` (a `data:<type>;base64,` URL).",
        ));
    }
    let param = || format!("{base}.file.file_data");
    let url = take_string(&mut f, "file_data", &param)?;
    let filename = take_opt_string(&mut f, "filename", &|| format!("{base}.file.filename"))?;
    Document::from_data_url(url, filename, "file.file_data", &param)
}

fn parse_part(i: usize, j: usize, v: Value, out: &mut Vec<Part>) -> Result<(), ApiError> {
    let base = format!("messages.[{i}].content.[{j}]");
    let Value::Object(mut p) = v else {
        return Err(ApiError::invalid(
            base,
            "Each content part must be an object.",
        ));
    };
    let kind = take_string(&mut p, "type", &|| format!("{base}.type"))?;
    let part = match kind.as_str() {
        "text" => Part::Text(take_string(&mut p, "text", &|| format!("{base}.text"))?),
        "image_url" => {
            let url = match p.remove("image_url") {
                Some(Value::Object(mut o)) => {
                    take_string(&mut o, "url", &|| format!("{base}.image_url.url"))?
                }
                Some(Value::String(s)) => s,
                _ => {
                    return Err(ApiError::invalid(
                        format!("{base}.image_url"),
                        "An image part needs `image_url.url`.",
                    ))
                }
            };
            Part::Image(parse_image(url, &|| format!("{base}.image_url.url"))?)
        }
        "file" => Part::Document(parse_document(&base, p.remove("file"))?),
        other => {
            return Err(ApiError::invalid(
                format!("{base}.type"),
                format!(
                    "Content part type `{}` is not supported.",
                    clip(other, MAX_ECHO_CHARS)
                ),
            ))
        }
    };
    out.push(part);
    if let Some(mark) = parse_cache_control(p.remove("cache_control"), &|| {
        format!("{base}.cache_control")
    })? {
        out.push(Part::CachePoint(mark));
    }
    Ok(())
}
