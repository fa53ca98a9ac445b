//! The embeddings endpoint as exchange scripts (host events in, effects out):
//! the request's refusals, each family's InvokeModel bodies, the fan-out
//! (concurrency bound, order kept, all or nothing, one deadline, late answers
//! ignored, a refused dispatch), the answer's encodings against an
//! independent base64 encoder, and usage from Bedrock's own counts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use aws_smithy_types::base64::encode as oracle_base64;
use bedrock_openai_filter::config::Config;
use bedrock_openai_filter::exchange::{BodyProgress, Callout, Effect, Exchange, Step, Verdict};
use serde_json::{json, Value};
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const KEY: &str = "test-project-key";
const KEY_SHA256: &str = "d749661188e7505ba96c87f623991d468dbbb04222ad81bcc7f5f5c110fb598e";
const PATH: &str = "/v1/amazon-bedrock/embeddings";
const TITAN: &str = "amazon.titan-embed-text-v2:0";
const COHERE: &str = "cohere.embed-english-v3";

fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_704_164_645)
}

fn config_with(extra: &str, policy: &str) -> Rc<Config> {
    let json = format!(
        r#"{{"version":1,"projects":[{{"name":"team-a","key_sha256":"{KEY_SHA256}"{policy}}}]{extra}}}"#
    );
    Rc::new(Config::from_json(json.as_bytes()).unwrap())
}

