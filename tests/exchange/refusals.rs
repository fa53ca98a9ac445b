//! Requests refused before anything is forwarded: bad headers, methods,
//! sizes and bodies become local OpenAI errors, and every later callback
//! passes through.

use crate::effects::{assert_reply, haystack, local_reply};
use crate::script::*;
use bedrock_openai_filter::exchange::Exchange;
use serde_json::json;
use std::rc::Rc;

/// (name, request headers, end_of_stream, expected status, expected param).
pub type HeaderCase = (
    &'static str,
    Vec<(String, String)>,
    bool,
    u16,
    Option<&'static str>,
);

#[test]
pub fn header_errors_are_local_replies() {
    let g = good_headers;
    let cases: Vec<HeaderCase> = vec![
        (
            "missing project key",
            set(g(), "project-api-key", None),
            false,
            401,
            Some("Project-Api-Key"),
        ),
        (
            "wrong project key",
            set(g(), "project-api-key", Some("nope")),
            false,
            401,
            Some("Project-Api-Key"),
        ),
        (
            "empty project key",
            set(g(), "project-api-key", Some("")),
            false,
            401,
            Some("Project-Api-Key"),
        ),
        (
            "project key differs in case",
            set(g(), "project-api-key", Some("TEST-PROJECT-KEY")),
            false,
            401,
            Some("Project-Api-Key"),
        ),
        (
            "duplicate project key",
            add(g(), "Project-Api-Key", KEY),
            false,
            401,
            Some("Project-Api-Key"),
        ),
        (
            "duplicate project key, other case",
            add(g(), "project-api-key", "nope"),
            false,
            401,
            Some("Project-Api-Key"),
        ),
        (
            "wrong key beats wrong path",
            set(
                set(g(), "project-api-key", Some("nope")),
                ":path",
                Some("/x"),
            ),
            false,
            401,
            Some("Project-Api-Key"),
        ),
        (
            "missing key beats bad region",
            set(
                set(g(), "project-api-key", None),
                "aws-region-name",
                Some("../x"),
            ),
            false,
            401,
            Some("Project-Api-Key"),
        ),
        (
            "wrong path",
            set(g(), ":path", Some("/v1/chat/completions")),
            false,
            404,
            None,
        ),
        (
            "path with suffix",
            set(g(), ":path", Some("/v1/amazon-bedrock/chat/completions/x")),
            false,
            404,
            None,
        ),
        (
            "content-type text/plain",
            set(g(), "content-type", Some("text/plain")),
            false,
            415,
            Some("Content-Type"),
        ),
        (
            "content-type missing",
            set(g(), "content-type", None),
            false,
            415,
            Some("Content-Type"),
        ),
        (
            "content-length over the cap",
            set(g(), "content-length", Some("4194305")),
            false,
            413,
            None,
        ),
        ("headers end the stream", g(), true, 400, Some("body")),
    ];
    let mut cases = cases;
    for name in [
        "aws-access-key-id",
        "aws-secret-access-key",
        "aws-region-name",
    ] {
        cases.push((
            "missing aws header",
            set(g(), name, None),
            false,
            400,
            Some(name),
        ));
        cases.push((
            "blank aws header",
            set(g(), name, Some(" ")),
            false,
            400,
            Some(name),
        ));
        cases.push((
            "duplicate aws header",
            add(g(), name, "x"),
            false,
            400,
            Some(name),
        ));
    }
    for region in [
        "us-east-1.evil.example",
        "us-east-1/..",
        "us-east-1\r\nx: y",
        "us-east-1@evil.example",
        "US-EAST-1",
        "evil.example#",
    ] {
        cases.push((
            "region injection",
            set(g(), "aws-region-name", Some(region)),
            false,
            400,
            Some("aws-region-name"),
        ));
    }
    cases.push((
        "blank session token",
        add(g(), "aws-session-token", ""),
        false,
        400,
        Some("aws-session-token"),
    ));
    for (name, headers, end, status, param) in cases {
        let mut ex = Exchange::new(config());
        let out = feed(&mut ex, Event::ReqHeaders(headers.clone(), end));
        let body = assert_reply(name, &out, status, param);
        if status == 401 {
            assert_eq!(body["error"]["code"], "invalid_api_key", "{name}");
            assert_eq!(body["error"]["type"], "authentication_error", "{name}");
        }
        let all = haystack(&[out]);
        assert!(!all.contains(SECRET) && !all.contains(KEY), "{name}: {all}");
        assert_passes_through(name, &mut ex);
    }
}

