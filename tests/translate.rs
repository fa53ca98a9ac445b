//! OpenAI request → Converse request (golden files), and Converse answer →
//! OpenAI `chat.completion`.
//!
//! Goldens live in `tests/fixtures/NAME.openai.json` → `NAME.converse.json`
//! and are loaded with `include_str!`, so a missing file fails the build.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use bedrock_openai_filter::api::chat::completion::{to_chat_completion, ResponseContext};
use bedrock_openai_filter::api::chat::request::parse;
use bedrock_openai_filter::catalog::resolve::Models;
use bedrock_openai_filter::conversation::answer::Finish;
use bedrock_openai_filter::conversation::converse::to_converse;
use bedrock_openai_filter::error::bedrock::from_upstream;
use bedrock_openai_filter::error::ApiError;
use bedrock_openai_filter::secret::Redactor;
use serde_json::{json, Value};

/// `(name, openai json, converse json)` for one golden pair.
macro_rules! golden {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("fixtures/", $name, ".openai.json")),
            include_str!(concat!("fixtures/", $name, ".converse.json")),
        )
    };
}

/// parse → to_converse → serde_json bytes → Value.
fn translate(openai: &str) -> Result<Value, ApiError> {
    let req = parse(openai.as_bytes(), &Models::default())?;
    let converse = to_converse(req.conversation)?;
    let bytes = serde_json::to_vec(&converse).unwrap();
    Ok(serde_json::from_slice(&bytes).unwrap())
}

fn translate_err(openai: &Value) -> ApiError {
    match translate(&openai.to_string()) {
        Ok(v) => panic!("translated {openai} into {v}"),
        Err(e) => e,
    }
}

const CTX: ResponseContext<'static> = ResponseContext {
    id: "chatcmpl-req-1",
    model: "meta.llama3-8b-instruct-v1:0",
    created: 1_704_164_645,
    answer_tool: None,
};

/// A Converse answer with `content` blocks and `stop`.
fn converse_answer(content: Value, stop: &str) -> Vec<u8> {
    json!({
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop,
        "usage": {"inputTokens": 25, "outputTokens": 60, "totalTokens": 85},
        "metrics": {"latencyMs": 123}
    })
    .to_string()
    .into_bytes()
}

fn complete(body: &[u8]) -> Value {
    let (out, summary) = to_chat_completion(body, &CTX).unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        summary.finish_reason,
        v["choices"][0]["finish_reason"].as_str()
    );
    v
}

fn complete_err(body: &[u8]) -> ApiError {
    match to_chat_completion(body, &CTX) {
        Ok((out, _)) => panic!("translated into {}", String::from_utf8_lossy(&out)),
        Err(e) => e,
    }
}

// ---------------------------------------------------------------- requests

#[test]
fn request_goldens() {
    let cases = [
        golden!("seed"),
        golden!("system_developer"),
        golden!("fold_titan"),
        golden!("fold_mistral7b"),
        golden!("fold_mixtral"),
        golden!("merge"),
        golden!("blank_dropped"),
        golden!("content_parts"),
        golden!("inference_all"),
        golden!("max_completion_tokens"),
        golden!("temperature_two"),
        golden!("no_inference_config"),
    ];
    for (name, openai, converse) in cases {
        let expected: Value = serde_json::from_str(converse).unwrap();
        let got = translate(openai).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            got,
            expected,
            "{name}\n got: {}\nwant: {}",
            serde_json::to_string_pretty(&got).unwrap(),
            serde_json::to_string_pretty(&expected).unwrap()
        );
    }
}

#[test]
fn temperature_zero_is_sent_as_float_zero() {
    let got = translate(include_str!("fixtures/inference_all.openai.json")).unwrap();
    let t = &got["inferenceConfig"]["temperature"];
    assert!(t.is_f64(), "{t}");
    assert_eq!(t.as_f64(), Some(0.0));
}