fn config() -> Rc<Config> {
    config_with(r#","upstream":{"endpoint":"http://127.0.0.1:9099"}"#, "")
}

fn headers(path: &str) -> Vec<(String, String)> {
    [
        (":method", "POST"),
        (":path", path),
        (":authority", "gateway.local"),
        ("content-type", "application/json"),
        ("project-api-key", KEY),
        ("aws-access-key-id", "AKIDEXAMPLE"),
        (
            "aws-secret-access-key",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        ),
        ("aws-region-name", "us-east-1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Headers and body in; the step of the body.
fn start_at(config: Rc<Config>, body: &Value, path: &str) -> (Exchange, Step) {
    let mut ex = Exchange::new(config);
    let step = ex.on_request_headers(&headers(path), false);
    assert_eq!(step.verdict, Verdict::Pause, "{step:?}");
    let bytes = serde_json::to_vec(body).unwrap();
    assert_eq!(
        ex.on_request_body_progress(bytes.len(), true),
        BodyProgress::Ready
    );
    let step = ex.on_request_body(&bytes, t0());
    (ex, step)
}

fn start(body: Value) -> (Exchange, Step) {
    start_at(config(), &body, PATH)
}

fn calls(step: &Step) -> Vec<Callout> {
    assert_eq!(step.verdict, Verdict::Pause, "{step:?}");
    match step.effects.as_slice() {
        [Effect::Dispatch { calls }] => calls.clone(),
        other => panic!("expected one Dispatch, got {other:?}"),
    }
}

fn reply(step: &Step) -> (u16, Value) {
    match step.effects.as_slice() {
        [Effect::LocalReply { status, body, .. }] => {
            (*status, serde_json::from_slice(body).unwrap())
        }
        other => panic!("expected a LocalReply, got {other:?}"),
    }
}

fn refused(body: Value) -> (u16, Value) {
    let (_, step) = start(body);
    let (status, err) = reply(&step);
    (status, err["error"].clone())
}

fn header<'a>(call: &'a Callout, name: &str) -> &'a str {
    call.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} in {:?}", call.headers))
}

fn sent(call: &Callout) -> Value {
    serde_json::from_slice(&call.body).unwrap()
}

/// A vector for input `i` of `dims` values (exact in float32).
fn vector(i: usize, dims: usize) -> Vec<f32> {
    (0..dims)
        .map(|d| ((i * 31 + d) % 17) as f32 / 16.0 - 0.5)
        .collect()
}

fn titan_answer(i: usize, dims: usize, tokens: u64) -> Vec<u8> {
    let v = vector(i, dims);
    serde_json::to_vec(
        &json!({"embedding": v, "embeddingsByType": {"float": v}, "inputTextTokenCount": tokens}),
    )
    .unwrap()
}

fn answer(ex: &mut Exchange, id: u32, status: u16, hdrs: &[(&str, &str)], body: &[u8]) -> Step {
    let mut all = vec![(":status", status.to_string())];
    all.extend(hdrs.iter().map(|(k, v)| (*k, v.to_string())));
    let all: Vec<(String, String)> = all.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    ex.on_callout_response(
        id,
        Some(status),
        &all,
        body,
        t0() + Duration::from_millis(5),
    )
}

// ---------------------------------------------------------------- the request

#[test]
fn every_refusal_names_its_param_and_nothing_is_dispatched() {
    let long = "x".repeat(50_001);
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (json!({"model": TITAN}), 400, "input", "required"),
        (json!({"model": TITAN, "input": []}), 400, "input", "empty"),
        (
            json!({"model": TITAN, "input": ""}),
            400,
            "input",
            "empty string",
        ),
        (
            json!({"model": TITAN, "input": ["a", ""]}),
            400,
            "input",
            "input[1]",
        ),
        (
            json!({"model": TITAN, "input": [1, 2, 3]}),
            400,
            "input",
            "check_embedding_ctx_length=False",
        ),
        (
            json!({"model": TITAN, "input": [[1, 2], [3]]}),
            400,
            "input",
            "check_embedding_ctx_length=False",
        ),
        (
            json!({"model": TITAN, "input": {"text": "a"}}),
            400,
            "input",
            "string or an array",
        ),
        (
            json!({"model": TITAN, "input": vec!["a"; 2049]}),
            400,
            "input",
            "2049",
        ),
        (
            json!({"model": TITAN, "input": [long]}),
            400,
            "input",
            "50000",
        ),
        (
            json!({"model": COHERE, "input": ["y".repeat(2049)]}),
            400,
            "input",
            "2048",
        ),
        (
            json!({"model": TITAN, "input": "a", "dimensions": 300}),
            400,
            "dimensions",
            "256, 512, 1024",
        ),
        (
            json!({"model": TITAN, "input": "a", "dimensions": 0}),
            400,
            "dimensions",
            "positive",
        ),
        (
            json!({"model": COHERE, "input": "a", "dimensions": 512}),
            400,
            "dimensions",
            "1024",
        ),
        (
            json!({"model": "cohere.embed-v4:0", "input": "a", "dimensions": 3072}),
            400,
            "dimensions",
            "256, 512, 1024, 1536",
        ),
        (
            json!({"model": "amazon.nova-2-multimodal-embeddings-v1:0", "input": "a", "dimensions": 512}),
            400,
            "dimensions",
            "256, 384, 1024, 3072",
        ),
        (
            json!({"model": TITAN, "input": "a", "encoding_format": "int8"}),
            400,
            "encoding_format",
            "float",
        ),
        (
            json!({"model": COHERE, "input": "a", "input_type": "image"}),
            400,
            "input_type",
            "search_document",
        ),
        (
            json!({"model": TITAN, "input": "a", "user": 7}),
            400,
            "user",
            "string",
        ),
        (
            json!({"model": TITAN, "input": "a", "truncate": "END"}),
            400,
            "truncate",
            "Unknown field",
        ),
        (
            json!({"model": "meta.llama3-8b-instruct-v1:0", "input": "a"}),
            400,
            "model",
            "/v1/amazon-bedrock/chat/completions",
        ),
        (
            json!({"model": "text-embedding-3-small", "input": "a"}),
            404,
            "model",
            "not supported",
        ),
        (
            json!({"model": "apac.cohere.embed-v4:0", "input": "a"}),
            404,
            "model",
            "not supported",
        ),
    ];
    for (body, status, param, fragment) in cases {
        let (got, err) = refused(body.clone());
        assert_eq!(got, status, "{body}: {err}");
        assert_eq!(err["param"], param, "{body}: {err}");
        let message = err["message"].as_str().unwrap();
        assert!(message.contains(fragment), "{body}: {message}");
    }
}

#[test]
fn chat_refuses_an_embedding_model_naming_the_embeddings_endpoint() {
    let body = json!({"model": TITAN, "messages": [{"role": "user", "content": "hi"}]});
    let (_, step) = start_at(config(), &body, "/v1/amazon-bedrock/chat/completions");
    let (status, err) = reply(&step);
    assert_eq!((status, &err["error"]["param"]), (400, &json!("model")));
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("POST /v1/amazon-bedrock/embeddings"));
}

