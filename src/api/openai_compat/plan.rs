//! Planning a passthrough call: which endpoint serves the model for this
//! API, the project's policy applied to the body, `model` rewritten to the
//! id that endpoint takes, and the call signed for its service.

use super::answer::CompatPending;
use super::{shape, CompatApi};
use crate::api::{Handoff, Pending, Planned, Planning};
use crate::aws::call::{self, Target};
use crate::aws::endpoint;
use crate::aws::sigv4::{MANTLE_SERVICE, SERVICE};
use crate::bedrock::options::ServiceTier;
use crate::catalog::openai::{Apis, OpenAiInfo};
use crate::catalog::resolve::OpenAiModel;
use crate::error::{clip, ApiError, MAX_ECHO_CHARS};
use crate::header::Name;
use crate::policy::{Policy, TierRule};
use serde_json::{Map, Value};
use std::rc::Rc;

/// bedrock-runtime's prefix of the OpenAI-compatible APIs (its `/v1/…`
/// answers HTTP 200 with an `UnknownOperationException` body).
pub const RUNTIME_PREFIX: &str = "/openai/v1";

/// Which of Bedrock's endpoints a call goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// bedrock-runtime's `/openai/v1`, signed for `bedrock`.
    Runtime,
    /// bedrock-mantle under the model's prefix, signed for `bedrock-mantle`.
    Mantle {
        /// `/v1` or `/openai/v1`.
        prefix: &'static str,
    },
}

fn offers(apis: Apis, api: CompatApi) -> bool {
    match api {
        CompatApi::ChatCompletions => apis.chat,
        CompatApi::Responses => apis.responses,
    }
}

/// The endpoint that serves `model` for `api`: bedrock-runtime where it
/// takes the id and offers the API (AWS recommends it for new
/// applications), else bedrock-mantle; else the wrong door.
pub fn pick(api: CompatApi, model: &OpenAiModel) -> Result<Endpoint, ApiError> {
    let info = model.info;
    let reach = info.reach(&model.target);
    if reach.runtime && info.runtime.is_some_and(|r| offers(r.apis, api)) {
        return Ok(Endpoint::Runtime);
    }
    if let Some(m) = info.mantle.filter(|m| reach.mantle && offers(m.apis, api)) {
        return Ok(Endpoint::Mantle { prefix: m.prefix });
    }
    Err(wrong_door(api, model))
}

/// A 400 naming `model` and what serves it: the other API, or the other
/// endpoint's id.
fn wrong_door(api: CompatApi, model: &OpenAiModel) -> ApiError {
    let info = model.info;
    let reach = info.reach(&model.target);
    let other = match api {
        CompatApi::ChatCompletions => CompatApi::Responses,
        CompatApi::Responses => CompatApi::ChatCompletions,
    };
    let here_other = reach.runtime && info.runtime.is_some_and(|r| offers(r.apis, other))
        || reach.mantle && info.mantle.is_some_and(|m| offers(m.apis, other));
    let mut message = format!(
        "Bedrock does not serve model `{}` through its {} API",
        clip(&model.id, MAX_ECHO_CHARS),
        api.name()
    );
    if here_other {
        message.push_str(&format!(
            "; it serves it through the {} API: call {}.",
            other.name(),
            other.route()
        ));
    } else {
        message.push('.');
    }
    // The same model under another endpoint's id may offer it.
    if let Some(m) = info.mantle.filter(|m| !reach.mantle && offers(m.apis, api)) {
        message.push_str(&format!(
            " Bedrock serves `{}` on bedrock-mantle through the {} API.",
            m.id,
            api.name()
        ));
    } else if let Some(r) = info
        .runtime
        .filter(|r| !reach.runtime && offers(r.apis, api))
    {
        let id = match r.profiles.first() {
            Some(geo) if !r.on_demand => format!("{geo}.{}", r.id),
            _ => r.id.to_string(),
        };
        message.push_str(&format!(
            " Bedrock serves `{id}` on bedrock-runtime through the {} API.",
            api.name()
        ));
    }
    ApiError::wrong_endpoint(message)
}