#[test]
pub fn wrong_method_is_405_with_allow() {
    for method in ["GET", "PUT", "post"] {
        let mut ex = Exchange::new(config());
        let out = feed(
            &mut ex,
            Event::ReqHeaders(set(good_headers(), ":method", Some(method)), false),
        );
        let (status, headers, _) = local_reply(&out);
        assert_eq!(status, 405, "{method}");
        assert!(
            headers
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("allow") && v == "POST"),
            "{method}: {headers:?}"
        );
        assert_passes_through(method, &mut ex);
    }
}

#[test]
pub fn body_over_the_cap_is_413() {
    let cfg = config_with(r#","limits":{"max_request_bytes":1024}"#);
    // Progress crosses the cap before the end of the stream.
    let mut ex = Exchange::new(Rc::clone(&cfg));
    let outs = run_on(
        &mut ex,
        vec![
            Event::ReqHeaders(set(good_headers(), "content-length", None), false),
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
            Event::ReqHeaders(set(good_headers(), "content-length", None), false),
            Event::ReqBodyProgress(1024, true),
        ],
    );
    assert_eq!(outs[1], Out::Ready);
    let outs = run(
        Rc::clone(&cfg),
        vec![
            Event::ReqHeaders(set(good_headers(), "content-length", None), false),
            Event::ReqBodyProgress(1025, true),
        ],
    );
    assert_reply("end over cap", &outs[1], 413, None);

    // Declared content-length over the cap fails at the headers.
    let mut ex = Exchange::new(cfg);
    let out = feed(
        &mut ex,
        Event::ReqHeaders(set(good_headers(), "content-length", Some("1025")), false),
    );
    assert_reply("content-length over cap", &out, 413, None);
    assert_passes_through("content-length over cap", &mut ex);
}

#[test]
pub fn body_errors_are_local_replies_and_nothing_is_forwarded() {
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("not json", b"{not json".to_vec(), 400, "body"),
        ("empty", Vec::new(), 400, "body"),
        ("array", b"[]".to_vec(), 400, "body"),
        (
            "nested 10000 deep",
            format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
            400,
            "body",
        ),
        (
            "temperature 3",
            json!({"model": SEED_MODEL, "messages": [{"role": "user", "content": "x"}], "temperature": 3})
                .to_string()
                .into_bytes(),
            400,
            "temperature",
        ),
        (
            "unknown model",
            json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]})
                .to_string()
                .into_bytes(),
            404,
            "model",
        ),
        (
            "bad role",
            json!({"model": SEED_MODEL, "messages": [{"role": "user", "content": "x"}, {"role": "bot", "content": "y"}]})
                .to_string()
                .into_bytes(),
            400,
            "messages.[1].role",
        ),
        (
            "only system",
            json!({"model": SEED_MODEL, "messages": [{"role": "system", "content": "x"}]})
                .to_string()
                .into_bytes(),
            400,
            "messages",
        ),
    ];
    for (name, body, status, param) in cases {
        let mut ex = Exchange::new(config());
        let outs = run_on(&mut ex, request_script(good_headers(), &body));
        assert_eq!(outs[2], Out::Ready, "{name}");
        assert_reply(name, &outs[3], status, Some(param));
        assert_passes_through(name, &mut ex);
    }
}
