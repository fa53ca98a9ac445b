//! The passthrough to Bedrock's OpenAI-compatible endpoints, its request
//! side, driven through the exchange (host events in, effects out) and
//! through its plan: where each model goes, the body as forwarded, the
//! signature (checked against AWS's `aws-sigv4` for both signing names), and
//! the refusals made before anything leaves. tests/compat_answer.rs has the
//! answers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use bedrock_openai_filter::api::openai_compat::{self, CompatApi};
use bedrock_openai_filter::api::Planning;
use bedrock_openai_filter::aws::sigv4::SigningKeys;
use bedrock_openai_filter::caller::check_request;
use bedrock_openai_filter::catalog::resolve::{Found, Served};
use bedrock_openai_filter::config::Config;
use bedrock_openai_filter::error::ApiError;
use bedrock_openai_filter::exchange::Exchange;
use serde_json::{json, Value};
use std::rc::Rc;

mod compat_support;
use compat_support::*;

// ---------------------------------------------------------------- where each call goes

#[test]
fn a_runtime_profile_goes_to_runtime_signed_for_bedrock() {
    let mut ex = Exchange::new(config("", ""));
    let step = send(&mut ex, SIGV4, &chat("us.openai.gpt-5.6-sol"));
    assert_eq!(set(&step, ":path"), Some("/openai/v1/chat/completions"));
    assert_eq!(
        set(&step, ":authority"),
        Some("bedrock-runtime.us-east-1.amazonaws.com")
    );
    let auth = set(&step, "authorization").unwrap();
    assert!(auth.contains("/us-east-1/bedrock/aws4_request"), "{auth}");
    assert_eq!(auth, oracle(&step, "bedrock", "us-east-1"));
    let body = sent_body(&step);
    assert_eq!(body["model"], "us.openai.gpt-5.6-sol");
    assert_eq!(body["temperature"], 0.25);
    assert_eq!(body["messages"][0]["content"], "Hi");
    assert_eq!(set(&step, "accept"), Some("application/json"));
    assert_eq!(ex.record().model.as_deref(), Some("us.openai.gpt-5.6-sol"));
}

#[test]
fn a_mantle_id_goes_to_mantle_under_its_prefix_signed_for_bedrock_mantle() {
    for (model, path) in [
        ("openai.gpt-5.5", "/openai/v1/chat/completions"),
        ("openai.gpt-oss-120b", "/v1/chat/completions"),
        ("google.gemma-4-31b", "/openai/v1/chat/completions"),
        ("qwen.qwen3-32b", "/v1/chat/completions"),
    ] {
        let mut ex = Exchange::new(config("", ""));
        let step = send(&mut ex, SIGV4, &chat(model));
        assert_eq!(set(&step, ":path"), Some(path), "{model}");
        assert_eq!(
            set(&step, ":authority"),
            Some("bedrock-mantle.us-east-1.api.aws")
        );
        let auth = set(&step, "authorization").unwrap();
        assert!(
            auth.contains("/us-east-1/bedrock-mantle/aws4_request"),
            "{auth}"
        );
        assert_eq!(
            auth,
            oracle(&step, "bedrock-mantle", "us-east-1"),
            "{model}"
        );
        assert_eq!(sent_body(&step)["model"], model);
    }
}

#[test]
fn models_on_both_surfaces_keep_converse_unless_declared() {
    let mut ex = Exchange::new(config("", ""));
    let step = send(&mut ex, SIGV4, &chat("openai.gpt-oss-120b-1:0"));
    assert_eq!(
        set(&step, ":path"),
        Some("/model/openai.gpt-oss-120b-1%3A0/converse")
    );
    let declared = r#","models":[{"id":"oss","target":"openai.gpt-oss-120b-1:0","surface":"openai"},
        {"id":"openai.gpt-oss-120b-1:0","surface":"openai"}]"#;
    for id in ["oss", "openai.gpt-oss-120b-1:0"] {
        let mut ex = Exchange::new(config("", declared));
        let step = send(&mut ex, SIGV4, &chat(id));
        assert_eq!(
            set(&step, ":path"),
            Some("/openai/v1/chat/completions"),
            "{id}"
        );
        assert_eq!(
            set(&step, ":authority"),
            Some("bedrock-runtime.us-east-1.amazonaws.com")
        );
        assert_eq!(sent_body(&step)["model"], "openai.gpt-oss-120b-1:0");
        assert_eq!(ex.record().model.as_deref(), Some(id));
    }
}

