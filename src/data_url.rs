//! Inline `data:<mime>;base64,<data>` URLs (of images and documents):
//! the gateway fetches nothing, and passes the base64 on without copying it.

use crate::error::ApiError;
use serde::{Serialize, Serializer};

/// Bedrock's limit on one image, decoded.
pub const MAX_IMAGE_BYTES: usize = 3_750_000;

/// A caller's `data:` URL whose data is valid, padded, standard base64. It
/// serializes as that base64 (Converse JSON carries blobs as base64), taken
/// from the caller's own string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataUrl {
    url: String,
    /// Where the base64 starts in `url`, after the `,`.
    data_start: usize,
}

impl DataUrl {
    /// The MIME type and parameters between `data:` and `,` (e.g. `image/png;base64`).
    pub fn meta(&self) -> &str {
        self.url
            .get("data:".len()..self.data_start.saturating_sub(1))
            .unwrap_or("")
    }

    /// The base64 data.
    pub fn base64(&self) -> &str {
        self.url.get(self.data_start..).unwrap_or("")
    }

    /// The number of bytes the data decodes to.
    pub fn decoded_len(&self) -> usize {
        crate::base64::decoded_len(self.base64()).unwrap_or(0)
    }
}

impl Serialize for DataUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.base64())
    }
}

/// Splits `data:<meta>,<base64>`; `what` names the part in errors
/// (`image_url.url`). The data must be non-empty, valid base64.
pub fn parse_data_url(
    url: String,
    what: &str,
    param: &dyn Fn() -> String,
) -> Result<DataUrl, ApiError> {
    if url.starts_with("http://") || url.starts_with("https://") {
        return Err(ApiError::invalid(
            param(),
            format!("URLs are not fetched by this gateway; send `{what}` inline as a `data:<type>;base64,` URL."),
        ));
    }
    if !url.starts_with("data:") {
        return Err(ApiError::invalid(
            param(),
            format!("`{what}` must be a `data:` URL."),
        ));
    }
    let Some(comma) = url.find(',') else {
        return Err(ApiError::invalid(param(), "The `data:` URL has no data."));
    };
    let data = DataUrl {
        data_start: comma + 1,
        url,
    };
    match crate::base64::decoded_len(data.base64()) {
        Some(n) if n > 0 => Ok(data),
        _ => Err(ApiError::invalid(param(), "The data is not valid base64.")),
    }
}

/// An image ready for a Converse image block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// `png`, `jpeg`, `gif` or `webp`.
    pub format: &'static str,
    /// The image, base64 in the caller's `data:` URL.
    pub data: DataUrl,
}

/// Parses `data:image/<fmt>;base64,<data>` of an `image_url` part.
pub fn parse_image(url: String, param: &dyn Fn() -> String) -> Result<Image, ApiError> {
    let data = parse_data_url(url, "image_url.url", param)?;
    let meta = data.meta();
    let format = [
        ("image/png;base64", "png"),
        ("image/jpeg;base64", "jpeg"),
        ("image/jpg;base64", "jpeg"),
        ("image/gif;base64", "gif"),
        ("image/webp;base64", "webp"),
    ]
    .into_iter()
    .find(|(m, _)| m.eq_ignore_ascii_case(meta))
    .map(|(_, f)| f);
    let Some(format) = format else {
        return Err(ApiError::invalid(
            param(),
            "Images must be base64 `data:` URLs of type image/png, image/jpeg, image/gif or image/webp.",
        ));
    };
    let decoded_len = data.decoded_len();
    if decoded_len > MAX_IMAGE_BYTES {
        return Err(ApiError::invalid(
            param(),
            format!("The image is {decoded_len} bytes; Bedrock takes at most {MAX_IMAGE_BYTES}."),
        ));
    }
    Ok(Image { format, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls_keep_the_callers_string() {
        let param = || "p".to_string();
        let img = parse_image("data:IMAGE/PNG;base64,aGVsbG8=".into(), &param).unwrap();
        assert_eq!((img.format, img.data.base64()), ("png", "aGVsbG8="));
        assert_eq!(serde_json::to_string(&img.data).unwrap(), "\"aGVsbG8=\"");
        assert_eq!(img.data.meta(), "IMAGE/PNG;base64");
        assert!(parse_image("data:image/png;base64,".into(), &param).is_err());
        assert!(parse_image("data:text/plain;base64,aGVsbG8=".into(), &param).is_err());
        assert!(parse_image("https://example.com/x.png".into(), &param).is_err());
    }
}
