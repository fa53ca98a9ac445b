//! Requests refused at their body: over the size cap (by progress, at the
//! end, or as declared), not JSON, or not a valid chat request. Each is a
//! local OpenAI error, nothing is forwarded, and later callbacks pass through.

use crate::effects::{assert_reply, req_set};
use crate::script::*;
use bedrock_openai_filter::exchange::{Effect, Exchange};
use serde_json::{json, Value};
use std::rc::Rc;

/// A request body refused with a local reply once it has all arrived.
struct BodyCase {
    /// What the row is about, in failure messages.
    name: &'static str,
    /// The body the caller sends (after good headers).
    body: Vec<u8>,
    /// The status of the local reply.
    status: u16,
    /// The `param` of its OpenAI error.
    param: &'static str,
}

/// `v` as the bytes of a request body.
fn body(v: Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

#[test]
fn body_over_the_cap_is_413() {
    let cfg = config_with(r#","limits":{"max_request_bytes":1024}"#);
    // Progress crosses the cap before the end of the stream.
    let mut ex = Exchange::new(Rc::clone(&cfg));
    let outs = run_on(
        &mut ex,
        vec![
            Event::ReqHeaders(good_headers().without("content-length"), false),
            Event::ReqBodyProgress(1000, false),
            Event::ReqBodyProgress(1025, false),
        ],
    );
    assert_eq!(outs[1], pause());
    assert_reply("progress over cap", &outs[2], 413, None);
    assert_passes_through("progress over cap", &mut ex);

    // Exactly the cap is fine; one more byte at the end is not.
    let outs = run(
        Rc::clone(&cfg),
        vec![
            Event::ReqHeaders(good_headers().without("content-length"), false),
            Event::ReqBodyProgress(1024, true),
        ],
    );
    assert_eq!(outs[1], Out::Ready);
    let outs = run(
        Rc::clone(&cfg),
        vec![
            Event::ReqHeaders(good_headers().without("content-length"), false),
            Event::ReqBodyProgress(1025, true),
        ],
    );
    assert_reply("end over cap", &outs[1], 413, None);

    // Declared content-length over the cap fails at the headers.
    let mut ex = Exchange::new(cfg);
    let out = feed(
        &mut ex,
        Event::ReqHeaders(good_headers().with("content-length", "1025"), false),
    );
    assert_reply("content-length over cap", &out, 413, None);
    assert_passes_through("content-length over cap", &mut ex);
}

#[test]
fn body_errors_are_local_replies_and_nothing_is_forwarded() {
    let cases = vec![
        BodyCase {
            name: "not json",
            body: b"{not json".to_vec(),
            status: 400,
            param: "body",
        },
        BodyCase {
            name: "empty",
            body: Vec::new(),
            status: 400,
            param: "body",
        },
        BodyCase {
            name: "array",
            body: b"[]".to_vec(),
            status: 400,
            param: "body",
        },
        BodyCase {
            name: "nested 10000 deep",
            body: format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
            status: 400,
            param: "body",
        },
        BodyCase {
            name: "temperature 3",
            body: body(json!({
                "model": SEED_MODEL,
                "messages": [{"role": "user", "content": "x"}],
                "temperature": 3
            })),
            status: 400,
            param: "temperature",
        },
        BodyCase {
            name: "unknown model",
            body: body(json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]})),
            status: 404,
            param: "model",
        },
        BodyCase {
            name: "bad role",
            body: body(json!({
                "model": SEED_MODEL,
                "messages": [{"role": "user", "content": "x"}, {"role": "bot", "content": "y"}]
            })),
            status: 400,
            param: "messages.[1].role",
        },
        BodyCase {
            name: "only system",
            body: body(
                json!({"model": SEED_MODEL, "messages": [{"role": "system", "content": "x"}]}),
            ),
            status: 400,
            param: "messages",
        },
    ];
    for BodyCase {
        name,
        body,
        status,
        param,
    } in cases
    {
        let mut ex = Exchange::new(config());
        let outs = run_on(&mut ex, request_script(good_headers(), &body));
        assert_eq!(outs[2], Out::Ready, "{name}");
        assert_reply(name, &outs[3], status, Some(param));
        // Nothing is forwarded: no step sets a path or a request body.
        for out in &outs {
            let Out::Step(step) = out else { continue };
            assert!(
                req_set(&step.effects, ":path").is_empty(),
                "{name}: {step:?}"
            );
            assert!(
                !step
                    .effects
                    .iter()
                    .any(|e| matches!(e, Effect::ReplaceRequestBody(_))),
                "{name}: {step:?}"
            );
        }
        assert_passes_through(name, &mut ex);
    }
}