#[test]
fn endpoint_overrides_and_other_credentials() {
    let cfg = config(
        "",
        r#","upstream":{"endpoint":"http://127.0.0.1:9099","mantle_endpoint":"http://127.0.0.1:9100"}"#,
    );
    let mut ex = Exchange::new(Rc::clone(&cfg));
    let step = send(&mut ex, SIGV4, &chat("openai.gpt-5.5"));
    assert_eq!(set(&step, ":authority"), Some("127.0.0.1:9100"));
    assert_eq!(
        set(&step, "authorization").unwrap(),
        oracle(&step, "bedrock-mantle", "us-east-1")
    );
    let mut ex = Exchange::new(Rc::clone(&cfg));
    let step = send(&mut ex, SIGV4, &chat("global.openai.gpt-5.6-terra"));
    assert_eq!(set(&step, ":authority"), Some("127.0.0.1:9099"));
    // A Bedrock API key is a bearer on both endpoints.
    let key = "ABSKQmVkcm9ja0FQSUtleS1leGFtcGxlLWF0LTEyMzQ1Njc4OTAxMjpzZWNyZXQ=";
    let mut ex = Exchange::new(Rc::clone(&cfg));
    let step = send(
        &mut ex,
        &[("aws-bearer-token-bedrock", key)],
        &chat("openai.gpt-5.5"),
    );
    assert_eq!(set(&step, "authorization"), Some(&*format!("Bearer {key}")));
    assert_eq!(set(&step, "x-amz-date"), None);
    // Envoy's signer: the mark selects the route whose signer signs for bedrock-mantle.
    let envoy = config(
        r#","policy":{"credentials":"envoy"}"#,
        r#","envoy_signer":{"region":"us-east-1"}"#,
    );
    for (model, mark) in [
        ("openai.gpt-5.5", "envoy-mantle"),
        ("us.openai.gpt-5.6-sol", "envoy"),
    ] {
        let mut ex = Exchange::new(Rc::clone(&envoy));
        let step = send(&mut ex, &[], &chat(model));
        assert_eq!(set(&step, "x-bedrock-openai-signer"), Some(mark));
        assert_eq!(set(&step, "authorization"), None);
    }
}

// ---------------------------------------------------------------- refusals before anything leaves

fn refused(policy: &str, extra: &str, body: &Value) -> (u16, Value) {
    let mut ex = Exchange::new(config(policy, extra));
    reply(&send(&mut ex, SIGV4, body))
}

#[test]
fn the_wrong_door_is_a_400_naming_model_and_what_serves_it() {
    let (status, e) = refused("", "", &chat("openai.gpt-daybreak-blue-5.6-sol"));
    assert_eq!((status, &e["error"]["param"]), (400, &json!("model")));
    assert_eq!(e["error"]["code"], "wrong_endpoint");
    let m = e["error"]["message"].as_str().unwrap();
    assert!(m.contains("POST /v1/amazon-bedrock/responses"), "{m}");
    for model in ["anthropic.claude-mythos-5", "us.anthropic.claude-mythos-5"] {
        let (status, e) = refused("", "", &chat(model));
        assert_eq!(
            (status, &e["error"]["code"]),
            (400, &json!("wrong_endpoint"))
        );
        let m = e["error"]["message"].as_str().unwrap();
        assert!(
            m.contains("Anthropic Messages API on bedrock-mantle"),
            "{m}"
        );
    }
    // A profile of a model bedrock-runtime does not serve is no model at all.
    let (status, e) = refused("", "", &chat("us.openai.gpt-5.5"));
    assert_eq!(
        (status, &e["error"]["code"]),
        (404, &json!("model_not_found"))
    );
}