#[test]
fn system_prompt_goes_where_the_model_takes_it() {
    let with_system = [
        "anthropic.claude-3-sonnet-20240229-v1:0",
        "anthropic.claude-3-haiku-20240307-v1:0",
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "meta.llama3-8b-instruct-v1:0",
        "meta.llama3-70b-instruct-v1:0",
        "mistral.mistral-large-2402-v1:0",
    ];
    let without_system = [
        "amazon.titan-text-express-v1",
        "mistral.mistral-7b-instruct-v0:2",
        "mistral.mixtral-8x7b-instruct-v0:1",
    ];
    let body = |model: &str| {
        json!({"model": model, "messages": [
            {"role": "system", "content": "SYS"},
            {"role": "user", "content": "Q"}
        ]})
        .to_string()
    };
    for m in with_system {
        let v = translate(&body(m)).unwrap();
        assert_eq!(v["system"], json!([{"text": "SYS"}]), "{m}");
        assert_eq!(
            v["messages"],
            json!([{"role": "user", "content": [{"text": "Q"}]}]),
            "{m}"
        );
    }
    for m in without_system {
        let v = translate(&body(m)).unwrap();
        assert!(v.get("system").is_none(), "{m}: {v}");
        assert_eq!(
            v["messages"],
            json!([{"role": "user", "content": [{"text": "SYS"}, {"text": "Q"}]}]),
            "{m}"
        );
    }
}

#[test]
fn converse_rules_hold_for_every_translation() {
    // Converse: first turn is user, roles alternate, no empty content, no blank text.
    let roles = ["system", "developer", "user", "assistant"];
    let texts = ["x", " ", "", "y\n"];
    let mut seed: u32 = 12345;
    let mut next = |n: usize| {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        ((seed >> 16) as usize) % n
    };
    for round in 0..500 {
        let len = 1 + next(6);
        let messages: Vec<Value> = (0..len)
            .map(|_| json!({"role": roles[next(4)], "content": texts[next(4)]}))
            .collect();
        let model = if round % 2 == 0 {
            "meta.llama3-8b-instruct-v1:0"
        } else {
            "amazon.titan-text-express-v1"
        };
        let body = json!({"model": model, "messages": messages});
        match translate(&body.to_string()) {
            Ok(v) => {
                let turns = v["messages"].as_array().unwrap();
                assert!(!turns.is_empty(), "{body}");
                assert_eq!(turns[0]["role"], "user", "{body} → {v}");
                for pair in turns.windows(2) {
                    assert_ne!(pair[0]["role"], pair[1]["role"], "{body} → {v}");
                }
                for t in turns {
                    let content = t["content"].as_array().unwrap();
                    assert!(!content.is_empty(), "{body} → {v}");
                    for b in content {
                        assert!(!b["text"].as_str().unwrap().trim().is_empty(), "{v}");
                    }
                }
                if let Some(sys) = v.get("system") {
                    for b in sys.as_array().unwrap() {
                        assert!(!b["text"].as_str().unwrap().trim().is_empty(), "{v}");
                    }
                }
            }
            Err(e) => {
                assert_eq!(e.status, 400, "{body}");
                assert_eq!(e.param.as_deref(), Some("messages"), "{body}");
            }
        }
    }
}

#[test]
fn conversations_with_no_user_content_are_refused() {
    let cases = [
        (
            "only system",
            json!([{"role": "system", "content": "You are helpful."}]),
        ),
        (
            "system and developer",
            json!([{"role": "system", "content": "a"}, {"role": "developer", "content": "b"}]),
        ),
        (
            "only assistant",
            json!([{"role": "assistant", "content": "Hi"}]),
        ),
        (
            "blank user",
            json!([{"role": "system", "content": "a"}, {"role": "user", "content": "  \n"}]),
        ),
        ("empty parts", json!([{"role": "user", "content": []}])),
    ];
    for model in [
        "meta.llama3-8b-instruct-v1:0",
        "amazon.titan-text-express-v1",
    ] {
        for (name, messages) in &cases {
            let e = translate_err(&json!({"model": model, "messages": messages}));
            assert_eq!(e.status, 400, "{name} {model}");
            assert_eq!(e.param.as_deref(), Some("messages"), "{name} {model}");
            let v: Value = serde_json::from_slice(&e.to_json()).unwrap();
            assert_eq!(v["error"]["type"], "invalid_request_error");
        }
    }
}

