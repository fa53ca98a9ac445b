//! The seed request there and back: what is forwarded (path, authority,
//! body, timeout, stream target), how it is signed, and the answer the
//! client gets.

use crate::effects::{removed_req, req_set, req_set_one, request_body, resp_set, response_body};
use crate::script::*;
use bedrock_openai_filter::aws::sigv4::{sign_request, Credentials, SignRequest, SigningKeys};
use bedrock_openai_filter::exchange::{Effect, Verdict};
use serde_json::{json, Value};

#[test]
fn seed_request_round_trip() {
    let outs = run(config(), seed_script(good_headers()));
    assert_eq!(outs.len(), 9);

    // Headers: wait for the body; the secrets are withheld at once, so no
    // later failure can forward them.
    let headers = outs[0].step();
    assert_eq!(headers.verdict, Verdict::Pause);
    assert_eq!(
        headers.effects,
        vec![Effect::RewriteRequestHeaders { set: Vec::new() }]
    );
    let caller = good_headers();
    let withheld = removed_req(&caller, &[headers]);
    for name in [
        "Project-Api-Key",
        "aws-secret-access-key",
        "aws-access-key-id",
    ] {
        assert!(withheld.iter().any(|r| r == name), "{name}: {withheld:?}");
    }
    assert_eq!(outs[1], pause(), "body progress, not end");
    assert_eq!(outs[2], Out::Ready, "body end");

    // Body: translated, signed, forwarded.
    let fwd = outs[3].step();
    assert_eq!(fwd.verdict, Verdict::Continue);
    let e = &fwd.effects;
    assert_eq!(
        req_set_one(e, ":path"),
        "/model/meta.llama3-8b-instruct-v1%3A0/converse"
    );
    assert_eq!(
        req_set_one(e, ":authority"),
        "bedrock-runtime.us-east-1.amazonaws.com"
    );
    let body = request_body(e);
    assert_eq!(req_set_one(e, "content-length"), body.len().to_string());
    assert_eq!(req_set_one(e, "content-type"), "application/json");
    let mut sent: Value = serde_json::from_slice(body).unwrap();
    // The project goes to Bedrock's invocation logs; the rest is the translation's golden.
    assert_eq!(
        sent.as_object_mut().unwrap().remove("requestMetadata"),
        Some(serde_json::json!({"project": "team-a"}))
    );
    let want: Value = serde_json::from_str(SEED_CONVERSE).unwrap();
    assert_eq!(sent, want);
    assert_eq!(req_set_one(e, "x-amz-date"), "20240102T030405Z");
    let auth = req_set_one(e, "authorization");
    assert!(
        auth.starts_with(&format!(
            "AWS4-HMAC-SHA256 Credential={AKID}/20240102/us-east-1/bedrock/aws4_request"
        )),
        "{auth}"
    );
    assert!(req_set(e, "x-amz-security-token").is_empty());
    assert_eq!(req_set_one(e, "x-envoy-upstream-rq-timeout-ms"), "600000");
    // The body, path and authority sent are exactly what was signed.
    let resigned = sign_request(
        &SignRequest {
            authority: "bedrock-runtime.us-east-1.amazonaws.com",
            path: "/model/meta.llama3-8b-instruct-v1%3A0/converse",
            body,
            region: "us-east-1",
        },
        &Credentials {
            access_key_id: AKID.into(),
            secret_access_key: SECRET.into(),
            session_token: None,
        },
        now(),
        &SigningKeys::new(),
    )
    .unwrap();
    let resigned_auth = resigned
        .iter()
        .find(|(k, _)| *k == "authorization")
        .unwrap();
    assert_eq!(auth, resigned_auth.1);
    // One header rewrite, then the body: no request effect after the body
    // replacement would be lost.
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(matches!(e[0], Effect::RewriteRequestHeaders { .. }));
    assert!(matches!(e[1], Effect::ReplaceRequestBody(_)));
    // The forwarded request still holds none of the caller's secrets.
    assert!(removed_req(&caller, &[headers, fwd])
        .iter()
        .any(|r| r.eq_ignore_ascii_case("aws-secret-access-key")));

    // Response headers: drop content-length, hold the headers.
    let rh = outs[4].step();
    assert_eq!(rh.verdict, Verdict::Pause);
    assert_eq!(
        rh.effects,
        vec![Effect::RemoveResponseHeader("content-length".into())]
    );
    assert_eq!(outs[5], pause());
    assert_eq!(outs[6], pause());
    assert_eq!(outs[7], Out::Ready);

    // Response body: rewritten into a chat.completion.
    let rb = outs[8].step();
    assert_eq!(rb.verdict, Verdict::Continue);
    let out = response_body(&rb.effects);
    assert_eq!(
        resp_set(&rb.effects, "content-length"),
        [out.len().to_string()]
    );
    assert!(resp_set(&rb.effects, ":status").is_empty());
    let v: Value = serde_json::from_slice(out).unwrap();
    assert_eq!(v["id"], "chatcmpl-4b1c-aws-req");
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["created"], NOW_SECS);
    assert_eq!(v["model"], SEED_MODEL);
    assert_eq!(
        v["choices"][0]["message"],
        json!({"role": "assistant", "content": "Hello! How can I help?", "refusal": null})
    );
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        v["usage"],
        json!({"prompt_tokens": 25, "completion_tokens": 60, "total_tokens": 85})
    );
}

