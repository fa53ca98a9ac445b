//! The APIs the gateway speaks, one folder each: its request parsing, its
//! translation onto the conversation layer, and its answer writing. This
//! module routes a path to its API and gives the exchange one face for all
//! of them ([`plan`], [`Pending`], [`Streaming`], and for the APIs whose
//! request becomes several upstream calls, [`Batch`] and [`Gather`]), so
//! that the exchange knows routes, not APIs.

pub mod body;
pub mod chat;
pub mod converse_call;
pub mod embeddings;
pub mod fields;
pub mod models;
pub mod openai_compat;
pub mod responses;
pub mod sse;

use crate::api::openai_compat::CompatApi;
use crate::aws::sigv4::SigningKeys;
use crate::caller::Caller;
use crate::catalog::resolve::Served;
use crate::config::{Config, Project};
use crate::error::bedrock::from_upstream;
use crate::error::ApiError;
use crate::header::{first, single, HeaderPair, Name};
use crate::outcome::Outcome;
use crate::secret::Redactor;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The chat-completions path.
pub const CHAT_COMPLETIONS_PATH: &str = "/v1/amazon-bedrock/chat/completions";
/// The models list this filter answers locally.
pub const MODELS_PATH: &str = "/v1/amazon-bedrock/models";
/// The Responses API.
pub const RESPONSES_PATH: &str = "/v1/amazon-bedrock/responses";
/// The embeddings API.
pub const EMBEDDINGS_PATH: &str = "/v1/amazon-bedrock/embeddings";

/// What an authenticated request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST /v1/amazon-bedrock/chat/completions`.
    ChatCompletions,
    /// `GET /v1/amazon-bedrock/models`.
    Models,
    /// `POST /v1/amazon-bedrock/responses`.
    Responses,
    /// `GET`/`DELETE /v1/amazon-bedrock/responses/{id}` (and what hangs
    /// under it): a stored response, which a stateless gateway has not.
    StoredResponse,
    /// `POST /v1/amazon-bedrock/embeddings`.
    Embeddings,
}

impl Route {
    /// The endpoint's name in metrics and the access log.
    pub fn endpoint(self) -> &'static str {
        match self {
            Route::ChatCompletions => "chat_completions",
            Route::Models => "models",
            Route::Responses | Route::StoredResponse => "responses",
            Route::Embeddings => "embeddings",
        }
    }
}

/// Which route the path and method ask for (404 / 405 otherwise).
pub fn route<H: HeaderPair>(headers: &[H]) -> Result<Route, ApiError> {
    let path = single(headers, ":path").ok().flatten().unwrap_or("");
    let path = path.split('?').next().unwrap_or(path);
    let method = single(headers, ":method").ok().flatten();
    let (route, allowed) = match path {
        CHAT_COMPLETIONS_PATH => (Route::ChatCompletions, "POST"),
        MODELS_PATH => (Route::Models, "GET"),
        RESPONSES_PATH => (Route::Responses, "POST"),
        EMBEDDINGS_PATH => (Route::Embeddings, "POST"),
        p if p
            .strip_prefix(RESPONSES_PATH)
            .is_some_and(|rest| rest.len() > 1 && rest.starts_with('/')) =>
        {
            return match method {
                Some("GET" | "DELETE" | "POST") => Ok(Route::StoredResponse),
                _ => Err(ApiError::method_not_allowed("GET, DELETE", path)),
            };
        }
        _ => {
            return Err(ApiError::unknown_url(format!(
                "This gateway serves POST {CHAT_COMPLETIONS_PATH}, POST {RESPONSES_PATH}, POST {EMBEDDINGS_PATH} and GET {MODELS_PATH}."
            )))
        }
    };
    if method != Some(allowed) {
        return Err(ApiError::method_not_allowed(allowed, path));
    }
    Ok(route)
}

