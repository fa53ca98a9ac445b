//! The passthrough to Bedrock's OpenAI-compatible endpoints, driven through
//! the exchange (host events in, effects out) and through its plan: where
//! each model goes, the body as forwarded, the signature (checked against
//! AWS's `aws-sigv4` for both signing names), refusals made before anything
//! leaves, and the answer forwarded with `model` put back and usage read.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use bedrock_openai_filter::api::openai_compat::{self, Call, CompatApi};
use bedrock_openai_filter::aws::sigv4::SigningKeys;
use bedrock_openai_filter::caller::check_request;
use bedrock_openai_filter::catalog::resolve::Served;
use bedrock_openai_filter::config::Config;
use bedrock_openai_filter::error::ApiError;
use bedrock_openai_filter::exchange::{Effect, Exchange, Step};
use bedrock_openai_filter::policy::rate_limit::RateLimiter;
use serde_json::{json, Value};
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const KEY: &str = "test-project-key";
const KEY_SHA256: &str = "d749661188e7505ba96c87f623991d468dbbb04222ad81bcc7f5f5c110fb598e";
const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const CHAT: &str = "/v1/amazon-bedrock/chat/completions";
/// 2024-01-02T03:04:05Z.
const NOW_SECS: u64 = 1_704_164_645;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

/// A config with one project (`policy` as its policy) and `extra` top-level fields.
fn config(policy: &str, extra: &str) -> Rc<Config> {
    let json = format!(
        r#"{{"version":1,"projects":[{{"name":"team-a","key_sha256":"{KEY_SHA256}"{policy}}}]{extra}}}"#
    );
    Rc::new(Config::from_json(json.as_bytes()).unwrap())
}

fn headers(path: &str, auth: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut h: Vec<(String, String)> = [
        (":method", "POST"),
        (":path", path),
        (":authority", "gateway.local"),
        ("content-type", "application/json"),
        ("Project-Api-Key", KEY),
        ("aws-region-name", "us-east-1"),
    ]
    .iter()
    .chain(auth)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    h.push(("x-request-id".into(), "rid-1".into()));
    h
}

const SIGV4: &[(&str, &str)] = &[
    ("aws-access-key-id", AKID),
    ("aws-secret-access-key", SECRET),
];

/// The request phase of one exchange; its last step (the planned call, or the error).
fn send<L: RateLimiter>(ex: &mut Exchange<L>, auth: &[(&str, &str)], body: &Value) -> Step {
    let h = headers(CHAT, auth);
    let first = ex.on_request_headers(&h, false);
    assert!(
        !first
            .effects
            .iter()
            .any(|e| matches!(e, Effect::LocalReply { .. })),
        "{first:?}"
    );
    let bytes = serde_json::to_vec(body).unwrap();
    ex.on_request_body(&bytes, now())
}

fn set<'a>(step: &'a Step, name: &str) -> Option<&'a str> {
    step.effects.iter().find_map(|e| match e {
        Effect::RewriteRequestHeaders { set } => set
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str()),
        _ => None,
    })
}

