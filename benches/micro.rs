//! Native micro-benchmarks of the per-request work the filter does:
//! request translation, SigV4 signing, response translation (plain and
//! streamed). Plain `std::time::Instant` loops, no harness:
//!
//!     cargo bench --bench micro
//!
//! (Cargo.toml: `[[bench]] name = "micro"`, `harness = false`.) Each line
//! `MICRO {json}` is read by bench/run.py; the rest is for people.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use bedrock_openai_filter::api::chat::chunks::StreamContext;
use bedrock_openai_filter::api::chat::completion::{to_chat_completion, ResponseContext};
use bedrock_openai_filter::api::chat::request::parse;
use bedrock_openai_filter::api::chat::stream::StreamTranslator;
use bedrock_openai_filter::aws::sigv4::{sign_request, Credentials, SignRequest, SigningKeys};
use bedrock_openai_filter::bedrock::embed::answer::read;
use bedrock_openai_filter::catalog::resolve::Models;
use bedrock_openai_filter::catalog::EmbeddingFamily;
use bedrock_openai_filter::conversation::converse::to_converse;
use serde_json::{json, Value};

#[path = "../tests/support/mod.rs"]
mod support;
use support::event_frame;

const MODEL: &str = "meta.llama3-8b-instruct-v1:0";

/// The request every benchmark case sends (bench/run.py's OPENAI_BODY).
fn openai_body() -> Vec<u8> {
    json!({
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Hello!"}
        ],
        "stream": false
    })
    .to_string()
    .into_bytes()
}