/// What every API's answer phase knows of its request: who asked, for
/// which model, and what to redact from an upstream error. Never a
/// credential.
#[derive(Debug)]
pub struct Handoff {
    /// The caller's project.
    pub project: Rc<Project>,
    /// Removes the request's credentials from whatever the upstream echoes.
    pub redactor: Redactor,
    /// Envoy's `x-request-id`, the fallback for the response id.
    pub request_id: Option<String>,
    /// The model id the caller sent, echoed in answers.
    pub model: Rc<str>,
    /// Unix seconds when the request was planned.
    pub created: u64,
}

impl Handoff {
    /// The handoff of `caller`'s request for `model`, planned at `now`.
    pub fn new(caller: &Caller, model: Rc<str>, now: SystemTime) -> Handoff {
        Handoff {
            project: Rc::clone(&caller.project),
            redactor: caller.auth.redactor(),
            request_id: caller.request_id.clone(),
            model,
            created: now
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        }
    }

    /// `prefix` + Bedrock's request id, else Envoy's `x-request-id`, else the creation time.
    pub fn response_id(&self, prefix: &str, aws_request_id: Option<&str>) -> String {
        match aws_request_id.or(self.request_id.as_deref()) {
            Some(rid) => {
                let mut id = String::with_capacity(prefix.len() + rid.len());
                id.push_str(prefix);
                id.push_str(rid);
                id
            }
            None => format!("{prefix}{}", self.created),
        }
    }
}

/// How an answer travels back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// JSON in, JSON out.
    Json,
    /// Event stream in, SSE out, piece by piece.
    Stream,
    /// JSON in (the model cannot stream this request), SSE out.
    Replay,
}

/// An upstream answer (or Envoy's own), buffered whole.
#[derive(Debug, Clone, Copy)]
pub struct UpstreamAnswer<'a> {
    /// Its status.
    pub status: u16,
    /// `x-amzn-ErrorType`, on a Bedrock error.
    pub error_type: Option<&'a str>,
    /// `x-amzn-RequestId`.
    pub aws_request_id: Option<&'a str>,
    /// Envoy's rate-limit filter answered (`x-envoy-ratelimited`), not Bedrock.
    pub limited_by_envoy: bool,
    /// The body.
    pub body: &'a [u8],
}

/// A buffered answer rewritten into an API's shape.
#[derive(Debug)]
pub struct Rewritten {
    /// Status sent to the client.
    pub status: u16,
    /// The body is server-sent events (else JSON).
    pub sse: bool,
    /// The body.
    pub body: Vec<u8>,
    /// Tokens and finish, for a successful answer.
    pub outcome: Outcome,
}

impl Rewritten {
    /// A JSON answer.
    pub fn json(body: Vec<u8>, outcome: Outcome) -> Rewritten {
        Rewritten {
            status: 200,
            sse: false,
            body,
            outcome,
        }
    }

    /// A replayed stream.
    pub fn sse(body: Vec<u8>, outcome: Outcome) -> Rewritten {
        Rewritten {
            status: 200,
            sse: true,
            body,
            outcome,
        }
    }

    /// An error in OpenAI's shape.
    pub fn error(e: &ApiError) -> Rewritten {
        Rewritten {
            status: e.status,
            sse: false,
            body: e.to_json(),
            outcome: Outcome::default(),
        }
    }
}

