//! SigV4 signing of an upstream call to Bedrock.
//!
//! The filter signs exactly one shape of request: a `POST` of a JSON body,
//! with the headers `content-type`, `host`, `x-amz-date` and, for temporary
//! credentials, `x-amz-security-token`. That shape is signed here directly on
//! `sha2` + `hmac`: the canonical request and the string to sign are fed to
//! the hashes piece by piece (nothing is assembled in memory), and the
//! per-day signing key is kept in a small [`SigningKeys`] cache, so a request
//! costs three SHA-256 passes (body, canonical request, signature) instead of
//! seven. The general-purpose `aws-sigv4` crate did the same work in about
//! 150 KB of `.wasm` and twice the time; it remains the oracle of the
//! differential tests (`tests/sigv4_oracle.rs`), next to golden values from
//! botocore and the strict stand-in, which recomputes every signature with
//! botocore.

mod date;
mod keys;

pub use date::amz_date;
use hmac::Mac;
pub use keys::{SigningKeys, SIGNING_KEY_CACHE_SIZE};
use sha2::{Digest, Sha256};
use std::time::SystemTime;

/// SigV4 signing name of Bedrock Runtime (not `bedrock-runtime`).
pub const SERVICE: &str = "bedrock";

/// SigV4 signing name of bedrock-mantle, Bedrock's endpoint for the
/// OpenAI-compatible and Anthropic APIs (its IAM actions are
/// `bedrock-mantle:*`; see docs/routing.md for the sources).
pub const MANTLE_SERVICE: &str = "bedrock-mantle";

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const TERMINATOR: &str = "aws4_request";

/// The caller's AWS credentials, from the `aws-*` request headers.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `aws-access-key-id`.
    pub access_key_id: String,
    /// `aws-secret-access-key`.
    pub secret_access_key: String,
    /// `aws-session-token`, for temporary credentials.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials([redacted])")
    }
}

/// What is signed: a POST of a JSON body to `authority` + `path`.
pub struct SignRequest<'a> {
    /// `host[:port]`, sent as `:authority` and signed as `host`.
    pub authority: &'a str,
    /// Request path, percent-encoded once (`%3A`); signing encodes it again.
    pub path: &'a str,
    /// The exact body bytes sent.
    pub body: &'a [u8],
    /// Region in the credential scope.
    pub region: &'a str,
}

/// Why signing failed.
#[derive(Debug, thiserror::Error)]
#[error("could not sign the upstream request: {0}")]
pub struct SignError(&'static str);

const HEX: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// The digit of `table` for the low four bits of `n`.
fn digit(table: &[u8; 16], n: u8) -> u8 {
    table.get(usize::from(n & 0x0f)).copied().unwrap_or(b'0')
}

fn hex(bytes: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        if let [hi, lo] = pair {
            *hi = digit(HEX, b >> 4);
            *lo = digit(HEX, *b);
        }
    }
    out
}

/// SigV4's `UriEncode`: appends `input` with every byte but RFC 3986's
/// unreserved characters (and `/`, when `keep_slash`) percent-encoded in
/// upper case. The Converse path encodes the model id with it once (`:` →
/// `%3A`, `/` → `%2F`); the canonical URI encodes that path again (`%3A` →
/// `%253A`), as botocore does for every service but S3.
pub fn uri_encode(out: &mut Vec<u8>, input: &[u8], keep_slash: bool) {
    let kept = |b: u8| {
        b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && b == b'/')
    };
    out.reserve(input.len());
    let mut rest = input;
    // Runs of kept bytes are copied whole; ids hold few bytes to encode.
    while !rest.is_empty() {
        let run = rest.iter().position(|&b| !kept(b)).unwrap_or(rest.len());
        let (plain, tail) = rest.split_at(run);
        out.extend_from_slice(plain);
        let Some((&b, tail)) = tail.split_first() else {
            break;
        };
        out.extend_from_slice(&[b'%', digit(HEX_UPPER, b >> 4), digit(HEX_UPPER, b)]);
        rest = tail;
    }
}

/// Appends the credential scope `<date>/<region>/<service>/aws4_request`.
fn push_scope(out: &mut Vec<u8>, date: &[u8; 8], region: &str, service: &str) {
    push_all(
        out,
        &[
            date,
            b"/",
            region.as_bytes(),
            b"/",
            service.as_bytes(),
            b"/",
            TERMINATOR.as_bytes(),
        ],
    );
}

/// Appends a header value in canonical form: trimmed, inner runs of spaces
/// collapsed to one.
fn push_header_value(out: &mut Vec<u8>, value: &str) {
    for (i, word) in value.split(' ').filter(|w| !w.is_empty()).enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(word.as_bytes());
    }
}

/// Appends each of `parts`.
fn push_all(out: &mut Vec<u8>, parts: &[&[u8]]) {
    for part in parts {
        out.extend_from_slice(part);
    }
}

