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
    let decoded_len = match base64_decoded_len(data) {
        Some(n) if n > 0 => n,
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

/// The decoded length of standard, padded base64 (`None` if it is not
/// that), checked without decoding: the image is passed on as base64.
pub fn base64_decoded_len(data: &str) -> Option<usize> {
    let bytes = data.as_bytes();
    if bytes.len() % 4 != 0 {
        return None;
    }
    let padding = bytes.iter().rev().take_while(|&&b| b == b'=').count();
    if padding > 2 {
        return None;
    }
    let body = bytes.get(..bytes.len() - padding)?;
    let alphabet = |b: &u8| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/';
    if !body.iter().all(alphabet) {
        return None;
    }
    Some(bytes.len() / 4 * 3 - padding)
}

#[cfg(test)]
mod tests {
    use super::base64_decoded_len;

    #[test]
    fn base64_lengths_without_decoding() {
        assert_eq!(base64_decoded_len("aGVsbG8="), Some(5));
        assert_eq!(base64_decoded_len("aGVsbG8h"), Some(6));
        assert_eq!(base64_decoded_len("aGVsbA=="), Some(4));
        assert_eq!(base64_decoded_len(""), Some(0));
        assert_eq!(base64_decoded_len("aGVsbG8"), None, "unpadded");
        assert_eq!(base64_decoded_len("aGV=bG8="), None, "padding inside");
        assert_eq!(base64_decoded_len("aG==="), None);
        assert_eq!(base64_decoded_len("a==="), None);
        assert_eq!(base64_decoded_len("aGVs bG8="), None, "space");
        assert_eq!(base64_decoded_len("aGVs-G8="), None, "url-safe alphabet");
    }
}