/// A planned upstream call, ready to be emitted.
#[derive(Debug)]
pub struct Planned {
    /// Headers the call sets (path, authority, body framing, timeout, signature).
    pub headers: Vec<(Name, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// What the answer phase needs to know.
    pub pending: Pending,
}

/// The answer of a route the gateway serves itself, without a body or an
/// upstream call: the models list `project` may call, or the 404 of a
/// stored response; `None` for the routes with an upstream call.
pub fn local_answer(
    route: Route,
    project: &Project,
    config: &Config,
) -> Option<Result<Vec<u8>, ApiError>> {
    match route {
        Route::Models => Some(Ok(models::model_list(&project.policy, &config.models))),
        Route::StoredResponse => Some(Err(ApiError::not_stored())),
        Route::ChatCompletions | Route::Responses | Route::Embeddings => None,
    }
}

/// One upstream call the filter makes itself (one of a [`Batch`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Every header, `:method`, `:path` and `:authority` included.
    pub headers: Vec<(Name, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// The upstream calls of one request that the filter makes itself (the
/// request is never forwarded), and what gathers their answers into one.
#[derive(Debug)]
pub struct Batch {
    /// The Envoy cluster the calls go through.
    pub cluster: String,
    /// The calls, in the order their answers are gathered.
    pub calls: Vec<Call>,
    /// Seconds the whole batch may take.
    pub timeout_secs: u64,
    /// How many calls may be in flight at once.
    pub max_concurrent: usize,
    /// What gathers the answers.
    pub gather: Gather,
}

/// What a request with a body becomes upstream.
#[derive(Debug)]
pub enum Plan {
    /// The request itself, rewritten, goes upstream.
    Forward(Planned),
    /// The filter makes the calls itself and answers locally.
    Batch(Batch),
}

/// What planning any call needs: who calls, under which configuration,
/// when (signatures are dated with it), and the VM's signing-key cache.
#[derive(Clone, Copy)]
pub struct Planning<'a> {
    /// The plugin configuration.
    pub config: &'a Config,
    /// Who calls, with which credentials and Region.
    pub caller: &'a Caller,
    /// When the call is planned.
    pub now: SystemTime,
    /// The VM's cache of SigV4 signing keys.
    pub signing_keys: &'a SigningKeys,
}

/// Plans the upstream work of a request with a body on `route`; notes the
/// model in `model` as soon as it is known. A chat or Responses request
/// whose model Bedrock serves through its OpenAI-compatible APIs goes to
/// the passthrough ([`openai_compat`]); the rest to the route's API.
pub fn plan(
    route: Route,
    ctx: &Planning<'_>,
    body: &[u8],
    model: &mut Option<Rc<str>>,
) -> Result<Plan, ApiError> {
    let (compat, converse): (_, fn(_, _, _, _) -> _) = match route {
        Route::ChatCompletions => (CompatApi::ChatCompletions, chat::plan::plan),
        Route::Responses => (CompatApi::Responses, responses::plan::plan),
        Route::Embeddings => return embeddings::plan::plan(ctx, body, model).map(Plan::Batch),
        Route::Models | Route::StoredResponse => {
            return Err(ApiError::internal("this route has no upstream call"))
        }
    };
    let body = body::read(body, &ctx.config.models)?;
    match body.model {
        Served::Converse(m) => converse(ctx, m, body.fields, model),
        Served::OpenAi(m) => openai_compat::plan(compat, m, body.fields, ctx, model),
    }
    .map(Plan::Forward)
}

/// What gathers the answers of a [`Batch`] into the API's answer.
#[derive(Debug)]
pub enum Gather {
    /// Embeddings.
    Embeddings(Box<embeddings::answer::EmbeddingsGather>),
}

impl Gather {
    /// What every API's answer phase knows.
    pub fn handoff(&self) -> &Handoff {
        match self {
            Gather::Embeddings(g) => &g.handoff,
        }
    }

    /// Takes the answer of call `call` (`status`, `headers`, `body`): a
    /// Bedrock error becomes the OpenAI error it maps to, as for chat.
    pub fn take<H: HeaderPair>(
        &mut self,
        call: usize,
        status: u16,
        headers: &[H],
        body: &[u8],
    ) -> Result<(), ApiError> {
        if status != 200 {
            return Err(from_upstream(
                status,
                first(headers, "x-amzn-errortype"),
                body,
                &self.handoff().redactor,
            ));
        }
        match self {
            Gather::Embeddings(g) => g.take(call, headers, body),
        }
    }