#[test]
fn the_body_is_checked_for_shape_and_the_surfaces_rules() {
    let mut body = chat("openai.gpt-5.5");
    body["amazon-bedrock-guardrailConfig"] = json!({"tagSuffix": "x"});
    let (status, e) = refused("", "", &body);
    assert_eq!(
        (status, &e["error"]["param"]),
        (400, &json!("amazon-bedrock-guardrailConfig"))
    );
    let mut body = chat("openai.gpt-5.5");
    body["n"] = json!("two");
    assert_eq!(refused("", "", &body).1["error"]["param"], "n");
    // GPT-5.6 takes max_completion_tokens only on Chat Completions.
    let mut body = chat("us.openai.gpt-5.6-sol");
    body["max_tokens"] = json!(10);
    let (status, e) = refused("", "", &body);
    assert_eq!((status, &e["error"]["param"]), (400, &json!("max_tokens")));
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("max_completion_tokens"));
}

#[test]
fn the_projects_policy_applies() {
    let ceiling = r#","policy":{"max_tokens":{"ceiling":100,"default":50}}"#;
    let mut body = chat("openai.gpt-5.5");
    body["max_completion_tokens"] = json!(500);
    let (status, e) = refused(ceiling, "", &body);
    assert_eq!(
        (status, &e["error"]["param"]),
        (400, &json!("max_completion_tokens"))
    );
    // The default goes into the field the model takes.
    for (model, field) in [
        ("us.openai.gpt-5.6-sol", "max_completion_tokens"),
        ("google.gemma-4-31b", "max_tokens"),
    ] {
        let mut ex = Exchange::new(config(ceiling, ""));
        let sent = sent_body(&send(&mut ex, SIGV4, &chat(model)));
        assert_eq!(sent[field], 50, "{model}");
    }
    let (status, e) = refused(
        r#","policy":{"allowed_models":["openai.gpt-5.5"]}"#,
        "",
        &chat("openai.gpt-5.4"),
    );
    assert_eq!(
        (status, &e["error"]["code"]),
        (403, &json!("model_not_allowed"))
    );
    // A pinned tier is sent; another one asked is refused.
    let pin = r#","policy":{"service_tier":{"pin":"flex"}}"#;
    let mut ex = Exchange::new(config(pin, ""));
    let sent = sent_body(&send(&mut ex, SIGV4, &chat("openai.gpt-oss-120b")));
    assert_eq!(sent["service_tier"], "flex");
    let mut body = chat("openai.gpt-oss-120b");
    body["service_tier"] = json!("priority");
    assert_eq!(refused(pin, "", &body).1["error"]["param"], "service_tier");
    // A guardrail: headers on runtime Chat Completions, refused where Bedrock applies none.
    let guard = r#","policy":{"guardrail":{"identifier":"gr1","version":"2"}}"#;
    let mut ex = Exchange::new(config(guard, ""));
    let step = send(&mut ex, SIGV4, &chat("us.openai.gpt-5.6-sol"));
    assert_eq!(
        set(&step, "x-amzn-bedrock-guardrailidentifier"),
        Some("gr1")
    );
    assert_eq!(set(&step, "x-amzn-bedrock-guardrailversion"), Some("2"));
    let (status, e) = refused(guard, "", &chat("openai.gpt-5.5"));
    assert_eq!(
        (status, &e["error"]["code"]),
        (400, &json!("guardrail_unsupported"))
    );
}