/// Applies the project's output cap to the token fields of `api` in `body`:
/// each field sent must be one the model takes and within the ceiling; with
/// none sent, the project's default goes into the field the model takes.
fn caps(
    api: CompatApi,
    info: &OpenAiInfo,
    policy: &Policy,
    body: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    let (fields, default_field): (&[&'static str], &'static str) = match api {
        CompatApi::ChatCompletions => (
            &["max_completion_tokens", "max_tokens"],
            info.chat_default_field,
        ),
        CompatApi::Responses => (&["max_output_tokens"], "max_output_tokens"),
    };
    let mut any = false;
    for &field in fields {
        let Some(asked) = body.get(field).and_then(Value::as_u64) else {
            continue;
        };
        let takes = match field {
            "max_completion_tokens" => info.chat_max_completion_tokens,
            "max_tokens" => info.chat_max_tokens,
            _ => true,
        };
        if !takes {
            return Err(ApiError::invalid(
                field,
                format!(
                    "Model `{}` takes `{}` on Bedrock's Chat Completions API, not `{field}`.",
                    info.id, info.chat_default_field
                ),
            ));
        }
        policy.output_cap(field, Some(asked))?;
        any = true;
    }
    if !any {
        if let Some(n) = policy.output_cap(default_field, None)? {
            body.insert(default_field.to_string(), Value::from(n));
        }
    }
    Ok(())
}

/// The project's service tier: a pin is sent (a request naming another tier
/// is refused), a default is sent when the request names none and the model
/// is served in it.
fn tier(info: &OpenAiInfo, policy: &Policy, body: &mut Map<String, Value>) -> Result<(), ApiError> {
    let asked = match body.get("service_tier") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == "auto" => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => None,
    };
    let serves = |t: ServiceTier| match t {
        ServiceTier::Priority => info.service_tiers.priority,
        ServiceTier::Default => info.service_tiers.default,
        ServiceTier::Flex => info.service_tiers.flex,
    };
    let set = match (asked, policy.service_tier) {
        (Some(a), Some(TierRule::Pin(p))) if a != p.name() => {
            return Err(ApiError::invalid(
                "service_tier",
                format!(
                    "This project's service tier is `{}`; the request asked for `{}`.",
                    p.name(),
                    clip(a, MAX_ECHO_CHARS)
                ),
            ))
        }
        (_, Some(TierRule::Pin(p))) => Some(p),
        (None, Some(TierRule::Default(d))) if serves(d) => Some(d),
        _ => None,
    };
    if let Some(t) = set {
        body.insert("service_tier".into(), Value::from(t.name()));
    }
    Ok(())
}

/// The headers that attach the project's guardrail: Bedrock applies one on
/// its OpenAI-compatible surface only to Chat Completions on bedrock-runtime
/// (AWS user guide, Chat Completions API); elsewhere the call is refused
/// rather than sent unguarded.
fn guardrail(
    api: CompatApi,
    endpoint: Endpoint,
    model: &OpenAiModel,
    policy: &Policy,
) -> Result<Vec<(Name, String)>, ApiError> {
    let Some(g) = &policy.guardrail else {
        return Ok(Vec::new());
    };
    if api == CompatApi::ChatCompletions && endpoint == Endpoint::Runtime {
        return Ok(vec![
            (
                "x-amzn-bedrock-guardrailidentifier".into(),
                g.identifier.clone(),
            ),
            ("x-amzn-bedrock-guardrailversion".into(), g.version.clone()),
        ]);
    }
    let mut e = ApiError::invalid(
        "model",
        format!(
            "This project's calls carry a Bedrock guardrail, and Bedrock applies none to model `{}` through its {} API on {}: only Chat Completions on bedrock-runtime (or Converse) takes one.",
            clip(&model.id, MAX_ECHO_CHARS),
            api.name(),
            match endpoint {
                Endpoint::Runtime => "bedrock-runtime",
                Endpoint::Mantle { .. } => "bedrock-mantle",
            }
        ),
    );
    e.code = "guardrail_unsupported".into();
    Err(e)
}