    /// Every call answered: the API's answer.
    pub fn finish(&mut self) -> Rewritten {
        match self {
            Gather::Embeddings(g) => g.finish(),
        }
    }
}

/// What an API's answer phase needs to know about its request.
#[derive(Debug)]
pub enum Pending {
    /// Chat completions.
    Chat(chat::answer::ChatPending),
    /// The Responses API.
    Responses(responses::answer::ResponsesPending),
    /// Any API passed through to Bedrock's OpenAI-compatible endpoints.
    OpenAi(openai_compat::answer::CompatPending),
}

impl Pending {
    /// What every API's answer phase knows.
    pub fn handoff(&self) -> &Handoff {
        match self {
            Pending::Chat(p) => &p.handoff,
            Pending::Responses(p) => &p.handoff,
            Pending::OpenAi(p) => &p.handoff,
        }
    }

    /// How the answer travels back.
    pub fn mode(&self) -> Mode {
        match self {
            Pending::Chat(p) => p.mode,
            Pending::Responses(p) => p.mode,
            Pending::OpenAi(p) => p.mode(),
        }
    }

    /// Whether an answer with `status` and `content_type` goes through
    /// [`Pending::stream`] piece by piece (else it is buffered and
    /// [`Pending::rewrite`] gets it whole).
    pub fn streams(&self, status: u16, content_type: Option<&str>) -> bool {
        match self {
            Pending::Chat(p) => p.mode == Mode::Stream && status == 200,
            Pending::Responses(p) => p.mode == Mode::Stream && status == 200,
            Pending::OpenAi(p) => p.streams(status, content_type),
        }
    }

    /// The translator of a streamed answer.
    pub fn stream(&self, aws_request_id: Option<&str>) -> Streaming {
        match self {
            Pending::Chat(p) => Streaming::Chat(Box::new(p.translator(aws_request_id))),
            Pending::Responses(p) => Streaming::Responses(Box::new(p.translator(aws_request_id))),
            Pending::OpenAi(p) => Streaming::OpenAi(Box::new(p.stream())),
        }
    }

    /// A buffered answer or error rewritten into the API's shape.
    pub fn rewrite(&self, answer: &UpstreamAnswer<'_>) -> Rewritten {
        let handoff = self.handoff();
        if answer.status == 429 && answer.limited_by_envoy {
            return Rewritten::error(&ApiError::fleet_rate_limited(&handoff.project.name));
        }
        if let Pending::OpenAi(p) = self {
            return p.rewrite(answer);
        }
        if answer.status != 200 {
            let err = from_upstream(
                answer.status,
                answer.error_type,
                answer.body,
                &handoff.redactor,
            );
            return Rewritten::error(&err);
        }
        match self {
            Pending::Chat(p) => p.rewrite_ok(answer),
            Pending::Responses(p) => p.rewrite_ok(answer),
            Pending::OpenAi(p) => p.rewrite(answer),
        }
    }
}

/// A streamed answer's translator, per API.
#[derive(Debug)]
pub enum Streaming {
    /// Chat completions.
    Chat(Box<chat::stream::StreamTranslator>),
    /// The Responses API.
    Responses(Box<responses::events::ResponsesStream>),
    /// Server-sent events of Bedrock's OpenAI-compatible endpoints, forwarded.
    OpenAi(Box<openai_compat::stream::CompatStream>),
}

impl Streaming {
    /// Feeds upstream bytes; returns the bytes they produce.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        match self {
            Streaming::Chat(t) => t.feed(bytes),
            Streaming::Responses(t) => t.feed(bytes),
            Streaming::OpenAi(s) => s.feed(bytes),
        }
    }

    /// End of the upstream body: closes the stream.
    pub fn finish(&mut self) -> Vec<u8> {
        match self {
            Streaming::Chat(t) => t.finish(),
            Streaming::Responses(t) => t.finish(),
            Streaming::OpenAi(s) => s.finish(),
        }
    }

    /// Token counts and finish seen so far.
    pub fn outcome(&self) -> Outcome {
        match self {
            Streaming::Chat(t) => t.outcome(),
            Streaming::Responses(t) => t.outcome(),
            Streaming::OpenAi(s) => s.outcome(),
        }
    }
}
