//! `image_url` content parts: only inline `data:` URLs; the gateway fetches nothing.

use crate::error::ApiError;

/// Bedrock's limit on one image, decoded.
pub const MAX_IMAGE_BYTES: usize = 3_750_000;

/// An image ready for a Converse image block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// `png`, `jpeg`, `gif` or `webp`.
    pub format: &'static str,
    /// Base64 data as sent (checked to decode); Converse JSON carries blobs as base64.
    pub base64: String,
}

/// Parses `data:image/<fmt>;base64,<data>`.
pub fn parse_data_url(url: String, param: &dyn Fn() -> String) -> Result<Image, ApiError> {
    if url.starts_with("http://") || url.starts_with("https://") {
        return Err(ApiError::invalid(
            param(),
            "Image URLs are not fetched by this gateway; send the image inline as a `data:image/...;base64,` URL.",
        ));
    }
    let Some(rest) = url.strip_prefix("data:") else {
        return Err(ApiError::invalid(
            param(),
            "`image_url.url` must be a `data:` URL.",
        ));
    };
    let Some((meta, data)) = rest.split_once(',') else {
        return Err(ApiError::invalid(param(), "The `data:` URL has no data."));
    };
    let format = match meta.to_ascii_lowercase().as_str() {
        "image/png;base64" => "png",
        "image/jpeg;base64" | "image/jpg;base64" => "jpeg",
        "image/gif;base64" => "gif",
        "image/webp;base64" => "webp",
        _ => {
            return Err(ApiError::invalid(
                param(),
                "Images must be base64 `data:` URLs of type image/png, image/jpeg, image/gif or image/webp.",
            ))
        }
    };
    let decoded_len = match aws_smithy_types::base64::decode(data) {
        Ok(bytes) if !bytes.is_empty() => bytes.len(),
        _ => {
            return Err(ApiError::invalid(
                param(),
                "The image data is not valid base64.",
            ))
        }
    };
    if decoded_len > MAX_IMAGE_BYTES {
        return Err(ApiError::invalid(
            param(),
            format!("The image is {decoded_len} bytes; Bedrock takes at most {MAX_IMAGE_BYTES}."),
        ));
    }
    Ok(Image {
        format,
        base64: data.to_string(),
    })
}