#[test]
fn session_token_is_sent_only_when_given() {
    let outs = run(
        config(),
        request_script(
            good_headers().plus("aws-session-token", TOKEN),
            SEED.as_bytes(),
        ),
    );
    let e = &outs[3].step().effects;
    assert_eq!(req_set_one(e, "x-amz-security-token"), TOKEN);
    assert!(req_set_one(e, "authorization").contains("x-amz-security-token"));

    let outs = run(config(), request_script(good_headers(), SEED.as_bytes()));
    let e = &outs[3].step().effects;
    assert!(req_set(e, "x-amz-security-token").is_empty(), "{e:?}");
    assert!(!req_set_one(e, "authorization").contains("x-amz-security-token"));
}

/// A request's `timeout` under a config, and the upstream timeout Envoy is given.
struct TimeoutCase {
    /// What the row is about, in failure messages.
    name: &'static str,
    /// Top-level config fields spliced in (see `config_with`).
    config_extra: &'static str,
    /// The request's `timeout` in seconds, if it sets one.
    timeout: Option<u64>,
    /// The `x-envoy-upstream-rq-timeout-ms` forwarded.
    upstream_ms: &'static str,
}

/// A config whose `limits.max_timeout_seconds` is 60.
const CAP_60: &str = r#","limits":{"max_timeout_seconds":60}"#;

#[test]
fn upstream_timeout_is_capped_by_config() {
    let cases = vec![
        TimeoutCase {
            name: "default",
            config_extra: "",
            timeout: None,
            upstream_ms: "600000",
        },
        TimeoutCase {
            name: "request timeout",
            config_extra: "",
            timeout: Some(30),
            upstream_ms: "30000",
        },
        TimeoutCase {
            name: "request over default cap",
            config_extra: "",
            timeout: Some(100_000),
            upstream_ms: "600000",
        },
        TimeoutCase {
            name: "config cap",
            config_extra: CAP_60,
            timeout: None,
            upstream_ms: "60000",
        },
        TimeoutCase {
            name: "request over config cap",
            config_extra: CAP_60,
            timeout: Some(120),
            upstream_ms: "60000",
        },
        TimeoutCase {
            name: "request under config cap",
            config_extra: CAP_60,
            timeout: Some(5),
            upstream_ms: "5000",
        },
    ];
    for TimeoutCase {
        name,
        config_extra,
        timeout,
        upstream_ms,
    } in cases
    {
        let mut body: Value = serde_json::from_str(SEED).unwrap();
        if let Some(t) = timeout {
            body["timeout"] = json!(t);
        }
        let outs = run(
            config_with(config_extra),
            request_script(good_headers(), body.to_string().as_bytes()),
        );
        let e = &outs[3].step().effects;
        assert_eq!(
            req_set_one(e, "x-envoy-upstream-rq-timeout-ms"),
            upstream_ms,
            "{name}"
        );
    }
}

#[test]
fn endpoint_override_keeps_the_region_in_the_signature() {
    let cfg = config_with(r#","upstream":{"endpoint":"http://127.0.0.1:9099"}"#);
    let headers = good_headers().with("aws-region-name", "eu-west-3");
    let outs = run(cfg, request_script(headers, SEED.as_bytes()));
    let e = &outs[3].step().effects;
    assert_eq!(req_set_one(e, ":authority"), "127.0.0.1:9099");
    assert!(req_set_one(e, "authorization").contains(&format!(
        "Credential={AKID}/20240102/eu-west-3/bedrock/aws4_request"
    )));
}

#[test]
fn stream_true_targets_converse_stream() {
    let mut body: Value = serde_json::from_str(SEED).unwrap();
    body["stream"] = json!(true);
    let outs = run(
        config(),
        request_script(good_headers(), body.to_string().as_bytes()),
    );
    let e = &outs[3].step().effects;
    assert_eq!(
        req_set_one(e, ":path"),
        "/model/meta.llama3-8b-instruct-v1%3A0/converse-stream"
    );
    assert_eq!(
        req_set_one(e, "accept"),
        "application/vnd.amazon.eventstream"
    );
}

#[test]
fn content_length_counts_bytes_not_chars() {
    let body =
        json!({"model": SEED_MODEL, "messages": [{"role": "user", "content": "héllo ✓ 日本"}]})
            .to_string();
    let outs = run(config(), request_script(good_headers(), body.as_bytes()));
    let e = &outs[3].step().effects;
    let sent = request_body(e);
    assert_eq!(req_set_one(e, "content-length"), sent.len().to_string());
    assert_eq!(
        serde_json::from_slice::<Value>(sent).unwrap()["messages"][0]["content"][0]["text"],
        "héllo ✓ 日本"
    );
}

#[test]
fn response_id_falls_back_to_envoy_request_id() {
    let mut script = request_script(good_headers(), SEED.as_bytes());
    script.extend(response_script(
        200,
        owned(&[("content-type", "application/json")]),
        &converse_ok("x"),
    ));
    let outs = run(config(), script);
    let v: Value = serde_json::from_slice(response_body(&outs[8].step().effects)).unwrap();
    assert_eq!(v["id"], "chatcmpl-envoy-rid-1");
}
