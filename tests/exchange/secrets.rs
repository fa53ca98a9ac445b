//! Secrets and withheld headers: the caller's credentials and project key
//! never reach an effect, a forwarded header or an error message.

use crate::effects::{client_view, haystack, host_request_headers, removed_req};
use crate::script::*;
use bedrock_openai_filter::exchange::Exchange;

#[test]
fn no_secret_or_project_key_in_any_effect() {
    for headers in [
        good_headers(),
        good_headers().plus("aws-session-token", TOKEN),
    ] {
        let outs = run(config(), seed_script(headers));
        let all = haystack(&outs);
        assert!(!all.contains(SECRET), "secret leaked:\n{all}");
        assert!(!all.contains(KEY), "project key leaked:\n{all}");
    }
}

#[test]
fn credential_headers_are_stripped_in_any_case_and_nothing_else() {
    let must_go = [
        "Project-Api-Key",
        "AWS-Access-Key-Id",
        "aws-secret-access-key",
        "Aws-Region-Name",
        "aws-session-token",
        "aws-anything-else",
        "Authorization",
        "X-Amz-Date",
        "x-amz-security-token",
        "X-AMZ-Content-Sha256",
        "Accept-Encoding",
    ];
    let must_stay = [
        ":method",
        ":path",
        ":authority",
        ":scheme",
        "content-type",
        "user-agent",
        "x-request-id",
        "accept",
        "awsome-header",
        "x-project-api-key",
        "authorization-hint",
        "x-forwarded-for",
        "openai-organization",
    ];
    let mut headers = owned(&[
        (":method", "POST"),
        (":path", PATH),
        (":authority", "gateway.local"),
        (":scheme", "http"),
        ("content-type", "application/json"),
        ("Project-Api-Key", KEY),
        ("AWS-Access-Key-Id", AKID),
        ("aws-secret-access-key", SECRET),
        ("Aws-Region-Name", "us-east-1"),
        ("aws-session-token", TOKEN),
        ("aws-anything-else", "x"),
        ("Authorization", "Bearer sk-openai"),
        ("X-Amz-Date", "20200101T000000Z"),
        ("x-amz-security-token", "old"),
        ("X-AMZ-Content-Sha256", "abc"),
        ("Accept-Encoding", "gzip, br"),
    ]);
    for name in &must_stay[4..] {
        if !headers.iter().any(|(k, _)| k == name) {
            headers.push((name.to_string(), "v".to_string()));
        }
    }
    let outs = run(config(), request_script(headers.clone(), SEED.as_bytes()));
    // Withheld in the header step already, before anything is set.
    let removed = removed_req(&headers, &[outs[0].step()]);
    for name in must_go {
        let n = removed
            .iter()
            .filter(|r| r.eq_ignore_ascii_case(name))
            .count();
        assert_eq!(n, 1, "{name} removed {n} times: {removed:?}");
    }
    for name in must_stay {
        assert!(
            !removed.iter().any(|r| r.eq_ignore_ascii_case(name)),
            "{name} removed: {removed:?}"
        );
    }
    for r in &removed {
        assert!(
            must_go.iter().any(|m| m.eq_ignore_ascii_case(r)),
            "unexpected removal of {r}: {removed:?}"
        );
    }
    // In the forwarded request, no caller value of a withheld header is left,
    // and every header the upstream call sets is there once, with its value.
    let forwarded = host_request_headers(&headers, &[outs[0].step(), outs[3].step()]);
    for (name, value) in &headers {
        if must_go.contains(&name.as_str()) {
            assert!(
                !forwarded
                    .iter()
                    .any(|(k, v)| k.eq_ignore_ascii_case(name) && v == value),
                "{name}: {value} forwarded"
            );
        }
    }
    for (name, value) in [
        (":path", "/model/meta.llama3-8b-instruct-v1%3A0/converse"),
        (":authority", "bedrock-runtime.us-east-1.amazonaws.com"),
        ("content-type", "application/json"),
    ] {
        let found: Vec<&str> = forwarded
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(found, [value], "{name}");
    }
    // Headers set upstream later never reuse a caller's stripped value.
    let all = haystack(&outs);
    assert!(!all.contains("sk-openai") && !all.contains(SECRET) && !all.contains(KEY));
    assert!(!all.contains("20200101T000000Z") && !all.contains(": old"));
}

#[test]
fn upstream_error_never_echoes_credentials() {
    let message = format!(
        r#"{{"message":"The request signature we calculated does not match. Key {AKID} secret {SECRET} token {TOKEN}"}}"#
    );
    let step = upstream_answer(
        good_headers().plus("aws-session-token", TOKEN),
        403,
        &[("x-amzn-errortype", "InvalidSignatureException")],
        message.as_bytes(),
    );
    let (status, v) = client_view(&step, 403);
    assert_eq!(status, 403);
    assert_eq!(v["error"]["type"], "authentication_error");
    let all = haystack(&[Out::Step(step)]);
    assert!(!all.contains(SECRET), "{all}");
    assert!(!all.contains(AKID), "{all}");
    assert!(!all.contains(TOKEN), "{all}");
}

#[test]
fn header_names_that_are_not_tokens_are_never_echoed_in_effects() {
    // Found by fuzzing: a name with a line feed that starts like a credential header.
    let headers = good_headers().plus("aws-session-toke{\n  \"model\"", "x");
    let step = Exchange::new(config()).on_request_headers(&headers, false);
    let text = haystack(&[Out::Step(step.clone())]);
    assert!(!text.contains('\n') || !text.contains("model"), "{text}");
    assert!(!text.contains("aws-session-toke"), "{text}");
    // The rewrite withholds it like any other `aws-*` header.
    let kept = host_request_headers(&headers, &[&step]);
    assert!(!kept.iter().any(|(k, _)| k.starts_with("aws-")), "{kept:?}");
}