/// Whether the answer streams, and for chat whether the gateway asked for
/// the usage chunk itself (then the caller, who did not, never sees it).
fn streaming(api: CompatApi, body: &mut Map<String, Value>) -> (bool, bool) {
    let streamed = body.get("stream") == Some(&Value::Bool(true));
    if !streamed || api != CompatApi::ChatCompletions {
        return (streamed, false);
    }
    let options = body
        .entry("stream_options")
        .or_insert_with(|| Value::Object(Map::new()));
    if options.is_null() {
        *options = Value::Object(Map::new());
    }
    let Value::Object(options) = options else {
        return (streamed, false);
    };
    if options.get("include_usage") == Some(&Value::Bool(true)) {
        return (streamed, false);
    }
    options.insert("include_usage".into(), Value::Bool(true));
    (streamed, true)
}

/// Plans the call of `model` through `api`: `body` is the request's JSON
/// object without its `model`; `noted` learns the model at once (metrics).
pub fn plan(
    api: CompatApi,
    model: OpenAiModel,
    mut body: Map<String, Value>,
    call: &Planning<'_>,
    noted: &mut Option<Rc<str>>,
) -> Result<Planned, ApiError> {
    *noted = Some(Rc::clone(&model.id));
    let caller = call.caller;
    let project = &caller.project;
    let policy = &project.policy;
    policy.check_model_id(&project.name, &model.id)?;
    if model.target.starts_with("arn:") {
        return Err(ApiError::wrong_endpoint(
            "Bedrock refuses application inference profiles on its OpenAI-compatible APIs; they are served through Converse only.",
        ));
    }
    let endpoint = pick(api, &model)?;
    shape::check(api, &body)?;
    shape::refuse_state(&body)?;
    if api == CompatApi::Responses {
        shape::check_tools(&body, matches!(endpoint, Endpoint::Mantle { .. }))?;
    }
    let timeout = call
        .config
        .timeout(body.remove(shape::TIMEOUT).and_then(|v| v.as_u64()));
    caps(api, model.info, policy, &mut body)?;
    tier(model.info, policy, &mut body)?;
    let guardrail_headers = guardrail(api, endpoint, &model, policy)?;
    let (streamed, drop_usage_chunk) = streaming(api, &mut body);
    body.insert("model".into(), Value::String(model.target.to_string()));
    let payload = serde_json::to_vec(&body)
        .map_err(|e| ApiError::internal(format!("could not encode the request body: {e}")))?;
    let (service, target) = match endpoint {
        Endpoint::Runtime => (
            SERVICE,
            Target {
                authority: endpoint::authority(call.config.endpoint.as_ref(), &caller.region),
                path: format!("{RUNTIME_PREFIX}{}", api.path()),
                accept: if streamed {
                    "text/event-stream"
                } else {
                    "application/json"
                },
            },
        ),
        Endpoint::Mantle { prefix } => (
            MANTLE_SERVICE,
            Target {
                authority: endpoint::mantle_authority(
                    call.config.mantle_endpoint.as_ref(),
                    &caller.region,
                ),
                path: format!("{prefix}{}", api.path()),
                accept: if streamed {
                    "text/event-stream"
                } else {
                    "application/json"
                },
            },
        ),
    };
    let mut headers = call::headers_for(
        service,
        target,
        &payload,
        &caller.auth,
        &caller.region,
        timeout,
        call.now,
        call.signing_keys,
    )?;
    headers.extend(guardrail_headers);
    Ok(Planned {
        headers,
        body: payload,
        pending: Pending::OpenAi(CompatPending {
            handoff: Handoff::new(caller, Rc::clone(&model.id), call.now),
            api,
            streamed,
            drop_usage_chunk,
        }),
    })
}