fn sent_body(step: &Step) -> Value {
    step.effects
        .iter()
        .find_map(|e| match e {
            Effect::ReplaceRequestBody(b) => Some(serde_json::from_slice(b).unwrap()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no body in {step:?}"))
}

fn reply(step: &Step) -> (u16, Value) {
    match &step.effects[..] {
        [Effect::LocalReply { status, body, .. }] => {
            (*status, serde_json::from_slice(body).unwrap())
        }
        other => panic!("expected a local reply, got {other:?}"),
    }
}

/// The authorization AWS's own signer gives the call `step` planned.
fn oracle(step: &Step, service: &str, region: &str) -> String {
    let authority = set(step, ":authority").unwrap();
    let path = set(step, ":path").unwrap();
    let body = step
        .effects
        .iter()
        .find_map(|e| match e {
            Effect::ReplaceRequestBody(b) => Some(b.clone()),
            _ => None,
        })
        .unwrap();
    let identity = AwsCredentials::new(AKID, SECRET, None, None, "oracle").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(
        "POST",
        format!("https://{authority}{path}"),
        [("content-type", "application/json"), ("host", authority)].into_iter(),
        SignableBody::Bytes(&body),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let (headers, _) = instructions.into_parts();
    headers
        .into_iter()
        .find(|h| h.name() == "authorization")
        .map(|h| h.value().to_string())
        .unwrap()
}

fn chat(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Hi"}], "temperature": 0.25})
}

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
    // A runtime profile outside the model's geographies is no model at all.
    let (status, e) = refused("", "", &chat("eu.openai.gpt-5.6-sol"));
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
    let Served::OpenAi(m) = cfg.models.serve(model.to_string()).unwrap() else {
        panic!("{model} is not on the OpenAI-compatible surface");
    };
    let Value::Object(fields) = body else {
        panic!()
    };
    let call = Call {
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

// ---------------------------------------------------------------- the answer

/// A token budget that records what was spent.
#[derive(Default)]
struct Spent(Vec<u64>);

impl RateLimiter for Spent {
    fn acquire(&mut self, _: &str, _: u32) -> Result<(), u64> {
        Ok(())
    }
    fn tokens_left(&mut self, _: &str, _: u64) -> Result<(), u64> {
        Ok(())
    }
    fn spend_tokens(&mut self, _: &str, tokens: u64) {
        self.0.push(tokens);
    }
}

fn budget() -> Rc<Config> {
    config(r#","policy":{"tokens_per_minute":1000}"#, "")
}

fn body_out(steps: &[Step]) -> Vec<u8> {
    steps
        .iter()
        .flat_map(|s| &s.effects)
        .filter_map(|e| match e {
            Effect::ReplaceResponseBody(b) => Some(b.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

const COMPLETION: &str = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"openai.gpt-5.5","choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10,"prompt_tokens_details":{"cached_tokens":2}}}"#;

#[test]
fn a_buffered_answer_keeps_its_bytes_but_model_and_tells_its_usage() {
    let mut ex = Exchange::with_limiter(budget(), Spent::default());
    let declared = chat("openai.gpt-5.5");
    let _ = send(&mut ex, SIGV4, &declared);
    let ct = [("content-type", "application/json")];
    let s1 = ex.on_response_headers(200, &ct, false);
    let s2 = ex.on_response_body(COMPLETION.as_bytes(), true);
    assert_eq!(body_out(&[s1, s2]), COMPLETION.as_bytes());
    let usage = ex.record().usage.unwrap();
    assert_eq!(
        (usage.input, usage.output, usage.total, usage.cache_read),
        (7, 3, 10, 2)
    );
    assert_eq!(ex.record().finish_reason, Some("stop"));
    // An alias is put back.
    let cfg = config(
        r#","policy":{"tokens_per_minute":1000}"#,
        r#","models":[{"id":"gpt","target":"openai.gpt-5.5"}]"#,
    );
    let mut ex = Exchange::with_limiter(cfg, Spent::default());
    let _ = send(&mut ex, SIGV4, &chat("gpt"));
    let _ = ex.on_response_headers(200, &ct, false);
    let out = body_out(&[ex.on_response_body(COMPLETION.as_bytes(), true)]);
    assert_eq!(
        out,
        COMPLETION
            .replace(r#""model":"openai.gpt-5.5""#, r#""model":"gpt""#)
            .as_bytes()
    );
}

#[test]
fn errors_keep_their_status_in_openais_shape() {
    // (upstream status, its extra headers, its body, status to the caller, error code).
    type Case = (
        u16,
        &'static [(&'static str, &'static str)],
        &'static str,
        u16,
        &'static str,
    );
    let cases: [Case; 4] = [
        (
            400,
            &[],
            r#"{"error":{"code":"validation_error","message":"The model 'openai.gpt-5.5' does not support the '/v1/chat/completions' API","param":null,"type":"invalid_request_error"}}"#,
            400,
            "validation_error",
        ),
        (404, &[], r#"{"error":{"message":"The model 'openai.gpt-5.5' does not exist","type":"invalid_request_error","code":"model_not_found"}}"#, 404, "model_not_found"),
        (
            403,
            &[("x-amzn-errortype", "InvalidSignatureException:http://internal.amazon.com/coral/com.amazon.coral.service/")],
            r#"{"message":"The request signature we calculated does not match"}"#,
            403,
            "invalid_aws_credentials",
        ),
        // bedrock-runtime's answer on a path it does not serve.
        (
            200,
            &[],
            r#"{"Output":{"__type":"com.amazon.coral.service#UnknownOperationException"},"Version":"1.0"}"#,
            502,
            "bad_upstream_response",
        ),
    ];
    for (status, extra, body, want, code) in cases {
        let mut ex = Exchange::new(config("", ""));
        let _ = send(&mut ex, SIGV4, &chat("openai.gpt-5.5"));
        let mut h = vec![("content-type", "application/json")];
        h.extend_from_slice(extra);
        let _ = ex.on_response_headers(status, &h, false);
        let step = ex.on_response_body(body.as_bytes(), true);
        let out: Value = serde_json::from_slice(&body_out(std::slice::from_ref(&step))).unwrap();
        assert_eq!(out["error"]["code"], code, "{body}: {out}");
        let sent_status = step.effects.iter().find_map(|e| match e {
            Effect::SetResponseHeader(k, v) if k == ":status" => Some(v.parse::<u16>().unwrap()),
            _ => None,
        });
        assert_eq!(sent_status.unwrap_or(status), want, "{body}");
        assert!(!out.to_string().contains(SECRET));
    }
}

const CHUNKS: [&str; 4] = [
    r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"openai.gpt-5.5","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}],"usage":null}"#,
    r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"openai.gpt-5.5","choices":[{"index":0,"delta":{"content":"lo ✓"},"finish_reason":null}],"usage":null}"#,
    r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"openai.gpt-5.5","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}"#,
    r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"openai.gpt-5.5","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":4,"total_tokens":9}}"#,
];

fn sse(events: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        out.extend_from_slice(format!("data: {e}\n\n").as_bytes());
    }
    out.extend_from_slice(b"data: [DONE]\n\n");
    out
}

/// Streams `upstream` split at `cut` through a fresh exchange for `model`;
/// the bytes out, the tokens spent.
fn stream_once(
    model: &str,
    include_usage: bool,
    upstream: &[u8],
    cut: usize,
) -> (Vec<u8>, Vec<u64>, Value) {
    let mut ex = Exchange::with_limiter(budget(), Spent::default());
    let mut body = chat(model);
    body["stream"] = json!(true);
    if include_usage {
        body["stream_options"] = json!({"include_usage": true});
    }
    let sent = sent_body(&send(&mut ex, SIGV4, &body));
    let first = ex.on_response_headers(
        200,
        &[("content-type", "text/event-stream; charset=utf-8")],
        false,
    );
    assert!(first.effects.contains(&Effect::SetResponseHeader(
        "content-type".into(),
        "text/event-stream".into()
    )));
    let (a, b) = upstream.split_at(cut);
    let steps = [ex.on_response_body(a, false), ex.on_response_body(b, true)];
    let record = ex.record().clone();
    assert_eq!(record.usage.map(|u| u.total), Some(9));
    assert_eq!(record.finish_reason, Some("stop"));
    (body_out(&steps), vec![record.usage.unwrap().total], sent)
}

#[test]
fn a_stream_is_forwarded_with_model_put_back_at_every_split_point() {
    let upstream = sse(&CHUNKS);
    // The caller did not ask for usage: the gateway did, and drops that chunk.
    let want_without: Vec<u8> = sse(&CHUNKS[..3]);
    let want_with: Vec<u8> = sse(&CHUNKS);
    for cut in 0..=upstream.len() {
        let (out, spent, sent) = stream_once("openai.gpt-5.5", false, &upstream, cut);
        assert_eq!(sent["stream_options"], json!({"include_usage": true}));
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&want_without),
            "cut {cut}"
        );
        assert_eq!(spent, [9]);
        let (out, _, _) = stream_once("openai.gpt-5.5", true, &upstream, cut);
        assert_eq!(out, want_with, "cut {cut}");
    }
}

#[test]
fn a_stream_names_the_callers_model_and_reads_responses_usage() {
    let cfg = config("", r#","models":[{"id":"gpt","target":"openai.gpt-5.5"}]"#);
    let mut ex = Exchange::new(cfg);
    let mut body = chat("gpt");
    body["stream"] = json!(true);
    let _ = send(&mut ex, SIGV4, &body);
    let _ = ex.on_response_headers(200, &[("content-type", "text/event-stream")], false);
    let mut events: Vec<String> = CHUNKS.iter().map(|c| c.to_string()).collect();
    events.insert(
        1,
        r#"{"error":{"message":"throttled for AKIDEXAMPLE","type":"rate_limit_error"}}"#.into(),
    );
    let refs: Vec<&str> = events.iter().map(String::as_str).collect();
    let out = String::from_utf8(body_out(&[ex.on_response_body(&sse(&refs), true)])).unwrap();
    assert!(!out.contains("openai.gpt-5.5"), "{out}");
    assert_eq!(out.matches(r#""model":"gpt""#).count(), 3);
    assert!(!out.contains(AKID), "{out}");

    // The Responses API: `response.model` put back, usage from `response.completed`.
    let mut s = bedrock_openai_filter::api::openai_compat::stream::CompatStream::new(
        CompatApi::Responses,
        Rc::from("gpt"),
        false,
        Default::default(),
    );
    let created = r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","model":"openai.gpt-5.5","status":"in_progress","error":null,"usage":null}}"#;
    let delta = r#"{"type":"response.output_text.delta","sequence_number":1,"delta":"Hi"}"#;
    let done = r#"{"type":"response.completed","sequence_number":2,"response":{"id":"resp_1","object":"response","model":"openai.gpt-5.5","status":"completed","error":null,"usage":{"input_tokens":11,"input_tokens_details":{"cached_tokens":0,"cache_write_tokens":4},"output_tokens":2,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":13}}}"#;
    let upstream = format!("event: response.created\ndata: {created}\n\nevent: response.output_text.delta\ndata: {delta}\n\nevent: response.completed\ndata: {done}\n\n");
    let mut out = Vec::new();
    for byte in upstream.as_bytes() {
        out.extend(s.feed(std::slice::from_ref(byte)));
    }
    out.extend(s.finish());
    let out = String::from_utf8(out).unwrap();
    assert_eq!(
        out,
        upstream.replace(r#""model":"openai.gpt-5.5""#, r#""model":"gpt""#)
    );
    let usage = s.outcome().usage.unwrap();
    assert_eq!(
        (usage.input, usage.output, usage.total, usage.cache_write),
        (11, 2, 13, 4)
    );
    assert_eq!(s.outcome().finish_reason, Some("stop"));
}

#[test]
fn a_json_answer_to_a_streamed_request_is_buffered_and_checked() {
    let mut ex = Exchange::new(config("", ""));
    let mut body = chat("us.openai.gpt-5.6-sol");
    body["stream"] = json!(true);
    let _ = send(&mut ex, SIGV4, &body);
    let first = ex.on_response_headers(200, &[("content-type", "application/json")], false);
    assert!(!first.effects.contains(&Effect::SetResponseHeader(
        "content-type".into(),
        "text/event-stream".into()
    )));
    let coral = br#"{"Output":{"__type":"com.amazon.coral.service#UnknownOperationException"},"Version":"1.0"}"#;
    let step = ex.on_response_body(coral, true);
    let out: Value = serde_json::from_slice(&body_out(&[step])).unwrap();
    assert_eq!(out["error"]["code"], "bad_upstream_response");
    assert_eq!(ex.record().status, Some(502));
}

#[test]
fn never_panics_on_arbitrary_stream_bytes() {
    let mut seed = 0x00C0_FFEE_u64;
    for _ in 0..2000 {
        let mut s = bedrock_openai_filter::api::openai_compat::stream::CompatStream::new(
            CompatApi::ChatCompletions,
            Rc::from("m"),
            true,
            Default::default(),
        );
        let len = (seed % 300) as usize;
        let mut bytes = Vec::with_capacity(len);
        for _ in 0..len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let alphabet = b"data: {}\"model\":[]\n\r,:usage";
            bytes.push(alphabet[(seed % alphabet.len() as u64) as usize]);
        }
        let _ = s.feed(&bytes);
        let _ = s.finish();
    }
}
