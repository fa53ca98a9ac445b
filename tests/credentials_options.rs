//! Credentials and Bedrock's request options through the exchange: Bedrock API
//! keys, `credentials: envoy`, the proxy's bearer token, service tiers,
//! latency-optimized inference, request metadata and token budgets.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use aws_smithy_types::base64::encode;
use bedrock_openai_filter::config::Config;
use bedrock_openai_filter::exchange::{Effect, Exchange, Step};
use bedrock_openai_filter::policy::rate_limit::{
    add_tokens, check_tokens, RateLimiter, TokenWindow,
};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const KEY: &str = "test-project-key";
const KEY_SHA256: &str = "d749661188e7505ba96c87f623991d468dbbb04222ad81bcc7f5f5c110fb598e";
const NOW_SECS: u64 = 1_704_164_645;
const NOVA: &str = "amazon.nova-pro-v1:0";
const HAIKU_35: &str = "us.anthropic.claude-3-5-haiku-20241022-v1:0";
const LLAMA: &str = "meta.llama3-8b-instruct-v1:0";

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

fn config(policy: Value, extra: &str) -> Rc<Config> {
    let json = format!(
        r#"{{"version":1,"projects":[{{"name":"team-a","key_sha256":"{KEY_SHA256}","policy":{policy}}}]{extra}}}"#
    );
    Rc::new(Config::from_json(json.as_bytes()).unwrap())
}

fn headers(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut h: Vec<(String, String)> = [
        (":method", "POST"),
        (":path", "/v1/amazon-bedrock/chat/completions"),
        (":authority", "gateway.local"),
        ("content-type", "application/json"),
        ("project-api-key", KEY),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    h.dedup();
    h
}

fn sigv4() -> [(&'static str, &'static str); 3] {
    [
        ("aws-access-key-id", "AKIDEXAMPLE"),
        (
            "aws-secret-access-key",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        ),
        ("aws-region-name", "us-east-1"),
    ]
}

/// What the exchange sent upstream, or the error it answered.
#[derive(Debug)]
enum Sent {
    Call {
        headers: Vec<(String, String)>,
        body: Value,
    },
    Refused {
        status: u16,
        error: Value,
    },
}

impl Sent {
    fn body(&self) -> &Value {
        match self {
            Sent::Call { body, .. } => body,
            Sent::Refused { status, error } => panic!("refused {status}: {error}"),
        }
    }
    fn header(&self, name: &str) -> Option<&str> {
        match self {
            Sent::Call { headers, .. } => headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str()),
            Sent::Refused { status, error } => panic!("refused {status}: {error}"),
        }
    }
    fn refused(&self, want_status: u16, want_param: &str) -> &Value {
        match self {
            Sent::Refused { status, error } => {
                assert_eq!(*status, want_status, "{error}");
                assert_eq!(error["error"]["param"], want_param, "{error}");
                error
            }
            Sent::Call { body, .. } => panic!("sent {body}"),
        }
    }
}

fn refusal(step: &Step) -> Option<Sent> {
    step.effects.iter().find_map(|e| match e {
        Effect::LocalReply { status, body, .. } => Some(Sent::Refused {
            status: *status,
            error: serde_json::from_slice(body).unwrap(),
        }),
        _ => None,
    })
}

fn exchange_with<L: RateLimiter>(
    ex: &mut Exchange<L>,
    headers: &[(String, String)],
    body: &Value,
) -> Sent {
    let step = ex.on_request_headers(headers, false);
    if let Some(r) = refusal(&step) {
        return r;
    }
    let body = serde_json::to_vec(body).unwrap();
    let step = ex.on_request_body(&body, now());
    if let Some(r) = refusal(&step) {
        return r;
    }
    let mut sent_headers = Vec::new();
    let mut sent_body = Value::Null;
    for e in step.effects {
        match e {
            Effect::RewriteRequestHeaders { set } => {
                sent_headers.extend(set.into_iter().map(|(k, v)| (k.into_owned(), v)))
            }
            Effect::ReplaceRequestBody(b) => sent_body = serde_json::from_slice(&b).unwrap(),
            _ => {}
        }
    }
    Sent::Call {
        headers: sent_headers,
        body: sent_body,
    }
}

