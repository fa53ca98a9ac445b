//! The routes around `POST /responses`: a stored response is a 404 that
//! says the gateway keeps none; the endpoint is named in the record.

use super::harness::*;
use bedrock_openai_filter::exchange::{Effect, Exchange};
use serde_json::Value;

#[test]
fn stored_responses_are_a_404_saying_the_gateway_keeps_none() {
    for (method, path) in [
        ("GET", "/v1/amazon-bedrock/responses/resp_123"),
        ("DELETE", "/v1/amazon-bedrock/responses/resp_123"),
        ("GET", "/v1/amazon-bedrock/responses/resp_123/input_items"),
        ("POST", "/v1/amazon-bedrock/responses/resp_123/cancel"),
    ] {
        let mut ex = Exchange::new(config());
        let step = ex.on_request_headers(&headers(method, path), true);
        let Some(Effect::LocalReply { status, body, .. }) = step.effects.first() else {
            panic!("{method} {path}: {step:?}");
        };
        let e: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(*status, 404, "{method} {path}");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("keeps no state"),
            "{e}"
        );
        assert_eq!(ex.record().endpoint, Some("responses"));
    }
    let mut ex = Exchange::new(config());
    let step = ex.on_request_headers(&headers("GET", "/v1/amazon-bedrock/responses"), true);
    assert!(
        matches!(
            step.effects.first(),
            Some(Effect::LocalReply { status: 405, .. })
        ),
        "{step:?}"
    );
}

#[test]
fn the_endpoint_is_recorded_for_metrics_and_the_access_log() {
    let run = send(&serde_json::json!({"model": HAIKU, "input": "x"}));
    assert_eq!(run.ex.record().endpoint, Some("responses"));
    let mut chat = Exchange::new(config());
    let _ = chat.on_request_headers(
        &headers("POST", "/v1/amazon-bedrock/chat/completions"),
        false,
    );
    assert_eq!(chat.record().endpoint, Some("chat_completions"));
}