// ---------------------------------------------------------------- responses

#[test]
fn response_golden_shape() {
    let got = complete(&converse_answer(
        json!([{"text": "Hello there!"}]),
        "end_turn",
    ));
    assert_eq!(
        got,
        json!({
            "id": "chatcmpl-req-1",
            "object": "chat.completion",
            "created": 1_704_164_645,
            "model": "meta.llama3-8b-instruct-v1:0",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": "Hello there!", "refusal": null},
                "logprobs": null,
                "finish_reason": "stop"
            }],
            "system_fingerprint": null,
            "usage": {"prompt_tokens": 25, "completion_tokens": 60, "total_tokens": 85}
        })
    );
}

#[test]
fn text_blocks_are_concatenated_and_other_kinds_skipped() {
    let content = json!([
        {"text": "Hello"},
        {"reasoningContent": {"reasoningText": {"text": "secret thoughts"}}},
        {"text": ", "},
        {"toolUse": {"toolUseId": "t1", "name": "f", "input": {}}},
        {"image": {"format": "png", "source": {"bytes": "AAAA"}}},
        {"somethingNew": {"text": 1}},
        {"text": "world ✓"}
    ]);
    let got = complete(&converse_answer(content, "end_turn"));
    assert_eq!(got["choices"][0]["message"]["content"], "Hello, world ✓");
}

#[test]
fn no_text_blocks_give_empty_content() {
    for content in [
        json!([]),
        json!([{"toolUse": {"toolUseId": "t", "name": "f", "input": {}}}]),
    ] {
        let got = complete(&converse_answer(content, "end_turn"));
        let c = &got["choices"][0]["message"]["content"];
        assert!(c == "" || c.is_null(), "{c}");
    }
}

#[test]
fn finish_reasons() {
    let cases = [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("content_filtered", "content_filter"),
        ("guardrail_intervened", "content_filter"),
    ];
    for (bedrock, openai) in cases {
        assert_eq!(Finish::of(bedrock).name(), openai, "{bedrock}");
        let got = complete(&converse_answer(json!([{"text": "x"}]), bedrock));
        assert_eq!(got["choices"][0]["finish_reason"], openai, "{bedrock}");
    }
}