fn send(config: Rc<Config>, headers: &[(String, String)], body: &Value) -> Sent {
    exchange_with(&mut Exchange::new(config), headers, body)
}

fn chat(model: &str, extra: Value) -> Value {
    let mut b = json!({"model": model, "messages": [{"role": "user", "content": "Hi"}]});
    b.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    b
}

/// A short-term Bedrock API key in the generator's shape, issued in `region`.
fn short_term_key(region: &str) -> String {
    let url = format!(
        "bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAEXAMPLE%2F20240102%2F{region}%2Fbedrock%2Faws4_request&X-Amz-Date=20240102T030405Z&X-Amz-Expires=43200&X-Amz-SignedHeaders=host&X-Amz-Signature=00&Version=1"
    );
    format!("bedrock-api-key-{}", encode(url))
}

// ---------------------------------------------------------------- credentials

#[test]
fn a_bedrock_api_key_becomes_a_bearer_and_nothing_is_signed() {
    let key = "ABSKQmVkcm9ja0FQSUtleS1leGFtcGxlLWtleQ==";
    let h = headers(&[
        ("aws-bearer-token-bedrock", key),
        ("aws-region-name", "eu-west-1"),
    ]);
    let sent = send(config(json!({}), ""), &h, &chat(LLAMA, json!({})));
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {key}").as_str())
    );
    assert_eq!(sent.header("x-amz-date"), None);
    assert_eq!(sent.header("x-amz-security-token"), None);
    assert_eq!(
        sent.header(":authority"),
        Some("bedrock-runtime.eu-west-1.amazonaws.com")
    );
}

#[test]
fn a_short_term_key_must_be_used_in_its_region() {
    let key = short_term_key("us-west-2");
    let h = headers(&[
        ("aws-bearer-token-bedrock", &key),
        ("aws-region-name", "us-west-2"),
    ]);
    let sent = send(config(json!({}), ""), &h, &chat(LLAMA, json!({})));
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {key}").as_str())
    );
    let h = headers(&[
        ("aws-bearer-token-bedrock", &key),
        ("aws-region-name", "us-east-1"),
    ]);
    let err = send(config(json!({}), ""), &h, &chat(LLAMA, json!({})));
    let e = err.refused(400, "aws-region-name");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("us-west-2"));
    assert!(!e.to_string().contains(&key));
}

#[test]
fn both_kinds_of_credential_are_refused_and_never_echoed() {
    let mut extra = sigv4().to_vec();
    extra.push(("aws-bearer-token-bedrock", "ABSKsecretvalue"));
    let err = send(
        config(json!({}), ""),
        &headers(&extra),
        &chat(LLAMA, json!({})),
    );
    let e = err.refused(400, "aws-bearer-token-bedrock");
    assert!(!e.to_string().contains("ABSKsecretvalue"));
    // A bearer token alone still needs a Region.
    let err = send(
        config(json!({}), ""),
        &headers(&[("aws-bearer-token-bedrock", "ABSKx")]),
        &chat(LLAMA, json!({})),
    );
    err.refused(400, "aws-region-name");
}

