//! Embeddings request side: an arbitrary body through the embeddings parser
//! and through `Exchange` on the embeddings path. A refusal is a 4xx OpenAI
//! error; an accepted body becomes calls whose bodies are JSON of the
//! model's family, one per input (per 96 for Cohere), at most
//! `max_concurrent_calls` at first, each with a matching content-length and
//! no credential in sight.
//!
//! Input: the request body, as a client sends it.
#![no_main]

use bedrock_openai_filter::api::embeddings::request::parse;
use bedrock_openai_filter::bedrock::embed::request_body;
use bedrock_openai_filter::catalog::resolve::Models;
use bedrock_openai_filter::exchange::{BodyProgress, Effect, Exchange, Verdict};
use fuzz_support::{check_error_json, check_step, config, good_headers, now, CALLER_SECRETS};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|body: &[u8]| {
    let parsed = parse(body, &Models::default());
    match &parsed {
        Ok(req) => {
            assert!(!req.inputs.is_empty() && req.inputs.len() <= 2048);
            assert!(req.inputs.iter().all(|s| !s.is_empty()));
            if let Some(d) = req.dimensions {
                assert!(
                    req.model.info.dimensions.contains(&d),
                    "dimensions {d} not offered"
                );
            }
            let per_call = usize::from(req.model.info.inputs_per_call);
            for texts in req.inputs.chunks(per_call) {
                let sent = request_body(req.model.info.family, texts, req.dimensions, req.purpose)
                    .unwrap_or_else(|e| panic!("InvokeModel body does not serialize: {e}"));
                let _: Value = serde_json::from_slice(&sent)
                    .unwrap_or_else(|e| panic!("InvokeModel body is not JSON: {e}"));
            }
        }
        Err(e) => {
            assert!(
                (400..500).contains(&e.status),
                "parse error status {}",
                e.status
            );
            check_error_json(&e.to_json());
        }
    }
    let secrets: Vec<&str> = CALLER_SECRETS
        .into_iter()
        .filter(|s| !String::from_utf8_lossy(body).contains(s))
        .collect();
    let mut headers = good_headers();
    for (name, value) in &mut headers {
        if name == ":path" {
            *value = "/v1/amazon-bedrock/embeddings".into();
        }
    }
    let mut ex = Exchange::new(config(None));
    let step = ex.on_request_headers(&headers, false);
    assert_eq!(step.verdict, Verdict::Pause);
    if !matches!(
        ex.on_request_body_progress(body.len(), true),
        BodyProgress::Ready
    ) {
        return;
    }
    let step = ex.on_request_body(body, now());
    if let Some((status, _)) = check_step(&step, &secrets) {
        assert!(
            parsed.is_err() || status >= 400,
            "accepted body refused: {step:?}"
        );
        return;
    }
    let [Effect::Dispatch { calls }] = step.effects.as_slice() else {
        panic!("an accepted embeddings body did not become calls: {step:?}");
    };
    let Ok(req) = parsed else {
        panic!("the exchange accepted what the parser refused");
    };
    let per_call = usize::from(req.model.info.inputs_per_call);
    let total = req.inputs.len().div_ceil(per_call);
    assert_eq!(
        calls.len(),
        total.min(8),
        "first dispatch: min(calls, max_concurrent_calls)"
    );
    for c in calls {
        let path = c
            .headers
            .iter()
            .find(|(n, _)| n == ":path")
            .map(|(_, v)| v.as_str());
        assert!(
            path.is_some_and(|p| p.starts_with("/model/") && p.ends_with("/invoke")),
            "{path:?}"
        );
        let _: Value = serde_json::from_slice(&c.body)
            .unwrap_or_else(|e| panic!("call body is not JSON: {e}"));
    }
});
