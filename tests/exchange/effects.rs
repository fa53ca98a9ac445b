//! Readers of what an exchange did: the headers and bodies its effects set,
//! the request headers the host holds after them, its local replies, and
//! everything it would show the host or the wire as one string.

use crate::script::Out;
use bedrock_openai_filter::exchange::{Effect, Step, Verdict};
use bedrock_openai_filter::header::withheld::upstream_headers;
use serde_json::{json, Value};

/// Values of request headers set by `effects` under `name` (any case).
pub fn req_set<'a>(effects: &'a [Effect], name: &str) -> Vec<&'a str> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::RewriteRequestHeaders { set } => Some(set),
            _ => None,
        })
        .flatten()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The one value `effects` set for request header `name`; asserts it is set once.
pub fn req_set_one<'a>(effects: &'a [Effect], name: &str) -> &'a str {
    let v = req_set(effects, name);
    assert_eq!(v.len(), 1, "{name} set {} times: {effects:?}", v.len());
    v[0]
}

/// Values of response headers set by `effects` under `name` (any case).
pub fn resp_set<'a>(effects: &'a [Effect], name: &str) -> Vec<&'a str> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::SetResponseHeader(k, v) if k.eq_ignore_ascii_case(name) => Some(v.as_str()),
            _ => None,
        })
        .collect()
}

/// The request header map as the host holds it after `steps` were applied to
/// the `caller`'s headers (each rewrite starts from the caller's headers, as
/// the shell's does).
pub fn host_request_headers(caller: &[(String, String)], steps: &[&Step]) -> Vec<(String, String)> {
    let mut map = caller.to_vec();
    for step in steps {
        for e in &step.effects {
            if let Effect::RewriteRequestHeaders { set } = e {
                map = upstream_headers(caller, set)
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
            }
        }
    }
    map
}

/// Names of the `caller`'s headers that the host no longer holds after `steps`.
pub fn removed_req(caller: &[(String, String)], steps: &[&Step]) -> Vec<String> {
    let after = host_request_headers(caller, steps);
    caller
        .iter()
        .filter(|(k, _)| !after.iter().any(|(a, _)| a.eq_ignore_ascii_case(k)))
        .map(|(k, _)| k.clone())
        .collect()
}

/// The one request body `effects` put in place (asserted to be one).
pub fn request_body(effects: &[Effect]) -> &[u8] {
    let bodies: Vec<&[u8]> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::ReplaceRequestBody(b) => Some(b.as_slice()),
            _ => None,
        })
        .collect();
    assert_eq!(bodies.len(), 1, "{effects:?}");
    bodies[0]
}

/// The one response body `effects` put in place (asserted to be one).
pub fn response_body(effects: &[Effect]) -> &[u8] {
    let bodies: Vec<&[u8]> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::ReplaceResponseBody(b) => Some(b.as_slice()),
            _ => None,
        })
        .collect();
    assert_eq!(bodies.len(), 1, "{effects:?}");
    bodies[0]
}

/// Asserts `out` is exactly one local reply (and Pause); returns (status, headers, body JSON).
pub fn local_reply(out: &Out) -> (u16, Vec<(&'static str, String)>, Value) {
    let step = out.step();
    assert_eq!(step.verdict, Verdict::Pause, "{step:?}");
    assert_eq!(step.effects.len(), 1, "more than the reply: {step:?}");
    match &step.effects[0] {
        Effect::LocalReply {
            status,
            headers,
            body,
        } => (
            *status,
            headers.clone(),
            serde_json::from_slice(body).unwrap(),
        ),
        other => panic!("expected LocalReply, got {other:?}"),
    }
}

/// Asserts a local reply with `status` and OpenAI error `param`.
pub fn assert_reply(name: &str, out: &Out, status: u16, param: Option<&str>) -> Value {
    let (got, _, body) = local_reply(out);
    assert_eq!(got, status, "{name}: {body}");
    assert_eq!(
        body["error"]["param"],
        param.map_or(Value::Null, |p| json!(p)),
        "{name}: {body}"
    );
    assert!(body["error"]["message"].is_string(), "{name}: {body}");
    assert!(body["error"]["type"].is_string(), "{name}: {body}");
    body
}

/// Everything the effects would show the host or the wire, as one string.
pub fn haystack(outs: &[Out]) -> String {
    let mut s = String::new();
    for out in outs {
        let Out::Step(step) = out else { continue };
        for e in &step.effects {
            match e {
                Effect::RewriteRequestHeaders { set } => {
                    for (k, v) in set {
                        s.push_str(&format!("{k}: {v}\n"));
                    }
                }
                Effect::SetResponseHeader(k, v) => {
                    s.push_str(&format!("{k}: {v}\n"));
                }
                Effect::RemoveResponseHeader(k) => {
                    s.push_str(&format!("-{k}\n"));
                }
                Effect::ReplaceRequestBody(b) | Effect::ReplaceResponseBody(b) => {
                    s.push_str(&String::from_utf8_lossy(b));
                    s.push('\n');
                }
                Effect::Dispatch { calls } => {
                    for c in calls {
                        for (k, v) in &c.headers {
                            s.push_str(&format!("{k}: {v}\n"));
                        }
                        s.push_str(&String::from_utf8_lossy(&c.body));
                        s.push('\n');
                    }
                }
                Effect::LocalReply {
                    status,
                    headers,
                    body,
                } => {
                    s.push_str(&format!("{status} {headers:?} "));
                    s.push_str(&String::from_utf8_lossy(body));
                    s.push('\n');
                }
            }
        }
    }
    s
}

/// The status the client sees and the OpenAI error body of an answer.
pub fn client_view(step: &Step, upstream_status: u16) -> (u16, Value) {
    let status = match resp_set(&step.effects, ":status").as_slice() {
        [] => upstream_status,
        [s] => s.parse().unwrap(),
        many => panic!("status set twice: {many:?}"),
    };
    let body = response_body(&step.effects);
    assert_eq!(
        resp_set(&step.effects, "content-length"),
        [body.len().to_string()]
    );
    (status, serde_json::from_slice(body).unwrap())
}
