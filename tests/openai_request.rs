//! Validation of the OpenAI chat-completions request body (`openai::request::parse`).
//!
//! Every refusal must be a 4xx in OpenAI's error shape with `param` naming the
//! field in OpenAI's own form (`messages.[1].role`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use bedrock_openai_filter::api::chat::request::{parse, ChatRequest};
use bedrock_openai_filter::catalog::resolve::Models;
use bedrock_openai_filter::conversation::message::Role;
use bedrock_openai_filter::conversation::parts::Part;
use bedrock_openai_filter::error::ApiError;
use serde_json::{json, Value};

const MODEL: &str = "meta.llama3-8b-instruct-v1:0";

/// A request that passes validation.
fn base() -> Value {
    json!({"model": MODEL, "messages": [{"role": "user", "content": "Hello!"}]})
}

/// `base()` with `key` set to `value`.
fn with(key: &str, value: Value) -> String {
    let mut v = base();
    v[key] = value;
    v.to_string()
}

/// `base()` without `key`.
fn without(key: &str) -> String {
    let mut v = base();
    v.as_object_mut().unwrap().remove(key);
    v.to_string()
}

/// `base()` with `messages` replaced.
fn msgs(messages: Value) -> String {
    with("messages", messages)
}

fn ok(body: &str) -> ChatRequest {
    match parse(body.as_bytes(), &Models::default()) {
        Ok(r) => r,
        Err(e) => panic!("refused {body}: {e}"),
    }
}

fn err(body: &[u8]) -> ApiError {
    match parse(body, &Models::default()) {
        Ok(r) => panic!("accepted {}: {r:?}", String::from_utf8_lossy(body)),
        Err(e) => e,
    }
}