#[test]
fn the_proxy_s_bearer_token_wins_over_its_keys() {
    let cfg = Config::from_json(
        format!(r#"{{"version":1,"projects":[{{"name":"team-a","key_sha256":"{KEY_SHA256}","policy":{{"credentials":"environment"}}}}]}}"#).as_bytes(),
    )
    .unwrap();
    let env = |k: &str| match k {
        "AWS_BEARER_TOKEN_BEDROCK" => Some("ABSKproxykey".to_string()),
        "AWS_ACCESS_KEY_ID" => Some("AKIDPROXY".to_string()),
        "AWS_SECRET_ACCESS_KEY" => Some("proxysecret".to_string()),
        "AWS_REGION" => Some("us-west-2".to_string()),
        _ => None,
    };
    let cfg = Rc::new(cfg.with_environment(env).unwrap());
    let sent = send(cfg, &headers(&[]), &chat(LLAMA, json!({})));
    assert_eq!(sent.header("authorization"), Some("Bearer ABSKproxykey"));
    assert_eq!(
        sent.header(":authority"),
        Some("bedrock-runtime.us-west-2.amazonaws.com")
    );
}

#[test]
fn envoy_credentials_leave_signing_to_envoy() {
    let cfg = config(
        json!({"credentials": "envoy"}),
        r#","envoy_signer":{"region":"us-east-1"}"#,
    );
    // The caller's own keys are withheld and unused.
    let sent = send(Rc::clone(&cfg), &headers(&sigv4()), &chat(LLAMA, json!({})));
    assert_eq!(sent.header("x-bedrock-openai-signer"), Some("envoy"));
    assert_eq!(sent.header("authorization"), None);
    assert_eq!(sent.header("x-amz-date"), None);
    assert_eq!(
        sent.header(":authority"),
        Some("bedrock-runtime.us-east-1.amazonaws.com")
    );
    // No Region header: the signer's. Another Region: refused (the signer signs for one).
    let sent = send(Rc::clone(&cfg), &headers(&[]), &chat(LLAMA, json!({})));
    assert_eq!(sent.header("x-bedrock-openai-signer"), Some("envoy"));
    let err = send(
        cfg,
        &headers(&[("aws-region-name", "eu-west-1")]),
        &chat(LLAMA, json!({})),
    );
    err.refused(400, "aws-region-name");
    // A project using it needs the signer's Region in the configuration.
    let json = format!(
        r#"{{"version":1,"projects":[{{"name":"a","key_sha256":"{KEY_SHA256}","policy":{{"credentials":"envoy"}}}}]}}"#
    );
    assert!(Config::from_json(json.as_bytes()).is_err());
}

#[test]
fn a_caller_cannot_ask_for_envoy_s_signature() {
    let mut extra = sigv4().to_vec();
    extra.push(("x-bedrock-openai-signer", "envoy"));
    let sent = send(
        config(json!({}), ""),
        &headers(&extra),
        &chat(LLAMA, json!({})),
    );
    assert_eq!(sent.header("x-bedrock-openai-signer"), None);
    assert!(sent
        .header("authorization")
        .unwrap()
        .starts_with("AWS4-HMAC-SHA256 "));
}

// ---------------------------------------------------------------- service tiers, latency

#[test]
fn service_tiers_follow_the_request_and_the_policy() {
    let ok = |policy: Value, extra: Value| {
        send(config(policy, ""), &headers(&sigv4()), &chat(NOVA, extra))
            .body()
            .get("serviceTier")
            .cloned()
    };
    assert_eq!(ok(json!({}), json!({})), None);
    assert_eq!(ok(json!({}), json!({"service_tier": "auto"})), None);
    for t in ["priority", "default", "flex"] {
        assert_eq!(
            ok(json!({}), json!({"service_tier": t})),
            Some(json!({"type": t}))
        );
    }
    let default_flex = json!({"service_tier": {"default": "flex"}});
    assert_eq!(
        ok(default_flex.clone(), json!({})),
        Some(json!({"type": "flex"}))
    );
    assert_eq!(
        ok(default_flex, json!({"service_tier": "priority"})),
        Some(json!({"type": "priority"}))
    );
    let pin = json!({"service_tier": {"pin": "flex"}});
    assert_eq!(
        ok(pin.clone(), json!({"service_tier": "auto"})),
        Some(json!({"type": "flex"}))
    );
    send(
        config(pin, ""),
        &headers(&sigv4()),
        &chat(NOVA, json!({"service_tier": "priority"})),
    )
    .refused(400, "service_tier");
}

#[test]
fn a_tier_the_model_lacks_is_refused_unless_it_is_only_the_default() {
    // Claude 3.5 Haiku serves the standard tier only.
    send(
        config(json!({}), ""),
        &headers(&sigv4()),
        &chat(HAIKU_35, json!({"service_tier": "flex"})),
    )
    .refused(400, "service_tier");
    let sent = send(
        config(json!({"service_tier": {"default": "flex"}}), ""),
        &headers(&sigv4()),
        &chat(HAIKU_35, json!({})),
    );
    assert!(sent.body().get("serviceTier").is_none());
    for bad in [json!("scale"), json!(3)] {
        send(
            config(json!({}), ""),
            &headers(&sigv4()),
            &chat(NOVA, json!({"service_tier": bad})),
        )
        .refused(400, "service_tier");
    }
}

#[test]
fn latency_optimized_only_where_the_catalog_has_it() {
    let optimized = json!({"performanceConfig": {"latency": "optimized"}});
    let sent = send(
        config(json!({}), ""),
        &headers(&sigv4()),
        &chat(HAIKU_35, optimized.clone()),
    );
    assert_eq!(
        sent.body()["performanceConfig"],
        json!({"latency": "optimized"})
    );
    send(
        config(json!({}), ""),
        &headers(&sigv4()),
        &chat(LLAMA, optimized),
    )
    .refused(400, "performanceConfig.latency");
    // The policy's asks where it can and is silent elsewhere.
    let policy = json!({"latency": "optimized"});
    let sent = send(
        config(policy.clone(), ""),
        &headers(&sigv4()),
        &chat(HAIKU_35, json!({})),
    );
    assert_eq!(
        sent.body()["performanceConfig"],
        json!({"latency": "optimized"})
    );
    let sent = send(
        config(policy, ""),
        &headers(&sigv4()),
        &chat(LLAMA, json!({})),
    );
    assert!(sent.body().get("performanceConfig").is_none());
    for bad in [
        json!({"latency": "fast"}),
        json!({"speed": "x"}),
        json!("optimized"),
    ] {
        let err = send(
            config(json!({}), ""),
            &headers(&sigv4()),
            &chat(HAIKU_35, json!({"performanceConfig": bad})),
        );
        let Sent::Refused { status: 400, error } = err else {
            panic!("{bad}: {err:?}")
        };
        assert!(error["error"]["param"]
            .as_str()
            .unwrap()
            .starts_with("performanceConfig"));
    }
}

// ---------------------------------------------------------------- request metadata

#[test]
fn request_metadata_carries_the_project_the_user_and_the_pairs() {
    let sent = send(
        config(json!({}), ""),
        &headers(&sigv4()),
        &chat(
            LLAMA,
            json!({"user": "alice@example.com", "metadata": {"team": "search", "env": "prod"}}),
        ),
    );
    assert_eq!(
        sent.body()["requestMetadata"],
        json!({"project": "team-a", "user": "alice@example.com", "team": "search", "env": "prod"})
    );
    let sent = send(
        config(json!({"request_metadata": false}), ""),
        &headers(&sigv4()),
        &chat(
            LLAMA,
            json!({"user": "alice", "metadata": {"team": "search"}}),
        ),
    );
    assert!(sent.body().get("requestMetadata").is_none());
}

#[test]
fn request_metadata_within_bedrock_s_limits() {
    let refused = |extra: Value, param: &str| {
        send(
            config(json!({}), ""),
            &headers(&sigv4()),
            &chat(LLAMA, extra),
        )
        .refused(400, param);
    };
    let pairs = |n: usize| -> Value {
        Value::Object((0..n).map(|i| (format!("k{i}"), json!("v"))).collect())
    };
    // 16 pairs in all: the project and 15 of the caller's.
    send(
        config(json!({}), ""),
        &headers(&sigv4()),
        &chat(LLAMA, json!({"metadata": pairs(15)})),
    );
    refused(json!({"metadata": pairs(16)}), "metadata");
    refused(json!({"user": "u", "metadata": pairs(15)}), "metadata");
    refused(json!({"metadata": {"project": "other-team"}}), "metadata");
    refused(json!({"metadata": {"a": "semi;colon"}}), "metadata");
    refused(json!({"metadata": {"a": "x".repeat(257)}}), "metadata");
    refused(json!({"metadata": {"a": 1}}), "metadata");
    refused(json!({"metadata": ["a"]}), "metadata");
    refused(json!({"user": "ünïcode"}), "user");
    refused(json!({"user": 7}), "user");
    // Bedrock's character set, every class of it.
    let ok = "Az09 \t:_@$#=/+,-.";
    let sent = send(
        config(json!({}), ""),
        &headers(&sigv4()),
        &chat(
            LLAMA,
            json!({"user": ok, "metadata": {ok: ok, "empty": ""}}),
        ),
    );
    assert_eq!(sent.body()["requestMetadata"]["user"], ok);
    assert_eq!(sent.body()["requestMetadata"]["empty"], "");
}

// ---------------------------------------------------------------- token budgets

/// The host's shared data, as a test sees it: one window per project.
#[derive(Clone, Default)]
struct Windows(Rc<RefCell<Vec<(String, TokenWindow)>>>, Rc<RefCell<u64>>);

impl Windows {
    fn get(&self, p: &str) -> Option<TokenWindow> {
        self.0
            .borrow()
            .iter()
            .find(|(k, _)| k == p)
            .map(|(_, w)| *w)
    }
}

impl RateLimiter for Windows {
    fn acquire(&mut self, _p: &str, _n: u32) -> Result<(), u64> {
        Ok(())
    }
    fn tokens_left(&mut self, p: &str, budget: u64) -> Result<(), u64> {
        check_tokens(self.get(p), *self.1.borrow(), budget)
    }
    fn spend_tokens(&mut self, p: &str, tokens: u64) {
        let next = add_tokens(self.get(p), *self.1.borrow(), tokens);
        let mut w = self.0.borrow_mut();
        w.retain(|(k, _)| k != p);
        w.push((p.to_string(), next));
    }
}

fn answer(ex: &mut Exchange<Windows>, total: u64) {
    let body = json!({"output": {"message": {"role": "assistant", "content": [{"text": "ok"}]}},
                      "stopReason": "end_turn",
                      "usage": {"inputTokens": total - 10, "outputTokens": 10, "totalTokens": total}});
    let body = serde_json::to_vec(&body).unwrap();
    let _ = ex.on_response_headers(200, &[("content-type", "application/json")], false);
    let _ = ex.on_response_body_progress(body.len(), true);
    let step = ex.on_response_body(&body, true);
    assert!(step
        .effects
        .iter()
        .any(|e| matches!(e, Effect::ReplaceResponseBody(_))));
}

#[test]
fn a_token_budget_refuses_once_spent_and_refills_next_minute() {
    let cfg = config(json!({"tokens_per_minute": 1000}), "");
    let windows = Windows::default();
    *windows.1.borrow_mut() = NOW_SECS;
    let h = headers(&sigv4());
    for total in [600, 500] {
        let mut ex = Exchange::with_limiter(Rc::clone(&cfg), windows.clone());
        exchange_with(&mut ex, &h, &chat(LLAMA, json!({}))).body();
        answer(&mut ex, total);
    }
    assert_eq!(windows.get("team-a"), Some((NOW_SECS / 60, 1100)));
    let mut ex = Exchange::with_limiter(Rc::clone(&cfg), windows.clone());
    let err = exchange_with(&mut ex, &h, &chat(LLAMA, json!({})));
    let Sent::Refused { status: 429, error } = err else {
        panic!("{err:?}")
    };
    assert_eq!(error["error"]["code"], "rate_limit_exceeded");
    assert!(error["error"]["message"]
        .as_str()
        .unwrap()
        .contains("1000 tokens"));
    // The next minute starts over.
    *windows.1.borrow_mut() = (NOW_SECS / 60 + 1) * 60;
    let mut ex = Exchange::with_limiter(cfg, windows.clone());
    exchange_with(&mut ex, &h, &chat(LLAMA, json!({}))).body();
}

#[test]
fn bad_policies_are_refused_at_start() {
    for policy in [
        json!({"credentials": "vault"}),
        json!({"service_tier": "flex"}),
        json!({"service_tier": {"default": "flex", "pin": "flex"}}),
        json!({"service_tier": {"default": "scale"}}),
        json!({"latency": "fast"}),
        json!({"request_metadata": "yes"}),
        json!({"tokens_per_minute": 0}),
        json!({"tokens_per_minute": -5}),
    ] {
        let json = format!(
            r#"{{"version":1,"projects":[{{"name":"a","key_sha256":"{KEY_SHA256}","policy":{policy}}}]}}"#
        );
        assert!(Config::from_json(json.as_bytes()).is_err(), "{policy}");
    }
}
