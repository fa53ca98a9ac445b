//! Shared pieces of the fuzz targets: a byte reader for the input layouts,
//! chunking, fixed fixtures, and the invariant checks on what comes out.
//!
//! A check that fails panics with a message naming the broken invariant, so
//! libFuzzer records the input as a crash (an artifact under `fuzz/artifacts/`).

use bedrock_openai_filter::config::Config;
use bedrock_openai_filter::exchange::{Effect, Step, Verdict};
use serde_json::Value;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Reads the fixed-layout prefix of a fuzz input; past the end it yields zeros.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Input<'a> {
        Input { data }
    }

    /// The next byte, or 0 once the input is used up.
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    /// Up to `n` next bytes.
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }

    /// A length-prefixed string (one length byte), lossily decoded.
    pub fn string(&mut self) -> String {
        let n = usize::from(self.byte());
        String::from_utf8_lossy(self.take(n)).into_owned()
    }

    /// Everything not read yet.
    pub fn rest(self) -> &'a [u8] {
        self.data
    }
}

/// Splits `data` by the chunk sizes in `plan` (cycled; 0 means an empty
/// piece). An empty plan gives the whole input as one piece.
pub fn chunks<'a>(data: &'a [u8], plan: &[u8]) -> Vec<&'a [u8]> {
    if plan.is_empty() {
        return vec![data];
    }
    let mut out = Vec::new();
    if data.is_empty() {
        out.push(data);
    }
    let mut rest = data;
    let mut i = 0;
    // Bounded: every full cycle of the plan consumes at least one byte, or we stop.
    let mut empty_run = 0;
    while !rest.is_empty() {
        let n = usize::from(plan[i % plan.len()]).min(rest.len());
        i += 1;
        let (head, tail) = rest.split_at(n);
        out.push(head);
        rest = tail;
        if n == 0 {
            empty_run += 1;
            if empty_run >= plan.len() {
                out.push(rest);
                break;
            }
        } else {
            empty_run = 0;
        }
    }
    out
}

/// The project key of the fixture config.
pub const KEY: &str = "test-project-key";
/// `printf %s test-project-key | sha256sum`.
pub const KEY_SHA256: &str = "d749661188e7505ba96c87f623991d468dbbb04222ad81bcc7f5f5c110fb598e";
/// Fixture credentials: none of them may ever reach a client.
pub const AKID: &str = "AKIDEXAMPLE";
/// Fixture secret key.
pub const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// Fixture session token.
pub const TOKEN: &str = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN";
/// The path the filter serves.
pub const PATH: &str = "/v1/amazon-bedrock/chat/completions";

/// A config with one project for [`KEY`]; `max_request_bytes` when given.
pub fn config(max_request_bytes: Option<usize>) -> Rc<Config> {
    let limits = match max_request_bytes {
        Some(n) => format!(r#","limits":{{"max_request_bytes":{n}}}"#),
        None => String::new(),
    };
    let json = format!(
        r#"{{"version":1,"projects":[{{"name":"team-a","key_sha256":"{KEY_SHA256}"}}]{limits}}}"#
    );
    match Config::from_json(json.as_bytes()) {
        Ok(c) => Rc::new(c),
        Err(e) => panic!("fixture config refused: {e}"),
    }
}

/// 2024-01-02T03:04:05Z.
pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_704_164_645)
}