/// The fast upstream's canned Converse answer.
fn converse_answer() -> Vec<u8> {
    json!({
        "output": {"message": {"role": "assistant",
                               "content": [{"text": "Hello! How can I help you today?"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 25, "outputTokens": 9, "totalTokens": 34},
        "metrics": {"latencyMs": 120}
    })
    .to_string()
    .into_bytes()
}

fn event(name: &str, mut payload: Value) -> Vec<u8> {
    payload["p"] = json!("abcdefghijklmnopqrstuvwxyzABCDEF");
    event_frame(name, &payload)
}

/// The fast upstream's canned ConverseStream answer (7 frames).
fn converse_stream() -> Vec<u8> {
    let mut out = event("messageStart", json!({"role": "assistant"}));
    for t in ["Hello! ", "How can I ", "help you today?"] {
        out.extend(event(
            "contentBlockDelta",
            json!({"delta": {"text": t}, "contentBlockIndex": 0}),
        ));
    }
    out.extend(event("contentBlockStop", json!({"contentBlockIndex": 0})));
    out.extend(event("messageStop", json!({"stopReason": "end_turn"})));
    out.extend(event(
        "metadata",
        json!({"usage": {"inputTokens": 25, "outputTokens": 9, "totalTokens": 34},
               "metrics": {"latencyMs": 120}}),
    ));
    out
}

struct Stats {
    median_ns: f64,
    mean_ns: f64,
    iters: u64,
}

/// Runs `f` for about `budget` after a short warm-up; the median is over
/// batches of ~1 ms each, so one slow batch does not move it.
fn measure(mut f: impl FnMut(), budget: Duration) -> Stats {
    let warm = Instant::now();
    let mut per_batch = 0u64;
    while warm.elapsed() < Duration::from_millis(100) {
        f();
        per_batch += 1;
    }
    per_batch = (per_batch / 100).max(1); // ≈ 1 ms
    let mut batches = Vec::new();
    let mut iters = 0u64;
    let start = Instant::now();
    while start.elapsed() < budget {
        let t = Instant::now();
        for _ in 0..per_batch {
            f();
        }
        batches.push(t.elapsed().as_nanos() as f64 / per_batch as f64);
        iters += per_batch;
    }
    let total = start.elapsed().as_nanos() as f64;
    batches.sort_by(|a, b| a.total_cmp(b));
    Stats {
        median_ns: batches[batches.len() / 2],
        mean_ns: total / iters as f64,
        iters,
    }
}

fn report(name: &str, s: &Stats) {
    println!(
        "{name:<58} median {:>9.2} µs   mean {:>9.2} µs   ({} iterations)",
        s.median_ns / 1000.0,
        s.mean_ns / 1000.0,
        s.iters
    );
    println!(
        "MICRO {}",
        json!({"name": name, "median_ns": s.median_ns, "mean_ns": s.mean_ns, "iters": s.iters})
    );
}

fn main() {
    // `cargo bench -- <filter>` passes extra arguments; accept and ignore `--bench`.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let budget = Duration::from_millis(
        std::env::var("MICRO_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1500),
    );
    let run = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));

    let body = openai_body();
    let translated = serde_json::to_vec(
        &to_converse(parse(&body, &Models::default()).unwrap().conversation).unwrap(),
    )
    .unwrap();
    let creds = Credentials {
        access_key_id: "AKIASTANDIN000000001".into(),
        secret_access_key: "standinSecretKey/0001+abcdefghijklmnopqrst".into(),
        session_token: None,
    };
    let path = "/model/meta.llama3-8b-instruct-v1%3A0/converse";
    let authority = "bedrock-runtime.us-east-1.amazonaws.com";
    let answer = converse_answer();
    let stream = converse_stream();
    let ctx = ResponseContext {
        id: "chatcmpl-bench",
        model: MODEL,
        created: 1_704_164_645,
        answer_tool: None,
    };

    let mut total = 0.0;
    let name = "request translation (parse + to_converse + JSON encode)";
    if run(name) {
        let s = measure(
            || {
                let req = parse(black_box(&body), &Models::default()).unwrap();
                let converse = to_converse(req.conversation).unwrap();
                black_box(serde_json::to_vec(&converse).unwrap());
            },
            budget,
        );
        total += s.median_ns;
        report(name, &s);
    }
    // A fresh cache per call measures the first request of a caller and day.
    let sign = |keys: &SigningKeys| {
        let req = SignRequest {
            authority,
            path,
            body: black_box(&translated),
            region: "us-east-1",
        };
        black_box(sign_request(&req, &creds, SystemTime::now(), keys).unwrap());
    };
    let name = "SigV4 signing (sign_request, body hash included, cached key)";
    if run(name) {
        let keys = SigningKeys::new();
        let s = measure(|| sign(&keys), budget);
        total += s.median_ns;
        report(name, &s);
    }
    let name = "SigV4 signing, first request of a caller and day (key derived)";
    if run(name) {
        let s = measure(|| sign(&SigningKeys::new()), budget);
        report(name, &s);
    }
    let name = "response translation (Converse JSON -> chat.completion)";
    if run(name) {
        let s = measure(
            || {
                black_box(to_chat_completion(black_box(&answer), &ctx).unwrap());
            },
            budget,
        );
        total += s.median_ns;
        report(name, &s);
    }
    let name = "stream translation (7 event-stream frames -> SSE)";
    if run(name) {
        let s = measure(
            || {
                let mut tr = StreamTranslator::new(
                    StreamContext {
                        id: "chatcmpl-bench".into(),
                        model: MODEL.into(),
                        created: 1_704_164_645,
                        include_usage: true,
                        answer_tool: None,
                    },
                    1024 * 1024,
                );
                let mut out = tr.feed(black_box(&stream));
                out.extend(tr.finish());
                black_box(out);
            },
            budget,
        );
        report(name, &s);
    }
    let name = "embeddings answer read (Titan V2, 1,024 values, sent twice)";
    if run(name) {
        let vector: Vec<f64> = (0..1024)
            .map(|i| (((i * 7919) % 2000) as f64 - 1000.0) / 31623.0)
            .collect();
        let titan = serde_json::to_vec(&json!({
            "embedding": vector, "embeddingsByType": {"float": vector}, "inputTextTokenCount": 7
        }))
        .unwrap();
        let s = measure(
            || {
                black_box(read(EmbeddingFamily::TitanV2, black_box(&titan), 1).unwrap());
            },
            budget,
        );
        report(name, &s);
    }
    if run("request translation") && run("SigV4") && run("response translation") {
        println!(
            "{:<58} median {:>9.2} µs",
            "non-streaming request, sum of the three medians",
            total / 1000.0
        );
        println!(
            "MICRO {}",
            json!({"name": "non-streaming request: sum of the three medians",
                   "median_ns": total, "mean_ns": total, "iters": 0})
        );
    }
}