#[test]
fn usage_is_mapped_and_optional() {
    let body = json!({
        "output": {"message": {"role": "assistant", "content": [{"text": "x"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3,
                  "cacheReadInputTokens": 0}
    });
    let got = complete(body.to_string().as_bytes());
    // Bedrock reports caching: its cache reads are OpenAI's cached_tokens.
    assert_eq!(
        got["usage"],
        json!({"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3,
               "prompt_tokens_details": {"cached_tokens": 0}})
    );
    // inputTokens excludes cached tokens, totalTokens counts them: the
    // prompt is input + reads + writes, so prompt + completion = total.
    let body = json!({
        "output": {"message": {"role": "assistant", "content": [{"text": "x"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 2, "outputTokens": 5, "totalTokens": 1429,
                  "cacheReadInputTokens": 1322, "cacheWriteInputTokens": 100}
    });
    let got = complete(body.to_string().as_bytes());
    assert_eq!(
        got["usage"],
        json!({"prompt_tokens": 1424, "completion_tokens": 5, "total_tokens": 1429,
               "prompt_tokens_details": {"cached_tokens": 1322}})
    );
    let body = json!({
        "output": {"message": {"role": "assistant", "content": [{"text": "x"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3}
    });
    let got = complete(body.to_string().as_bytes());
    assert_eq!(
        got["usage"],
        json!({"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3})
    );
    let body = json!({
        "output": {"message": {"role": "assistant", "content": [{"text": "x"}]}},
        "stopReason": "end_turn"
    });
    let got = complete(body.to_string().as_bytes());
    assert!(got.get("usage").is_none_or(Value::is_null), "{got}");
    assert_eq!(got["choices"][0]["message"]["content"], "x");
}

#[test]
fn bad_upstream_bodies_are_502() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("not json", b"<html>oops</html>".to_vec()),
        ("empty", Vec::new()),
        ("json array", b"[]".to_vec()),
        (
            "missing output message",
            br#"{"output":{},"stopReason":"end_turn"}"#.to_vec(),
        ),
        (
            "null output message",
            br#"{"output":{"message":null},"stopReason":"end_turn"}"#.to_vec(),
        ),
        ("missing output", br#"{"stopReason":"end_turn"}"#.to_vec()),
        (
            "truncated",
            converse_answer(json!([{"text": "x"}]), "end_turn")[..20].to_vec(),
        ),
    ];
    for (name, body) in cases {
        let e = complete_err(&body);
        assert_eq!(e.status, 502, "{name}");
        let v: Value = serde_json::from_slice(&e.to_json()).unwrap();
        assert_eq!(v["error"]["type"], "api_error", "{name}");
    }
}

// ---------------------------------------------------------------- upstream errors

#[test]
fn upstream_error_names_win_over_status() {
    // Name from the header wins; the `:uri` suffix is stripped.
    let e = from_upstream(
        400,
        Some("ModelNotReadyException:http://internal.amazon.com/coral/com.amazon.bedrock/"),
        br#"{"message":"warming up"}"#,
        &Redactor::default(),
    );
    assert_eq!((e.status, e.kind), (400, "rate_limit_error"));
    assert_eq!(e.message, "Bedrock ModelNotReadyException: warming up");
}

#[test]
fn upstream_error_odd_inputs() {
    // `Message` (capital M), as some AWS front ends send it.
    let e = from_upstream(
        403,
        Some("UnrecognizedClientException"),
        br#"{"Message":"The security token included in the request is invalid."}"#,
        &Redactor::default(),
    );
    assert_eq!((e.status, e.kind), (403, "authentication_error"));
    assert!(e.message.contains("security token"), "{}", e.message);
    // Non-error statuses never leave as such.
    let e = from_upstream(200, None, b"", &Redactor::default());
    assert_eq!(e.status, 502);
    // Invalid UTF-8 does not panic.
    let e = from_upstream(500, None, &[0xff, 0xfe, b'x'], &Redactor::default());
    assert_eq!(e.status, 500);
    // Unknown name falls back to the status.
    let e = from_upstream(
        429,
        Some("SomethingNewException"),
        b"{}",
        &Redactor::default(),
    );
    assert_eq!(e.kind, "rate_limit_error");
    // Secrets are redacted from the message.
    let e = from_upstream(
        403,
        None,
        br#"{"message":"key AKIAEXAMPLEKEY123 is bad"}"#,
        &Redactor::new(["AKIAEXAMPLEKEY123"]),
    );
    assert!(!e.message.contains("AKIAEXAMPLEKEY123"), "{}", e.message);
}

#[test]
fn the_answer_says_which_service_tier_served() {
    let mut body: Value =
        serde_json::from_slice(&converse_answer(json!([{"text": "ok"}]), "end_turn")).unwrap();
    assert!(complete(&body.to_string().into_bytes())
        .get("service_tier")
        .is_none());
    body["serviceTier"] = json!({"type": "priority"});
    assert_eq!(
        complete(&body.to_string().into_bytes())["service_tier"],
        "priority"
    );
    body["serviceTier"] = json!({"type": "turbo"});
    assert!(complete(&body.to_string().into_bytes())
        .get("service_tier")
        .is_none());
}
