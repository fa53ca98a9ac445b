//! Planning an embeddings request: one `InvokeModel` call per input (per 96
//! inputs for Cohere), each body built for the model's family and each call
//! signed with the request's credentials, decided whole before anything is
//! sent. The calls are made by the filter itself (a [`Batch`]): the request
//! is answered locally once every call has answered.

use super::answer::EmbeddingsGather;
use super::request::parse;
use crate::api::{Batch, Call, Gather, Handoff, Planning};
use crate::aws::call::{self, Target};
use crate::aws::endpoint;
use crate::bedrock::embed::{invoke_path, request_body};
use crate::error::ApiError;
use std::rc::Rc;

/// The longest a batch may take, in seconds, whatever the request and the
/// configuration allow: its calls are signed when it is planned, and AWS
/// refuses a SigV4 signature more than 5 minutes old.
pub const MAX_BATCH_SECONDS: u64 = 300;

/// Parses, checks against the project's policy and signs the embeddings
/// request `body` of `caller`. Notes the model in `model` as soon as it is known.
pub fn plan(
    ctx: &Planning<'_>,
    body: &[u8],
    model: &mut Option<Rc<str>>,
) -> Result<Batch, ApiError> {
    let Planning {
        config,
        caller,
        now,
        signing_keys,
    } = *ctx;
    let req = parse(body, &config.models)?;
    *model = Some(Rc::clone(&req.model.id));
    let project = &caller.project;
    if !project.policy.allows(&req.model.id) {
        return Err(ApiError::model_not_allowed(&project.name, &req.model.id));
    }
    let info = req.model.info;
    let timeout_secs = config.timeout(req.timeout_seconds).min(MAX_BATCH_SECONDS);
    let authority = endpoint::authority(config.endpoint.as_ref(), &caller.region);
    let path = invoke_path(req.model.target());
    let per_call = usize::from(info.inputs_per_call.max(1));
    let mut calls = Vec::with_capacity(req.inputs.len().div_ceil(per_call));
    for texts in req.inputs.chunks(per_call) {
        let payload =
            request_body(info.family, texts, req.dimensions, req.purpose).map_err(|e| {
                ApiError::internal(format!("could not encode the InvokeModel body: {e}"))
            })?;
        let target = Target {
            authority: authority.clone(),
            path: path.clone(),
            accept: "application/json",
        };
        let mut headers = call::headers(
            target,
            &payload,
            &caller.auth,
            &caller.region,
            timeout_secs,
            now,
            signing_keys,
        )?;
        // A call of the filter's own is timed by its dispatch (what is left
        // of the batch's deadline). The signer's marker stays: the callout
        // listener's marked route hands the call to Envoy's signer.
        headers.retain(|(name, _)| name != "x-envoy-upstream-rq-timeout-ms");
        headers.insert(0, (":method".into(), "POST".into()));
        calls.push(Call {
            headers,
            body: payload,
        });
    }
    let gather = EmbeddingsGather::new(
        Handoff::new(caller, Rc::clone(&req.model.id), now),
        info.family,
        req.encoding,
        usize::from(req.dimensions.unwrap_or(info.default_dimensions)),
        per_call,
        req.inputs.len(),
    );
    Ok(Batch {
        cluster: config.callout_cluster(&caller.region),
        calls,
        timeout_secs,
        max_concurrent: config.max_concurrent_calls,
        gather: Gather::Embeddings(Box::new(gather)),
    })
}