/// Checks the refusal's status, param and OpenAI JSON shape.
fn assert_refused(name: &str, body: &[u8], status: u16, param: &str) {
    let e = err(body);
    assert_eq!(e.status, status, "{name}: status ({e})");
    assert_eq!(e.param.as_deref(), Some(param), "{name}: param ({e})");
    let v: Value = serde_json::from_slice(&e.to_json()).unwrap();
    let obj = v.as_object().unwrap();
    assert_eq!(obj.len(), 1, "{name}: only `error` at top level: {v}");
    let inner = v["error"].as_object().unwrap();
    assert_eq!(inner["param"], json!(param), "{name}: {v}");
    assert!(inner["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(inner["type"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(inner["code"].is_string() || inner["code"].is_null());
    assert!((400..500).contains(&e.status), "{name}: not 4xx");
}

#[test]
fn refusals_name_their_param() {
    let cases: Vec<(&str, String, u16, &str)> = vec![
        // body
        ("not json", "{nope".into(), 400, "body"),
        ("empty body", String::new(), 400, "body"),
        ("json array", "[]".into(), 400, "body"),
        ("json string", r#""hi""#.into(), 400, "body"),
        ("json number", "42".into(), 400, "body"),
        ("json null", "null".into(), 400, "body"),
        // model
        ("model missing", without("model"), 400, "model"),
        ("model null", with("model", Value::Null), 400, "model"),
        ("model number", with("model", json!(3)), 400, "model"),
        ("model array", with("model", json!([MODEL])), 400, "model"),
        (
            "model unknown",
            with("model", json!("gpt-4o")),
            404,
            "model",
        ),
        (
            "model case differs",
            with("model", json!("META.llama3-8b-instruct-v1:0")),
            404,
            "model",
        ),
        (
            "model without version",
            with("model", json!("meta.llama3-8b-instruct-v1")),
            404,
            "model",
        ),
        // messages
        ("messages missing", without("messages"), 400, "messages"),
        ("messages null", msgs(Value::Null), 400, "messages"),
        ("messages string", msgs(json!("hi")), 400, "messages"),
        (
            "messages object",
            msgs(json!({"role": "user"})),
            400,
            "messages",
        ),
        ("messages empty", msgs(json!([])), 400, "messages"),
        ("message string", msgs(json!(["hi"])), 400, "messages.[0]"),
        (
            "second message not object",
            msgs(json!([{"role": "user", "content": "a"}, 7])),
            400,
            "messages.[1]",
        ),
        (
            "unknown role",
            msgs(json!([{"role": "user", "content": "a"}, {"role": "robot", "content": "b"}])),
            400,
            "messages.[1].role",
        ),
        (
            "role number",
            msgs(json!([{"role": 1, "content": "a"}])),
            400,
            "messages.[0].role",
        ),
        (
            "role missing",
            msgs(json!([{"content": "a"}])),
            400,
            "messages.[0].role",
        ),
        (
            "role upper case",
            msgs(json!([{"role": "USER", "content": "a"}])),
            400,
            "messages.[0].role",
        ),
        (
            "content number",
            msgs(json!([{"role": "user", "content": 5}])),
            400,
            "messages.[0].content",
        ),
        (
            "content object",
            msgs(json!([{"role": "user", "content": {"text": "a"}}])),
            400,
            "messages.[0].content",
        ),
        (
            "content bool",
            msgs(json!([{"role": "user", "content": true}])),
            400,
            "messages.[0].content",
        ),
        (
            "user content missing",
            msgs(json!([{"role": "user"}])),
            400,
            "messages.[0].content",
        ),
        (
            "user content null",
            msgs(json!([{"role": "user", "content": null}])),
            400,
            "messages.[0].content",
        ),
        (
            "part not object",
            msgs(json!([{"role": "user", "content": ["a"]}])),
            400,
            "messages.[0].content.[0]",
        ),
        (
            "part without text",
            msgs(
                json!([{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text"}]}]),
            ),
            400,
            "messages.[0].content.[1].text",
        ),
        (
            "part text number",
            msgs(json!([{"role": "user", "content": [{"type": "text", "text": 1}]}])),
            400,
            "messages.[0].content.[0].text",
        ),
        (
            "part unknown type",
            msgs(json!([{"role": "user", "content": [{"type": "audio", "text": "a"}]}])),
            400,
            "messages.[0].content.[0].type",
        ),
        (
            "part type missing",
            msgs(json!([{"role": "user", "content": [{"text": "a"}]}])),
            400,
            "messages.[0].content.[0].type",
        ),
        // temperature
        (
            "temperature negative",
            with("temperature", json!(-0.1)),
            400,
            "temperature",
        ),
        (
            "temperature above 2",
            with("temperature", json!(2.01)),
            400,
            "temperature",
        ),
        (
            "temperature string",
            with("temperature", json!("1")),
            400,
            "temperature",
        ),
        // top_p
        ("top_p negative", with("top_p", json!(-0.01)), 400, "top_p"),
        ("top_p above 1", with("top_p", json!(1.5)), 400, "top_p"),
        ("top_p string", with("top_p", json!("0.5")), 400, "top_p"),
        // max_tokens
        (
            "max_tokens zero",
            with("max_tokens", json!(0)),
            400,
            "max_tokens",
        ),
        (
            "max_tokens negative",
            with("max_tokens", json!(-5)),
            400,
            "max_tokens",
        ),
        (
            "max_tokens float",
            with("max_tokens", json!(10.5)),
            400,
            "max_tokens",
        ),
        (
            "max_tokens string",
            with("max_tokens", json!("10")),
            400,
            "max_tokens",
        ),
        (
            "max_completion_tokens zero",
            with("max_completion_tokens", json!(0)),
            400,
            "max_completion_tokens",
        ),
        // stop
        ("stop number", with("stop", json!(5)), 400, "stop"),
        ("stop object", with("stop", json!({"a": 1})), 400, "stop"),
        (
            "stop list with number",
            with("stop", json!(["a", 1])),
            400,
            "stop",
        ),
        (
            "stop five items",
            with("stop", json!(["a", "b", "c", "d", "e"])),
            400,
            "stop",
        ),
        // n
        ("n two", with("n", json!(2)), 400, "n"),
        ("n zero", with("n", json!(0)), 400, "n"),
        ("n string", with("n", json!("1")), 400, "n"),
        // timeout
        ("timeout zero", with("timeout", json!(0)), 400, "timeout"),
        (
            "timeout negative",
            with("timeout", json!(-1)),
            400,
            "timeout",
        ),
        (
            "timeout string",
            with("timeout", json!("30")),
            400,
            "timeout",
        ),
        // stream / stream_options
        (
            "stream string",
            with("stream", json!("true")),
            400,
            "stream",
        ),
        ("stream number", with("stream", json!(1)), 400, "stream"),
        (
            "stream_options string",
            with("stream_options", json!("yes")),
            400,
            "stream_options",
        ),
        (
            "stream_options list",
            with("stream_options", json!([true])),
            400,
            "stream_options",
        ),
        (
            "include_usage string",
            with("stream_options", json!({"include_usage": "true"})),
            400,
            "stream_options.include_usage",
        ),
    ];
    for (name, body, status, param) in cases {
        assert_refused(name, body.as_bytes(), status, param);
    }
}

#[test]
fn unknown_model_is_model_not_found() {
    let e = err(with("model", json!("gpt-4o")).as_bytes());
    let v: Value = serde_json::from_slice(&e.to_json()).unwrap();
    assert_eq!(v["error"]["code"], "model_not_found");
    assert_eq!(v["error"]["param"], "model");
    assert_eq!(e.status, 404);
}

#[test]
fn echoed_caller_text_is_clipped() {
    let long = "x".repeat(10_000);
    let e = err(with("model", json!(long)).as_bytes());
    assert!(e.message.len() < 500, "{}", e.message.len());
    let e = err(msgs(json!([{"role": long, "content": "a"}])).as_bytes());
    assert!(e.message.len() < 500, "{}", e.message.len());
}

#[test]
fn deeply_nested_json_is_a_400_not_a_crash() {
    let depth = 10_000;
    let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let objects = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
    let in_messages = format!(
        r#"{{"model":"{MODEL}","messages":[{{"role":"user","content":{}}}]}}"#,
        arrays
    );
    let in_ignored = format!(
        r#"{{"model":"{MODEL}","messages":[{{"role":"user","content":"a"}}],"user":{}}}"#,
        objects
    );
    for (name, body) in [
        ("arrays", &arrays),
        ("objects", &objects),
        ("in messages", &in_messages),
        ("in ignored field", &in_ignored),
    ] {
        let e = err(body.as_bytes());
        assert_eq!(e.status, 400, "{name}");
        assert!(e.param.is_some(), "{name}");
    }
}

#[test]
fn boundaries_are_accepted() {
    for t in [json!(0), json!(0.0), json!(2), json!(2.0), json!(1.3)] {
        let r = ok(&with("temperature", t.clone()));
        assert_eq!(r.conversation.sampling.temperature, t.as_f64(), "{t}");
    }
    for p in [json!(0), json!(1), json!(0.9)] {
        let r = ok(&with("top_p", p.clone()));
        assert_eq!(r.conversation.sampling.top_p, p.as_f64(), "{p}");
    }
    assert_eq!(
        ok(&with("max_tokens", json!(1)))
            .conversation
            .sampling
            .max_tokens,
        Some(1)
    );
    assert_eq!(ok(&with("n", json!(1))).conversation.model.id, MODEL.into());
    assert_eq!(ok(&with("timeout", json!(30))).timeout_seconds, Some(30));
    let four = ok(&with("stop", json!(["a", "b", "c", "d"])));
    assert_eq!(four.conversation.sampling.stop, ["a", "b", "c", "d"]);
    assert_eq!(
        ok(&with("stop", json!("END"))).conversation.sampling.stop,
        ["END"]
    );
}

#[test]
fn nulls_mean_defaults() {
    let mut v = base();
    for k in [
        "temperature",
        "top_p",
        "max_tokens",
        "stop",
        "n",
        "timeout",
        "stream",
        "stream_options",
        "tools",
        "tool_choice",
    ] {
        v[k] = Value::Null;
    }
    let r = ok(&v.to_string());
    assert!(!r.stream && !r.include_usage);
    assert_eq!(r.timeout_seconds, None);
    assert_eq!(r.conversation.sampling, Default::default());
}

#[test]
fn ignored_fields_are_accepted() {
    let cases = [
        ("user", json!("alice")),
        ("seed", json!(42)),
        ("presence_penalty", json!(0.5)),
        ("frequency_penalty", json!(-0.5)),
        ("logit_bias", json!({"50256": -100})),
    ];
    let mut all = base();
    for (k, v) in cases {
        let r = ok(&with(k, v.clone()));
        assert_eq!(r.conversation.messages.len(), 1, "{k}");
        all[k] = v;
    }
    let r = ok(&all.to_string());
    assert_eq!(r.conversation.sampling, Default::default());
}

#[test]
fn parses_fields() {
    let body = json!({
        "model": "anthropic.claude-3-haiku-20240307-v1:0",
        "messages": [
            {"role": "system", "content": "S"},
            {"role": "developer", "content": "D"},
            {"role": "user", "content": [{"type": "text", "text": "U1"}, {"type": "text", "text": "U2"}]},
            {"role": "assistant", "content": null},
            {"role": "assistant"},
        ],
        "stream": true,
        "stream_options": {"include_usage": true},
        "timeout": 12,
        "temperature": 0.5,
        "top_p": 0.25,
        "max_completion_tokens": 99,
        "stop": ["x"],
    });
    let r = ok(&body.to_string());
    assert_eq!(
        &*r.conversation.model.id,
        "anthropic.claude-3-haiku-20240307-v1:0"
    );
    let roles: Vec<Role> = r.conversation.messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [
            Role::System,
            Role::System,
            Role::User,
            Role::Assistant,
            Role::Assistant
        ]
    );
    assert_eq!(
        r.conversation.messages[2].parts,
        [Part::Text("U1".into()), Part::Text("U2".into())]
    );
    assert!(r.conversation.messages[3].parts.is_empty());
    assert!(r.stream && r.include_usage);
    assert_eq!(r.timeout_seconds, Some(12));
    assert_eq!(r.conversation.sampling.temperature, Some(0.5));
    assert_eq!(r.conversation.sampling.top_p, Some(0.25));
    assert_eq!(r.conversation.sampling.max_tokens, Some(99));
    assert_eq!(r.conversation.sampling.stop, ["x"]);
}

#[test]
fn max_tokens_wins_over_max_completion_tokens() {
    let mut v = base();
    v["max_tokens"] = json!(7);
    v["max_completion_tokens"] = json!(9);
    assert_eq!(ok(&v.to_string()).conversation.sampling.max_tokens, Some(7));
}

#[test]
fn max_completion_tokens_is_validated_even_next_to_max_tokens() {
    // A malformed field is a 400 even when another field makes it redundant.
    for bad in [json!(0), json!(-1), json!(1.5), json!("10")] {
        let mut v = base();
        v["max_tokens"] = json!(5);
        v["max_completion_tokens"] = bad.clone();
        assert_refused(
            &format!("max_completion_tokens {bad} with max_tokens"),
            v.to_string().as_bytes(),
            400,
            "max_completion_tokens",
        );
    }
}

#[test]
fn documented_ignored_fields_are_accepted() {
    use bedrock_openai_filter::api::chat::request::IGNORED_FIELDS;
    for k in IGNORED_FIELDS {
        let r = ok(&with(k, json!({"any": ["thing", 1]})));
        assert_eq!(r.conversation.messages.len(), 1, "{k}");
    }
}

#[test]
fn every_supported_model_parses() {
    for id in [
        "amazon.titan-text-express-v1",
        "anthropic.claude-3-sonnet-20240229-v1:0",
        "anthropic.claude-3-haiku-20240307-v1:0",
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "meta.llama3-8b-instruct-v1:0",
        "meta.llama3-70b-instruct-v1:0",
        "mistral.mistral-7b-instruct-v0:2",
        "mistral.mixtral-8x7b-instruct-v0:1",
        "mistral.mistral-large-2402-v1:0",
    ] {
        assert_eq!(&*ok(&with("model", json!(id))).conversation.model.id, id);
    }
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A small deterministic xorshift, so the test needs no extra crate.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let seed = base().to_string().into_bytes();
    for _ in 0..2000 {
        let mut body = seed.clone();
        for _ in 0..4 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let at = (x as usize) % body.len();
            body[at] = (x >> 32) as u8;
        }
        let _ = parse(&body, &Models::default());
    }
}