/// Signs `req` for Bedrock Runtime ([`SERVICE`]) and returns the headers to
/// add (`x-amz-date`, `authorization`, and `x-amz-security-token` with
/// temporary credentials).
pub fn sign_request(
    req: &SignRequest<'_>,
    creds: &Credentials,
    now: SystemTime,
    keys: &SigningKeys,
) -> Result<Vec<(&'static str, String)>, SignError> {
    sign_request_as(SERVICE, req, creds, now, keys)
}

/// Signs `req` for the signing name `service` ([`SERVICE`] or
/// [`MANTLE_SERVICE`]), as [`sign_request`] does.
pub fn sign_request_as(
    service: &'static str,
    req: &SignRequest<'_>,
    creds: &Credentials,
    now: SystemTime,
    keys: &SigningKeys,
) -> Result<Vec<(&'static str, String)>, SignError> {
    let amz_date = amz_date(now);
    let mut date = [0u8; 8];
    date.copy_from_slice(amz_date.get(..8).ok_or(SignError("bad date"))?);
    let token = creds.session_token.as_deref();
    let signed_headers = if token.is_some() {
        "content-type;host;x-amz-date;x-amz-security-token"
    } else {
        "content-type;host;x-amz-date"
    };

    // The canonical request, then (reusing the buffer) the string to sign.
    let mut buf = Vec::with_capacity(512 + token.map_or(0, str::len));
    buf.extend_from_slice(b"POST\n");
    uri_encode(&mut buf, req.path.as_bytes(), true);
    buf.extend_from_slice(b"\n\ncontent-type:application/json\nhost:");
    push_header_value(&mut buf, req.authority);
    push_all(&mut buf, &[b"\nx-amz-date:", &amz_date]);
    if let Some(t) = token {
        buf.extend_from_slice(b"\nx-amz-security-token:");
        push_header_value(&mut buf, t);
    }
    let body_hash = hex(&Sha256::digest(req.body).into());
    push_all(
        &mut buf,
        &[b"\n\n", signed_headers.as_bytes(), b"\n", &body_hash],
    );
    let canonical_hash = hex(&Sha256::digest(&buf).into());
    buf.clear();
    push_all(&mut buf, &[ALGORITHM.as_bytes(), b"\n", &amz_date, b"\n"]);
    push_scope(&mut buf, &date, req.region, service);
    push_all(&mut buf, &[b"\n", &canonical_hash]);
    let mut signer = keys.signer(creds, &date, req.region, service)?;
    signer.update(&buf);
    let signature = hex(&signer.finalize().into_bytes().into());

    // `Credential=` and `Signature=` hold only ASCII we wrote or were given.
    let mut authorization = Vec::with_capacity(200 + creds.access_key_id.len());
    push_all(
        &mut authorization,
        &[
            ALGORITHM.as_bytes(),
            b" Credential=",
            creds.access_key_id.as_bytes(),
            b"/",
        ],
    );
    push_scope(&mut authorization, &date, req.region, service);
    push_all(
        &mut authorization,
        &[
            b", SignedHeaders=",
            signed_headers.as_bytes(),
            b", Signature=",
            &signature,
        ],
    );
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).map_err(|_| SignError("not UTF-8"));
    let mut headers = Vec::with_capacity(3);
    headers.push(("x-amz-date", text(amz_date.to_vec())?));
    headers.push(("authorization", text(authorization)?));
    if let Some(t) = token {
        headers.push(("x-amz-security-token", t.to_string()));
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn creds(token: Option<&str>) -> Credentials {
        Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: token.map(str::to_string),
        }
    }

    fn header<'a>(h: &'a [(&'static str, String)], name: &str) -> &'a str {
        h.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .unwrap()
    }

    // 2024-01-02T03:04:05Z
    fn fixed_time() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_704_164_645)
    }

    fn golden_request() -> SignRequest<'static> {
        SignRequest {
            authority: "bedrock-runtime.us-east-1.amazonaws.com",
            path: "/model/meta.llama3-8b-instruct-v1%3A0/converse",
            body: br#"{"messages":[]}"#,
            region: "us-east-1",
        }
    }

    /// Golden value computed independently with botocore's SigV4Auth
    /// (`botocore.auth.SigV4Auth`, service `bedrock`, clock fixed at the same instant).
    #[test]
    fn signs_like_botocore_with_double_encoded_path() {
        let keys = SigningKeys::new();
        let h = sign_request(&golden_request(), &creds(None), fixed_time(), &keys).unwrap();
        assert_eq!(header(&h, "x-amz-date"), "20240102T030405Z");
        assert_eq!(header(&h, "authorization"), GOLDEN_AUTH);
        assert!(h.iter().all(|(n, _)| *n != "x-amz-security-token"));
        // The second signature comes from the cached key and is the same.
        let again = sign_request(&golden_request(), &creds(None), fixed_time(), &keys).unwrap();
        assert_eq!(header(&again, "authorization"), GOLDEN_AUTH);
    }

    #[test]
    fn a_wrong_secret_never_reuses_a_cached_key() {
        let keys = SigningKeys::new();
        sign_request(&golden_request(), &creds(None), fixed_time(), &keys).unwrap();
        let mut wrong = creds(None);
        wrong.secret_access_key.push('x');
        let h = sign_request(&golden_request(), &wrong, fixed_time(), &keys).unwrap();
        assert_ne!(header(&h, "authorization"), GOLDEN_AUTH);
        let fresh = sign_request(&golden_request(), &wrong, fixed_time(), &SigningKeys::new());
        assert_eq!(
            header(&h, "authorization"),
            header(&fresh.unwrap(), "authorization")
        );
    }

    #[test]
    fn the_cache_stays_bounded_and_correct_when_full() {
        let keys = SigningKeys::new();
        for round in 0..2 {
            for i in 0..(SIGNING_KEY_CACHE_SIZE * 2) {
                let mut c = creds(None);
                c.access_key_id = format!("AKID{i}");
                let h = sign_request(&golden_request(), &c, fixed_time(), &keys).unwrap();
                let fresh =
                    sign_request(&golden_request(), &c, fixed_time(), &SigningKeys::new()).unwrap();
                assert_eq!(h, fresh, "round {round} caller {i}");
            }
        }
        assert_eq!(keys.entries.borrow().len(), SIGNING_KEY_CACHE_SIZE);
    }

    #[test]
    fn session_token_is_signed_and_sent() {
        let req = SignRequest {
            authority: "127.0.0.1:9099",
            path: "/model/x/converse",
            body: b"{}",
            region: "eu-west-1",
        };
        let h = sign_request(&req, &creds(Some("tok")), fixed_time(), &SigningKeys::new()).unwrap();
        assert_eq!(header(&h, "x-amz-security-token"), "tok");
        assert!(header(&h, "authorization")
            .contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token"));
    }

    /// Golden value from botocore's SigV4Auth at 2026-11-28T05:05:43Z: the
    /// token's inner runs of spaces are collapsed in the canonical header
    /// (the sent header keeps them).
    #[test]
    fn collapses_spaces_like_botocore() {
        let token = "IQoJb3JpZ2luX2VjE  two  spaces";
        let at = UNIX_EPOCH + Duration::from_secs(1_795_842_343);
        let h = sign_request(
            &golden_request(),
            &creds(Some(token)),
            at,
            &SigningKeys::new(),
        )
        .unwrap();
        assert_eq!(header(&h, "x-amz-date"), "20261128T050543Z");
        assert_eq!(header(&h, "x-amz-security-token"), token);
        assert_eq!(
            header(&h, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/bedrock/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, \
             Signature=a0bca5ae1aaf57ae1cc5e0a0685917af62836a279326c4242b5f838fc334af9a"
        );
    }

    /// Golden value from botocore's SigV4Auth for the service `bedrock-mantle`
    /// at the same instant; the key cache keeps one key per service.
    #[test]
    fn signs_for_bedrock_mantle_like_botocore() {
        let keys = SigningKeys::new();
        let req = SignRequest {
            authority: "bedrock-mantle.us-east-1.api.aws",
            path: "/openai/v1/chat/completions",
            body: br#"{"model":"openai.gpt-5.5"}"#,
            region: "us-east-1",
        };
        sign_request(&golden_request(), &creds(None), fixed_time(), &keys).unwrap();
        let h = sign_request_as(MANTLE_SERVICE, &req, &creds(None), fixed_time(), &keys).unwrap();
        assert_eq!(
            header(&h, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/bedrock-mantle/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=3ab9e919c0a5308e8a387b913fdea6e0704016371e62b11a62db7aa5d3898a25"
        );
        assert_eq!(keys.entries.borrow().len(), 2);
        let again = sign_request(&golden_request(), &creds(None), fixed_time(), &keys).unwrap();
        assert_eq!(header(&again, "authorization"), GOLDEN_AUTH);
    }

    #[test]
    fn amz_date_matches_known_instants() {
        let at = |s: u64| {
            String::from_utf8(amz_date(UNIX_EPOCH + Duration::from_secs(s)).to_vec()).unwrap()
        };
        assert_eq!(at(0), "19700101T000000Z");
        assert_eq!(at(951_782_400), "20000229T000000Z");
        assert_eq!(at(1_704_164_645), "20240102T030405Z");
        assert_eq!(at(4_107_542_399), "21000228T235959Z");
        assert_eq!(at(4_107_542_400), "21000301T000000Z");
        assert_eq!(at(253_402_300_799), "99991231T235959Z");
    }

    #[test]
    fn debug_never_shows_secrets() {
        assert_eq!(
            format!("{:?}", creds(Some("tok"))),
            "Credentials([redacted])"
        );
        let keys = SigningKeys::new();
        sign_request(&golden_request(), &creds(None), fixed_time(), &keys).unwrap();
        assert_eq!(format!("{keys:?}"), "SigningKeys(1 cached)");
    }

    const GOLDEN_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=3f2212a58552bf9b41282c4fd45fb64e36f2b875bb6a4523b6e1b3cb035a6b02";
}
