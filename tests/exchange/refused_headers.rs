//! Requests refused at their headers: a missing or wrong project key, path,
//! content type, size, method or AWS header becomes a local OpenAI error, and
//! every later callback passes through.

use crate::effects::{assert_reply, haystack, local_reply};
use crate::script::*;
use bedrock_openai_filter::exchange::Exchange;

/// A request whose headers alone are refused with a local reply.
struct HeaderCase {
    /// What the row is about, in failure messages.
    name: &'static str,
    /// The caller's request headers.
    headers: Headers,
    /// The headers end the stream: no body follows.
    end_of_stream: bool,
    /// The status of the local reply.
    status: u16,
    /// The `param` of its OpenAI error.
    param: Option<&'static str>,
}

/// Refusals of the project key, the route, the content and the stream.
fn gate_cases() -> Vec<HeaderCase> {
    let g = good_headers;
    vec![
        HeaderCase {
            name: "missing project key",
            headers: g().without("project-api-key"),
            end_of_stream: false,
            status: 401,
            param: Some("Project-Api-Key"),
        },
        HeaderCase {
            name: "wrong project key",
            headers: g().with("project-api-key", "nope"),
            end_of_stream: false,
            status: 401,
            param: Some("Project-Api-Key"),
        },
        HeaderCase {
            name: "empty project key",
            headers: g().with("project-api-key", ""),
            end_of_stream: false,
            status: 401,
            param: Some("Project-Api-Key"),
        },
        HeaderCase {
            name: "project key differs in case",
            headers: g().with("project-api-key", "TEST-PROJECT-KEY"),
            end_of_stream: false,
            status: 401,
            param: Some("Project-Api-Key"),
        },
        HeaderCase {
            name: "duplicate project key",
            headers: g().plus("Project-Api-Key", KEY),
            end_of_stream: false,
            status: 401,
            param: Some("Project-Api-Key"),
        },
        HeaderCase {
            name: "duplicate project key, other case",
            headers: g().plus("project-api-key", "nope"),
            end_of_stream: false,
            status: 401,
            param: Some("Project-Api-Key"),
        },
        HeaderCase {
            name: "wrong key beats wrong path",
            headers: g().with("project-api-key", "nope").with(":path", "/x"),
            end_of_stream: false,
            status: 401,
            param: Some("Project-Api-Key"),
        },
        HeaderCase {
            name: "missing key beats bad region",
            headers: g()
                .without("project-api-key")
                .with("aws-region-name", "../x"),
            end_of_stream: false,
            status: 401,
            param: Some("Project-Api-Key"),
        },
        HeaderCase {
            name: "wrong path",
            headers: g().with(":path", "/v1/chat/completions"),
            end_of_stream: false,
            status: 404,
            param: None,
        },
        HeaderCase {
            name: "path with suffix",
            headers: g().with(":path", "/v1/amazon-bedrock/chat/completions/x"),
            end_of_stream: false,
            status: 404,
            param: None,
        },
        HeaderCase {
            name: "content-type text/plain",
            headers: g().with("content-type", "text/plain"),
            end_of_stream: false,
            status: 415,
            param: Some("Content-Type"),
        },
        HeaderCase {
            name: "content-type missing",
            headers: g().without("content-type"),
            end_of_stream: false,
            status: 415,
            param: Some("Content-Type"),
        },
        HeaderCase {
            name: "content-length over the cap",
            headers: g().with("content-length", "4194305"),
            end_of_stream: false,
            status: 413,
            param: None,
        },
        HeaderCase {
            name: "headers end the stream",
            headers: g(),
            end_of_stream: true,
            status: 400,
            param: Some("body"),
        },
    ]
}

/// Refusals of the AWS headers: each required one missing, blank or twice,
/// a Region that is not a Region, a blank session token. Each names the
/// header as its `param`.
fn aws_cases() -> Vec<HeaderCase> {
    let bad = |name: &'static str, headers: Headers, param: &'static str| HeaderCase {
        name,
        headers,
        end_of_stream: false,
        status: 400,
        param: Some(param),
    };
    let g = good_headers;
    let mut cases = Vec::new();
    for header in [
        "aws-access-key-id",
        "aws-secret-access-key",
        "aws-region-name",
    ] {
        cases.push(bad("missing aws header", g().without(header), header));
        cases.push(bad("blank aws header", g().with(header, " "), header));
        cases.push(bad("duplicate aws header", g().plus(header, "x"), header));
    }
    for region in [
        "us-east-1.evil.example",
        "us-east-1/..",
        "us-east-1\r\nx: y",
        "us-east-1@evil.example",
        "US-EAST-1",
        "evil.example#",
    ] {
        cases.push(bad(
            "region injection",
            g().with("aws-region-name", region),
            "aws-region-name",
        ));
    }
    cases.push(bad(
        "blank session token",
        g().plus("aws-session-token", ""),
        "aws-session-token",
    ));
    cases
}

#[test]
fn header_errors_are_local_replies() {
    let cases: Vec<HeaderCase> = gate_cases().into_iter().chain(aws_cases()).collect();
    assert_eq!(cases.len(), 14 + 3 * 3 + 6 + 1, "a row went missing");
    for case in cases {
        let HeaderCase {
            name,
            headers,
            end_of_stream,
            status,
            param,
        } = case;
        let mut ex = Exchange::new(config());
        let out = feed(&mut ex, Event::ReqHeaders(headers.clone(), end_of_stream));
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
fn wrong_method_is_405_with_allow() {
    for method in ["GET", "PUT", "post"] {
        let mut ex = Exchange::new(config());
        let out = feed(
            &mut ex,
            Event::ReqHeaders(good_headers().with(":method", method), false),
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