#[test]
fn declarations_that_cannot_work_stop_the_configuration() {
    let json = |models: &str| {
        format!(
            r#"{{"version":1,"projects":[{{"name":"a","key_sha256":"{KEY_SHA256}"}}],"models":{models}}}"#
        )
    };
    for (models, why) in [
        (
            r#"[{"id":"arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc","base":"openai.gpt-oss-120b-1:0","surface":"openai"}]"#,
            "application inference profiles",
        ),
        (
            r#"[{"id":"c","target":"us.anthropic.claude-sonnet-4-6","surface":"openai"}]"#,
            "does not serve",
        ),
        (
            r#"[{"id":"g","target":"openai.gpt-5.5","surface":"converse"}]"#,
            "surface",
        ),
        (
            r#"[{"id":"m","target":"anthropic.claude-mythos-5"}]"#,
            "Messages",
        ),
        (
            r#"[{"id":"x","target":"openai.gpt-5.5","surface":"rest"}]"#,
            "surface",
        ),
    ] {
        let err = Config::from_json(json(models).as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains(why), "{models}: {err}");
    }
    // An alias of a model only the OpenAI-compatible surface serves needs no `surface`.
    Config::from_json(json(r#"[{"id":"gpt","target":"openai.gpt-5.5"}]"#).as_bytes()).unwrap();
}

// ---------------------------------------------------------------- the Responses API's core

fn plan_responses(model: &str, body: Value) -> Result<(Vec<(String, String)>, Value), ApiError> {
    let cfg = config(
        "",
        r#","models":[{"id":"oss-runtime","target":"openai.gpt-oss-120b-1:0","surface":"openai"}]"#,
    );
    let project = Rc::clone(&cfg.projects[0]);
    let h = headers("/v1/amazon-bedrock/responses", SIGV4);
    let caller = check_request(&cfg, &project, &h).unwrap();
    let keys = SigningKeys::new();
    let Found::Chat(Served::OpenAi(m)) = cfg.models.find(model.to_string()).unwrap() else {
        panic!("{model} is not on the OpenAI-compatible surface");
    };
    let Value::Object(fields) = body else {
        panic!()
    };
    let call = Planning {
        config: &cfg,
        caller: &caller,
        now: now(),
        signing_keys: &keys,
    };
    let planned = openai_compat::plan(CompatApi::Responses, m, fields, &call, &mut None)?;
    let headers = planned
        .headers
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    Ok((headers, serde_json::from_slice(&planned.body).unwrap()))
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> &'a str {
    h.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap()
}

#[test]
fn responses_go_where_the_model_serves_them() {
    let (h, body) =
        plan_responses("openai.gpt-5.5", json!({"input": "hi", "stream": true})).unwrap();
    assert_eq!(header(&h, ":path"), "/openai/v1/responses");
    assert_eq!(header(&h, ":authority"), "bedrock-mantle.us-east-1.api.aws");
    assert_eq!(header(&h, "accept"), "text/event-stream");
    assert_eq!(
        body,
        json!({"input": "hi", "stream": true, "model": "openai.gpt-5.5"})
    );
    let (h, _) = plan_responses("global.openai.gpt-5.6-sol", json!({"input": "hi"})).unwrap();
    assert_eq!(header(&h, ":path"), "/openai/v1/responses");
    assert!(header(&h, "authorization").contains("/bedrock/aws4_request"));
    let (h, _) = plan_responses("openai.gpt-oss-120b", json!({"input": "hi"})).unwrap();
    assert_eq!(header(&h, ":path"), "/v1/responses");
    // gpt-oss has no Responses on runtime: the message names mantle's id.
    let e = plan_responses("oss-runtime", json!({"input": "hi"})).unwrap_err();
    assert_eq!((e.status, &*e.code), (400, "wrong_endpoint"));
    assert!(
        e.message
            .contains("POST /v1/amazon-bedrock/chat/completions"),
        "{}",
        e.message
    );
    assert!(
        e.message
            .contains("`openai.gpt-oss-120b` on bedrock-mantle"),
        "{}",
        e.message
    );
    let e = plan_responses("qwen.qwen3-32b", json!({"input": "hi"})).unwrap_err();
    assert!(e.message.contains("Chat Completions"), "{}", e.message);
}

#[test]
fn responses_refuse_state_and_tools_the_endpoint_does_not_run() {
    for field in [
        json!({"previous_response_id": "resp_1"}),
        json!({"conversation": {"id": "conv_1"}}),
        json!({"background": true}),
    ] {
        let mut body = json!({"input": "hi"});
        body.as_object_mut()
            .unwrap()
            .extend(field.as_object().unwrap().clone());
        let e = plan_responses("openai.gpt-5.5", body).unwrap_err();
        assert_eq!(e.status, 400);
        assert!(e.message.contains("keeps no state"), "{}", e.message);
    }
    let tools = json!({"input": "hi", "tools": [{"type": "web_search"}]});
    let e = plan_responses("us.openai.gpt-5.6-sol", tools.clone()).unwrap_err();
    assert_eq!(e.param.as_deref(), Some("tools[0].type"));
    plan_responses("openai.gpt-5.6-sol", tools).unwrap();
    let e = plan_responses(
        "openai.gpt-5.5",
        json!({"input": "hi", "max_output_tokens": "x"}),
    )
    .unwrap_err();
    assert_eq!(e.param.as_deref(), Some("max_output_tokens"));
}