#[test]
fn a_model_outside_the_allow_list_is_403() {
    let cfg = config_with(
        "",
        r#","policy":{"allowed_models":["cohere.embed-english-v3"]}"#,
    );
    let (_, step) = start_at(cfg, &json!({"model": TITAN, "input": "a"}), PATH);
    let (status, err) = reply(&step);
    assert_eq!(
        (status, &err["error"]["code"]),
        (403, &json!("model_not_allowed"))
    );
}

// ---------------------------------------------------------------- each family's calls

#[test]
fn each_family_s_invoke_model_calls() {
    let texts: Vec<String> = (0..3).map(|i| format!("text {i}")).collect();
    let cases = [
        (
            json!({"model": TITAN, "input": texts, "dimensions": 512}),
            3,
            json!({"inputText": "text 0", "dimensions": 512}),
            "/model/amazon.titan-embed-text-v2%3A0/invoke",
        ),
        (
            json!({"model": "amazon.titan-embed-text-v1", "input": texts, "dimensions": 1536}),
            3,
            json!({"inputText": "text 0"}),
            "/model/amazon.titan-embed-text-v1/invoke",
        ),
        (
            json!({"model": COHERE, "input": texts, "input_type": "search_query"}),
            1,
            json!({"texts": texts, "input_type": "search_query", "truncate": "NONE"}),
            "/model/cohere.embed-english-v3/invoke",
        ),
        (
            json!({"model": "us.cohere.embed-v4:0", "input": texts, "dimensions": 256}),
            1,
            json!({"texts": texts, "input_type": "search_document", "truncate": "NONE", "output_dimension": 256}),
            "/model/us.cohere.embed-v4%3A0/invoke",
        ),
        (
            json!({"model": "amazon.nova-2-multimodal-embeddings-v1:0", "input": texts, "input_type": "search_query", "dimensions": 1024}),
            3,
            json!({"taskType": "SINGLE_EMBEDDING", "singleEmbeddingParams": {"embeddingPurpose": "TEXT_RETRIEVAL",
                "embeddingDimension": 1024, "text": {"truncationMode": "NONE", "value": "text 0"}}}),
            "/model/amazon.nova-2-multimodal-embeddings-v1%3A0/invoke",
        ),
    ];
    for (body, n, first, path) in cases {
        let (_, step) = start(body.clone());
        let calls = calls(&step);
        assert_eq!(calls.len(), n, "{body}");
        let c = &calls[0];
        assert_eq!(sent(c), first, "{body}");
        assert_eq!(header(c, ":method"), "POST");
        assert_eq!(header(c, ":path"), path);
        assert_eq!(header(c, ":authority"), "127.0.0.1:9099");
        assert_eq!(header(c, "content-length"), c.body.len().to_string());
        assert!(header(c, "authorization").starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"));
        assert_eq!(c.cluster, "bedrock_callouts");
        assert!(!c
            .headers
            .iter()
            .any(|(k, _)| k == "x-envoy-upstream-rq-timeout-ms"));
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        assert!(!format!("{:?}", c.headers).contains(secret));
    }
}

#[test]
fn cohere_gets_one_call_per_96_inputs_and_titan_one_per_input() {
    let texts: Vec<String> = (0..200).map(|i| format!("t{i}")).collect();
    let cfg = config_with(r#","limits":{"max_concurrent_calls":64}"#, "");
    let (_, step) = start_at(
        Rc::clone(&cfg),
        &json!({"model": COHERE, "input": texts}),
        PATH,
    );
    let sizes: Vec<usize> = calls(&step)
        .iter()
        .map(|c| sent(c)["texts"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![96, 96, 8]);
    let (_, step) = start_at(cfg, &json!({"model": TITAN, "input": texts}), PATH);
    assert_eq!(calls(&step).len(), 64, "the concurrency bound");
}

// ---------------------------------------------------------------- the fan-out

#[test]
fn the_answer_keeps_input_order_whatever_order_calls_answer_in() {
    let cfg = config_with(
        r#","upstream":{"endpoint":"http://127.0.0.1:9099"},"limits":{"max_concurrent_calls":3}"#,
        "",
    );
    let texts: Vec<String> = (0..7).map(|i| format!("t{i}")).collect();
    let (mut ex, step) = start_at(
        cfg,
        &json!({"model": TITAN, "input": texts, "dimensions": 256}),
        PATH,
    );
    let mut waiting: Vec<Callout> = calls(&step);
    assert_eq!(waiting.len(), 3, "at most 3 in flight");
    let mut done = None;
    // Answer the newest call first each time: each answer lets one more out.
    while let Some(c) = waiting.pop() {
        let i = c.id as usize;
        assert_eq!(sent(&c)["inputText"], format!("t{i}"));
        let step = answer(&mut ex, c.id, 200, &[], &titan_answer(i, 256, 2));
        match step.effects.as_slice() {
            [Effect::Dispatch { calls }] => {
                assert_eq!(calls.len(), 1, "one out per one in");
                waiting.extend(calls.iter().cloned());
            }
            [Effect::LocalReply { .. }] => done = Some(reply(&step)),
            [] => {}
            other => panic!("{other:?}"),
        }
        assert!(waiting.len() <= 3);
    }
    let (status, list) = done.expect("answered once all calls did");
    assert_eq!(status, 200);
    assert_eq!(list["object"], "list");
    assert_eq!(list["model"], TITAN);
    assert_eq!(
        list["usage"],
        json!({"prompt_tokens": 14, "total_tokens": 14})
    );
    let data = list["data"].as_array().unwrap();
    assert_eq!(data.len(), 7);
    for (i, item) in data.iter().enumerate() {
        assert_eq!(item["object"], "embedding");
        assert_eq!(item["index"], i);
        let got: Vec<f32> = serde_json::from_value(item["embedding"].clone()).unwrap();
        assert_eq!(got, vector(i, 256));
    }
    let record = ex.record();
    assert_eq!(
        record.usage.map(|u| (u.input, u.output, u.total)),
        Some((14, 0, 14))
    );
    assert_eq!(record.status, Some(200));
}

#[test]
fn base64_is_the_little_endian_float32_bytes_as_an_independent_encoder_writes_them() {
    let texts = vec!["a".to_string(), "b".to_string()];
    let (mut ex, step) =
        start(json!({"model": COHERE, "input": texts, "encoding_format": "base64"}));
    let [c] = calls(&step).try_into().unwrap();
    let vectors = vec![vector(0, 1024), vector(1, 1024)];
    // Cohere v4 style: by type; the count in the header.
    let body = serde_json::to_vec(&json!({"id": "x", "embeddings": {"float": vectors},
        "response_type": "embeddings_by_type", "texts": ["a", "b"]}))
    .unwrap();
    let step = answer(
        &mut ex,
        c.id,
        200,
        &[("x-amzn-bedrock-input-token-count", "9")],
        &body,
    );
    let (status, list) = reply(&step);
    assert_eq!(status, 200);
    assert_eq!(list["usage"]["prompt_tokens"], 9);
    for (i, v) in vectors.iter().enumerate() {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(list["data"][i]["embedding"], oracle_base64(&bytes));
    }
}

#[test]
fn one_failure_answers_at_once_and_every_later_answer_is_ignored() {
    let texts: Vec<String> = (0..4).map(|i| format!("t{i}")).collect();
    let (mut ex, step) = start(json!({"model": TITAN, "input": texts}));
    let all = calls(&step);
    assert_eq!(all.len(), 4);
    let ok = answer(&mut ex, all[0].id, 200, &[], &titan_answer(0, 1024, 1));
    assert!(ok.effects.is_empty(), "{ok:?}");
    let failed = answer(
        &mut ex,
        all[2].id,
        429,
        &[(
            "x-amzn-errortype",
            "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
        )],
        br#"{"message":"Too many requests"}"#,
    );
    let (status, err) = reply(&failed);
    assert_eq!(
        (status, &err["error"]["type"]),
        (429, &json!("rate_limit_error"))
    );
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("ThrottlingException"));
    for late in [&all[1], &all[3]] {
        let step = answer(&mut ex, late.id, 200, &[], &titan_answer(1, 1024, 1));
        assert!(
            step.effects.is_empty(),
            "a late answer changes nothing: {step:?}"
        );
    }
    assert_eq!(ex.record().status, Some(429));
    assert!(ex.record().usage.is_none());
}

#[test]
fn a_call_with_no_answer_or_a_bad_answer_fails_the_batch() {
    let (mut ex, step) = start(json!({"model": TITAN, "input": ["a", "b"]}));
    let all = calls(&step);
    let step = ex.on_callout_response(all[0].id, None, &Vec::<(String, String)>::new(), b"", t0());
    let (status, err) = reply(&step);
    assert_eq!(
        (status, &err["error"]["code"]),
        (503, &json!("upstream_unavailable"))
    );

    let (mut ex, step) = start(json!({"model": TITAN, "input": ["a"], "dimensions": 256}));
    let [c] = calls(&step).try_into().unwrap();
    let step = answer(&mut ex, c.id, 200, &[], &titan_answer(0, 1024, 1));
    let (status, err) = reply(&step);
    assert_eq!(
        (status, &err["error"]["code"]),
        (502, &json!("bad_upstream_response"))
    );
    assert!(err["error"]["message"].as_str().unwrap().contains("1024"));
}

#[test]
fn a_malformed_answer_that_echoes_a_credential_is_refused_without_quoting_it() {
    // Found by the embeddings_answer fuzz target: serde's own message quotes
    // the value it did not expect, and the answer may hold what the request carried.
    let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    let (mut ex, step) = start(json!({"model": TITAN, "input": ["a"]}));
    let [c] = calls(&step).try_into().unwrap();
    let body = json!({"embedding": format!("0.25, {secret} 0.25"), "inputTextTokenCount": 1});
    let step = answer(&mut ex, c.id, 200, &[], body.to_string().as_bytes());
    let (status, err) = reply(&step);
    assert_eq!(
        (status, &err["error"]["code"]),
        (502, &json!("bad_upstream_response"))
    );
    let message = err["error"]["message"].as_str().unwrap();
    assert!(
        !message.contains(secret) && !message.contains("0.25"),
        "{message}"
    );
    assert!(
        message.contains("not of the expected shape at line 1"),
        "{message}"
    );
}

#[test]
fn one_deadline_bounds_the_whole_batch() {
    let cfg = config_with(r#","limits":{"max_concurrent_calls":1}"#, "");
    let (mut ex, step) = start_at(
        cfg,
        &json!({"model": TITAN, "input": ["a", "b", "c"], "timeout": 10}),
        PATH,
    );
    let [first] = calls(&step).try_into().unwrap();
    assert_eq!(first.timeout, Duration::from_secs(10));
    let hdrs = vec![(":status".to_string(), "200".to_string())];
    // 4 s later the second call may take the 6 s left.
    let step = ex.on_callout_response(
        first.id,
        Some(200),
        &hdrs,
        &titan_answer(0, 1024, 1),
        t0() + Duration::from_secs(4),
    );
    let [second] = calls(&step).try_into().unwrap();
    assert_eq!(second.timeout, Duration::from_secs(6));
    // It answers after the deadline: no time is left for the third call.
    let step = ex.on_callout_response(
        second.id,
        Some(200),
        &hdrs,
        &titan_answer(1, 1024, 1),
        t0() + Duration::from_secs(11),
    );
    let (status, err) = reply(&step);
    assert_eq!(
        (status, &err["error"]["code"]),
        (504, &json!("upstream_timeout"))
    );
    assert!(err["error"]["message"].as_str().unwrap().contains("10 s"));

    // A call Envoy timed out (its own 504, no Bedrock error type) is the same timeout.
    let (mut ex, step) = start(json!({"model": TITAN, "input": ["a", "b"], "timeout": 3}));
    let all = calls(&step);
    let step = answer(&mut ex, all[0].id, 504, &[], b"upstream request timeout");
    let (status, err) = reply(&step);
    assert_eq!(
        (status, &err["error"]["type"]),
        (504, &json!("timeout_error"))
    );
    assert!(err["error"]["message"].as_str().unwrap().contains("3 s"));
}

#[test]
fn the_batch_timeout_is_capped_by_the_configuration_and_by_sigv4_s_five_minutes() {
    let (_, step) = start(json!({"model": TITAN, "input": "a"}));
    assert_eq!(calls(&step)[0].timeout, Duration::from_secs(300));
    let cfg = config_with(r#","limits":{"max_timeout_seconds":20}"#, "");
    let (_, step) = start_at(
        cfg,
        &json!({"model": TITAN, "input": "a", "timeout": 90}),
        PATH,
    );
    assert_eq!(calls(&step)[0].timeout, Duration::from_secs(20));
}

#[test]
fn a_refused_dispatch_fails_closed() {
    let (mut ex, step) = start(json!({"model": TITAN, "input": ["a", "b"]}));
    let refused = ex.on_host_refused(&step.effects[0]);
    let (status, err) = reply(&refused);
    assert_eq!(
        (status, &err["error"]["code"]),
        (500, &json!("gateway_misconfigured"))
    );
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("bedrock_callouts"));
    let later = answer(&mut ex, 0, 200, &[], &titan_answer(0, 1024, 1));
    assert!(later.effects.is_empty());
}

#[test]
fn envoy_answering_during_the_batch_abandons_it() {
    let (mut ex, step) = start(json!({"model": TITAN, "input": ["a", "b"]}));
    let all = calls(&step);
    let hdrs: Vec<(String, String)> = vec![(":status".into(), "408".into())];
    let step = ex.on_response_headers(408, &hdrs, false);
    assert_eq!(step.verdict, Verdict::Continue);
    let body = ex.on_response_body(b"request timeout", true);
    let Effect::ReplaceResponseBody(b) = &body.effects[0] else {
        panic!("{body:?}")
    };
    let err: Value = serde_json::from_slice(b).unwrap();
    assert_eq!(err["error"]["type"], "timeout_error");
    let late = answer(&mut ex, all[0].id, 200, &[], &titan_answer(0, 1024, 1));
    assert!(late.effects.is_empty());
}

#[test]
fn envoy_signed_projects_keep_the_marker_for_the_callout_route() {
    let cfg = config_with(
        r#","envoy_signer":{"region":"us-west-2"}"#,
        r#","policy":{"credentials":"envoy"}"#,
    );
    let mut ex = Exchange::new(cfg);
    let h: Vec<(String, String)> = headers(PATH)
        .into_iter()
        .filter(|(k, _)| !k.starts_with("aws-"))
        .collect();
    let _ = ex.on_request_headers(&h, false);
    let body = serde_json::to_vec(&json!({"model": TITAN, "input": "a"})).unwrap();
    let step = ex.on_request_body(&body, t0());
    let [c] = calls(&step).try_into().unwrap();
    assert_eq!(header(&c, "x-bedrock-openai-signer"), "envoy");
    assert_eq!(
        header(&c, ":authority"),
        "bedrock-runtime.us-west-2.amazonaws.com"
    );
    assert!(!c.headers.iter().any(|(k, _)| k == "authorization"));
}

#[test]
fn the_models_list_has_the_embedding_models() {
    let mut ex = Exchange::new(config());
    let mut h = headers("/v1/amazon-bedrock/models");
    h[0].1 = "GET".into();
    let step = ex.on_request_headers(&h, true);
    let (status, list) = reply(&step);
    assert_eq!(status, 200);
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    for id in [
        TITAN,
        COHERE,
        "cohere.embed-v4:0",
        "global.cohere.embed-v4:0",
        "amazon.nova-2-multimodal-embeddings-v1:0",
    ] {
        assert!(ids.contains(&id), "{id} missing");
    }
}

#[test]
fn declared_models_may_name_an_embedding_base() {
    let arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/emb1";
    let cfg = config_with(
        &format!(
            r#","models":[{{"id":"embed","target":"us.cohere.embed-v4:0"}},{{"id":"{arn}","base":"amazon.titan-embed-text-v2:0"}}]"#
        ),
        "",
    );
    let (_, step) = start_at(
        Rc::clone(&cfg),
        &json!({"model": "embed", "input": ["a"], "dimensions": 512}),
        PATH,
    );
    let [c] = calls(&step).try_into().unwrap();
    assert_eq!(header(&c, ":path"), "/model/us.cohere.embed-v4%3A0/invoke");
    assert_eq!(sent(&c)["output_dimension"], 512);
    let (_, step) = start_at(Rc::clone(&cfg), &json!({"model": arn, "input": "a"}), PATH);
    let [c] = calls(&step).try_into().unwrap();
    assert!(header(&c, ":path").starts_with("/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2Femb1/invoke"));
    assert_eq!(sent(&c), json!({"inputText": "a"}));
    // A declared embedding model is no chat model.
    let chat = json!({"model": "embed", "messages": [{"role": "user", "content": "hi"}]});
    let (_, step) = start_at(cfg, &chat, "/v1/amazon-bedrock/chat/completions");
    assert_eq!(reply(&step).1["error"]["param"], "model");
}
