//! Embeddings answer side: an arbitrary InvokeModel answer for each family,
//! read directly and through `Exchange` as the answer of every call of a
//! good request. Reading never panics; what it accepts has one finite vector
//! per text; the exchange answers once, with OpenAI's list (in order, every
//! vector as asked) or an OpenAI error without a credential.
//!
//! Input: `[family][status][flags][token header (len+bytes)][body…]`.
//! `family` picks the model (mod 5: Titan V2, Titan G1, Cohere v3, Cohere v4,
//! Nova); `status` indexes a table (0 = 200); `flags` bit 0: base64 answer;
//! bit 1: send `x-amzn-bedrock-input-token-count`; bit 2: send `x-amzn-errortype`.
#![no_main]

use bedrock_openai_filter::bedrock::embed::answer::read;
use bedrock_openai_filter::catalog::EmbeddingFamily;
use bedrock_openai_filter::exchange::{BodyProgress, Effect, Exchange};
use fuzz_support::{
    check_error_json, check_no_secret, config, good_headers, now, Input, AWS_SECRETS,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const MODELS: [(&str, EmbeddingFamily, usize); 5] = [
    (
        "amazon.titan-embed-text-v2:0",
        EmbeddingFamily::TitanV2,
        256,
    ),
    ("amazon.titan-embed-text-v1", EmbeddingFamily::TitanG1, 1536),
    ("cohere.embed-english-v3", EmbeddingFamily::CohereV3, 1024),
    ("cohere.embed-v4:0", EmbeddingFamily::CohereV4, 256),
    (
        "amazon.nova-2-multimodal-embeddings-v1:0",
        EmbeddingFamily::Nova,
        256,
    ),
];
const STATUSES: [u16; 8] = [200, 400, 403, 429, 500, 503, 504, 0];

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let (model, family, dims) = MODELS[usize::from(input.byte()) % MODELS.len()];
    let status = STATUSES[usize::from(input.byte()) % STATUSES.len()];
    let flags = input.byte();
    let count = input.string();
    let body = input.rest();

    for texts in [1, 2] {
        if let Ok(v) = read(family, body, texts) {
            assert_eq!(v.vectors.len(), texts);
            assert!(v.vectors.iter().flatten().all(|x| x.is_finite()));
        }
    }

    let encoding = if flags & 1 != 0 { "base64" } else { "float" };
    let dimensions = if matches!(
        family,
        EmbeddingFamily::TitanV2 | EmbeddingFamily::CohereV4 | EmbeddingFamily::Nova
    ) {
        format!(r#","dimensions":{dims}"#)
    } else {
        String::new()
    };
    let request = format!(
        r#"{{"model":"{model}","input":["one","two"],"encoding_format":"{encoding}"{dimensions}}}"#
    );
    let mut headers = good_headers();
    for (name, value) in &mut headers {
        if name == ":path" {
            *value = "/v1/amazon-bedrock/embeddings".into();
        }
    }
    let mut ex = Exchange::new(config(None));
    let _ = ex.on_request_headers(&headers, false);
    assert_eq!(
        ex.on_request_body_progress(request.len(), true),
        BodyProgress::Ready
    );
    let step = ex.on_request_body(request.as_bytes(), now());
    let [Effect::Dispatch { calls }] = step.effects.as_slice() else {
        panic!("fixture request refused: {step:?}");
    };
    let mut answer_headers = vec![(":status".to_string(), status.to_string())];
    if flags & 2 != 0 {
        answer_headers.push(("x-amzn-bedrock-input-token-count".into(), count));
    }
    if flags & 4 != 0 {
        answer_headers.push((
            "x-amzn-errortype".into(),
            "ValidationException:http://x/".into(),
        ));
    }
    let status = (status != 0).then_some(status);
    let mut replies = Vec::new();
    for c in calls.clone() {
        let step = ex.on_callout_response(c.id, status, &answer_headers, body, now());
        replies.extend(step.effects.into_iter().map(|e| match e {
            Effect::LocalReply { status, body, .. } => (status, body),
            Effect::Dispatch { .. } => panic!("a two-input request needs no second dispatch"),
            other => panic!("unexpected effect {other:?}"),
        }));
    }
    let [(reply_status, reply)] = replies.as_slice() else {
        panic!("not one answer: {replies:?}");
    };
    if *reply_status == 200 {
        let v: Value =
            serde_json::from_slice(reply).unwrap_or_else(|e| panic!("list is not JSON: {e}"));
        assert_eq!(v["object"], "list");
        let data = v["data"]
            .as_array()
            .unwrap_or_else(|| panic!("no data: {v}"));
        assert_eq!(data.len(), 2);
        for (i, item) in data.iter().enumerate() {
            assert_eq!(item["index"], i);
            match &item["embedding"] {
                Value::String(s) => assert_eq!(s.len(), (dims * 4).div_ceil(3) * 4),
                Value::Array(a) => assert_eq!(a.len(), dims),
                other => panic!("embedding {other}"),
            }
        }
    } else {
        assert!((400..600).contains(reply_status), "status {reply_status}");
        let message = check_error_json(reply);
        check_no_secret(&message, &AWS_SECRETS, "embeddings error");
    }
});