/// What a well-behaved client sends.
pub fn good_headers() -> Vec<(String, String)> {
    [
        (":method", "POST"),
        (":path", PATH),
        (":authority", "gateway.local:10000"),
        (":scheme", "http"),
        ("content-type", "application/json"),
        ("project-api-key", KEY),
        ("aws-access-key-id", AKID),
        ("aws-secret-access-key", SECRET),
        ("aws-session-token", TOKEN),
        ("aws-region-name", "us-east-1"),
        ("x-request-id", "req-1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Checks an OpenAI error body and returns its message.
pub fn check_error_json(body: &[u8]) -> String {
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => panic!(
            "error body is not JSON ({e}): {:?}",
            String::from_utf8_lossy(body)
        ),
    };
    let err = &v["error"];
    assert!(err.is_object(), "error body without an `error` object: {v}");
    assert!(err["type"].is_string(), "error without `type`: {v}");
    assert!(err["code"].is_string(), "error without `code`: {v}");
    match err["message"].as_str() {
        Some(m) => m.to_string(),
        None => panic!("error without `message`: {v}"),
    }
}

/// The credentials a caller sends; the project key never goes upstream.
pub const CALLER_SECRETS: [&str; 4] = [KEY, AKID, SECRET, TOKEN];
/// The credentials the filter signs with, so Bedrock may quote them back.
pub const AWS_SECRETS: [&str; 3] = [AKID, SECRET, TOKEN];

/// Fails if `text` holds one of `secrets`.
pub fn check_no_secret(text: &str, secrets: &[&str], what: &str) {
    for s in secrets {
        assert!(
            !text.contains(s),
            "{what} leaks the credential {s:?}: {text:?}"
        );
    }
}

/// A header value that Envoy would accept and that cannot smuggle a header.
pub fn check_header(name: &str, value: &str) {
    assert!(!name.is_empty(), "empty header name");
    assert!(
        !name
            .bytes()
            .chain(value.bytes())
            .any(|b| b == b'\r' || b == b'\n' || b == 0),
        "header {name:?} carries CR, LF or NUL: {value:?}"
    );
}

/// Checks the shape every [`Step`] must have, and that a local reply holds
/// none of `secrets`; returns the local reply, if any.
pub fn check_step(step: &Step, secrets: &[&str]) -> Option<(u16, String)> {
    let mut reply = None;
    for e in &step.effects {
        match e {
            Effect::RewriteRequestHeaders { set } => {
                for (n, v) in set {
                    check_header(n, v);
                }
            }
            Effect::SetResponseHeader(n, v) => check_header(n, v),
            Effect::RemoveResponseHeader(n) => check_header(n, ""),
            Effect::LocalReply {
                status,
                headers,
                body,
            } => {
                assert!(
                    (400..600).contains(status),
                    "local reply with status {status}"
                );
                assert_eq!(step.verdict, Verdict::Pause, "local reply without Pause");
                for (n, v) in headers {
                    check_header(n, v);
                }
                let message = check_error_json(body);
                check_no_secret(&message, secrets, "local reply");
                reply = Some((*status, message));
            }
            Effect::Dispatch { calls } => {
                for c in calls {
                    for (n, v) in &c.headers {
                        check_header(n, v);
                    }
                    let length = c.headers.iter().find(|(n, _)| n == "content-length");
                    assert_eq!(
                        length.map(|(_, v)| v.as_str()),
                        Some(c.body.len().to_string().as_str()),
                        "a call's content-length does not match its body"
                    );
                }
            }
            Effect::ReplaceRequestBody(_) | Effect::ReplaceResponseBody(_) => {}
        }
    }
    if reply.is_some() {
        assert_eq!(
            step.effects.len(),
            1,
            "local reply mixed with other effects"
        );
    }
    reply
}

/// One SSE event of an answer.
#[derive(Debug, PartialEq)]
pub enum Event {
    /// `data: {...}` with a chunk.
    Chunk(Value),
    /// `data: {"error": ...}`.
    Error(Value),
    /// `data: [DONE]`.
    Done,
}

/// Splits SSE bytes into events, checking the framing of each
/// (`data: <one line>\n\n`, the line being JSON or `[DONE]`).
pub fn parse_sse(out: &[u8]) -> Vec<Event> {
    let mut events = Vec::new();
    let mut rest = out;
    while !rest.is_empty() {
        let Some(end) = rest.windows(2).position(|w| w == b"\n\n") else {
            panic!(
                "SSE output ends inside an event: {:?}",
                String::from_utf8_lossy(rest)
            );
        };
        let (event, tail) = rest.split_at(end);
        rest = &tail[2..];
        let Some(data) = event.strip_prefix(b"data: ") else {
            panic!(
                "SSE event without `data: `: {:?}",
                String::from_utf8_lossy(event)
            );
        };
        assert!(
            !data.iter().any(|b| *b == b'\n' || *b == b'\r'),
            "SSE data with a line break: {:?}",
            String::from_utf8_lossy(data)
        );
        if data == b"[DONE]" {
            events.push(Event::Done);
            continue;
        }
        let v: Value = match serde_json::from_slice(data) {
            Ok(v) => v,
            Err(e) => panic!(
                "SSE data is not JSON ({e}): {:?}",
                String::from_utf8_lossy(data)
            ),
        };
        if v.get("error").is_some_and(Value::is_object) {
            events.push(Event::Error(v));
        } else {
            events.push(Event::Chunk(v));
        }
    }
    events
}

/// A whole streamed answer: framing, `[DONE]` exactly once and last, at most
/// one error and only right before `[DONE]`, every chunk a
/// `chat.completion.chunk` of answer `id`, the role sent once and first.
pub fn check_stream(out: &[u8], id: &str) -> Vec<Event> {
    let events = parse_sse(out);
    let dones = events.iter().filter(|e| **e == Event::Done).count();
    assert_eq!(dones, 1, "[DONE] appears {dones} times");
    assert_eq!(events.last(), Some(&Event::Done), "[DONE] is not last");
    let errors: Vec<usize> = (0..events.len())
        .filter(|i| matches!(events[*i], Event::Error(_)))
        .collect();
    assert!(errors.len() <= 1, "{} error events", errors.len());
    if let Some(i) = errors.first() {
        if let Event::Error(v) = &events[*i] {
            check_error_json(v.to_string().as_bytes());
        }
        assert_eq!(
            *i + 2,
            events.len(),
            "error event is not right before [DONE]"
        );
    }
    let mut roles = 0;
    for (i, e) in events.iter().enumerate() {
        if let Event::Chunk(v) = e {
            assert_eq!(v["object"], "chat.completion.chunk", "chunk object: {v}");
            assert_eq!(v["id"], id, "chunk id: {v}");
            if v["choices"][0]["delta"].get("role").is_some() {
                roles += 1;
                assert_eq!(i, 0, "role sent after the first chunk: {v}");
            }
        }
    }
    assert!(roles <= 1, "role sent {roles} times");
    events
}

/// The answer id the stream targets use.
pub const STREAM_ID: &str = "chatcmpl-fuzz";

/// Feeds `pieces` to a fresh translator and finishes it; checks that nothing
/// comes out after the end.
pub fn translate_pieces(pieces: &[&[u8]], cap: usize, include_usage: bool) -> Vec<u8> {
    use bedrock_openai_filter::api::chat::chunks::StreamContext;
    use bedrock_openai_filter::api::chat::stream::StreamTranslator;
    let mut tr = StreamTranslator::new(
        StreamContext {
            id: STREAM_ID.to_string(),
            model: "anthropic.claude-3-haiku-20240307-v1:0".into(),
            created: 1_700_000_000,
            include_usage,
            answer_tool: None,
        },
        cap,
    );
    let mut out = Vec::new();
    for piece in pieces {
        out.extend(tr.feed(piece));
    }
    out.extend(tr.finish());
    assert!(tr.finish().is_empty(), "finish twice emits more");
    assert!(tr.feed(b"late").is_empty(), "feed after finish emits more");
    out
}

/// Translates `bytes` whole, split by `plan`, and (when short) byte by byte;
/// all must give the same SSE, which must be a well-formed closed answer.
pub fn check_chunking(bytes: &[u8], plan: &[u8], cap: usize, include_usage: bool) -> Vec<Event> {
    let whole: [&[u8]; 1] = [bytes];
    let sse = translate_pieces(&whole, cap, include_usage);
    let events = check_stream(&sse, STREAM_ID);
    let split = chunks(bytes, plan);
    let singles: Vec<&[u8]> = bytes.chunks(1).collect();
    let mut ways = vec![split];
    if bytes.len() <= 2048 {
        ways.push(singles);
    }
    for way in ways {
        let other = translate_pieces(&way, cap, include_usage);
        assert!(
            other == sse,
            "SSE depends on the chunking ({} pieces):\nwhole: {:?}\nsplit: {:?}",
            way.len(),
            String::from_utf8_lossy(&sse),
            String::from_utf8_lossy(&other)
        );
    }
    events
}
