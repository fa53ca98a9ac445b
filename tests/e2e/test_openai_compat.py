"""Bedrock's OpenAI-compatible endpoints as the gateway's second upstream, end to end.

Real clients (the official OpenAI SDKs, Python and npm) → Envoy + filter → the stand-in's
bedrock-runtime (/openai/v1, signed for `bedrock`) and bedrock-mantle (its own port, signed
for `bedrock-mantle`), which check every signature with botocore for the right service name,
know which models and APIs each endpoint serves, and validate every body against the openai
package's own types.

The gateway of this module (both endpoint overrides set, as AWS_ENDPOINT_URL_BEDROCK_RUNTIME
and AWS_ENDPOINT_URL_BEDROCK_MANTLE) has the projects:
  alpha  the caller's aws-* headers or Bedrock API key
  tpm    a budget of 100 tokens per minute
  envy   signed by Envoy's aws_request_signing filter (environment credentials)
and declares `oss`, gpt-oss-120b moved to the OpenAI-compatible surface.
"""

import json
import os
import re
import subprocess
import sys
import typing

import agents
import openai
import pytest
import requests
import yaml

from e2e.conftest import GATEWAY_PY, ROOT, launch_gateway, stop
from e2e.helpers import SECRETS, assert_openai_error, node
from e2e.keys import PERMANENT, PROJECT_KEY_ALPHA, TEMPORARY, aws_headers
from standin.credentials import BEARER_LONG_TERM

KEYS = {"alpha": PROJECT_KEY_ALPHA, "tpm": "sk-compat-tpm-0000000000000000000000001",
        "envy": "sk-compat-envy-000000000000000000000002"}
POLICIES = {"tpm": {"tokens_per_minute": 100}, "envy": {"credentials": "envoy"}}
DECLARED = {"models": [{"id": "oss", "target": "openai.gpt-oss-120b-1:0", "surface": "openai"}]}
MESSAGES = [{"role": "user", "content": "Hello there"}]
RUNTIME_MODEL = "us.openai.gpt-5.6-sol"   # runtime profile: Chat Completions and Responses
MANTLE_MODEL = "openai.gpt-5.5"           # mantle only, /openai/v1
OSS_MANTLE = "openai.gpt-oss-120b"        # mantle, /v1


@pytest.fixture(scope="module")
def cgw(standin, tmp_path_factory):
    work = tmp_path_factory.mktemp("compat-gateway")
    (work / "policies.json").write_text(json.dumps(POLICIES))
    (work / "models.json").write_text(json.dumps(DECLARED))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(PROJECT_API_KEYS=",".join(f"{n}={k}" for n, k in KEYS.items()),
               PROJECT_POLICIES=str(work / "policies.json"), BEDROCK_MODELS_FILE=str(work / "models.json"),
               AWS_ENDPOINT_URL_BEDROCK_RUNTIME=standin.url, AWS_ENDPOINT_URL_BEDROCK_MANTLE=standin.mantle_url,
               ENVOY_SIGNER_REGION="us-east-1", ENVOY_SIGNER_CREDENTIALS="environment",
               AWS_ACCESS_KEY_ID=PERMANENT["access_key_id"], AWS_SECRET_ACCESS_KEY=PERMANENT["secret_access_key"])
    g = launch_gateway(work, env, "--log-level", "debug", "--flush-ms", "100", "--concurrency", "1",
                       what="compat gateway")
    yield g
    stop(g.proc)


def client(gw, project="alpha", **headers):
    headers = headers or aws_headers()
    return openai.OpenAI(base_url=gw.base_url, api_key="sk-openai-unused", max_retries=0, timeout=30,
                         default_headers={"Project-Api-Key": KEYS[project], **headers})


def only(standin):
    [seen] = standin.requests()
    assert seen["status"] == 200, seen
    return seen


def header(seen, name):
    return dict((k.lower(), v) for k, v in seen["headers"])[name]


@pytest.mark.parametrize("model,surface,path,service", [
    (RUNTIME_MODEL, "runtime", "/openai/v1/chat/completions", "bedrock"),
    (MANTLE_MODEL, "mantle", "/openai/v1/chat/completions", "bedrock-mantle"),
    (OSS_MANTLE, "mantle", "/v1/chat/completions", "bedrock-mantle"),
    ("google.gemma-4-31b", "mantle", "/openai/v1/chat/completions", "bedrock-mantle"),
])
def test_a_model_on_the_openai_surface_through_chat_completions(cgw, standin, model, surface, path, service):
    resp = client(cgw).chat.completions.create(model=model, messages=MESSAGES, max_completion_tokens=64)
    assert resp.model == model
    assert resp.choices[0].message.content == f"Hello from the Bedrock stand-in ({model})."
    assert resp.usage.total_tokens > 0
    seen = only(standin)
    assert (seen["surface"], seen["path"], seen["api"]) == (surface, path, "chat")
    assert seen["auth"] == {"kind": "sigv4", "access_key_id": PERMANENT["access_key_id"], "service": service}
    assert seen["json"]["model"] == model and seen["json"]["max_completion_tokens"] == 64
    assert f"/us-east-1/{service}/aws4_request" in header(seen, "authorization")


@pytest.mark.parametrize("include_usage", [False, True])
def test_streamed_with_and_without_include_usage(cgw, standin, include_usage):
    options = {"stream_options": {"include_usage": True}} if include_usage else {}
    chunks = list(client(cgw).chat.completions.create(model=MANTLE_MODEL, messages=MESSAGES, stream=True,
                                                      **options))
    assert {c.model for c in chunks} == {MANTLE_MODEL}
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).startswith("Hello from")
    if include_usage:
        assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
    else:
        assert all(c.choices and c.usage is None for c in chunks)
    # Bedrock was asked for the usage chunk either way: the gateway reads it for its budgets.
    assert only(standin)["json"]["stream_options"] == {"include_usage": True}


def test_the_npm_sdk_streams_a_runtime_profile(cgw, standin):
    events = node(cgw, {"model": RUNTIME_MODEL, "messages": MESSAGES, "stream": True,
                        "stream_options": {"include_usage": True}},
                  headers={"Project-Api-Key": PROJECT_KEY_ALPHA, **aws_headers()})
    chunks = [e["chunk"] for e in events]
    assert chunks and all(c["model"] == RUNTIME_MODEL for c in chunks)
    assert chunks[-1]["usage"]["total_tokens"] > 0
    [error] = node(cgw, {"model": "openai.gpt-daybreak-blue-5.6-sol", "messages": MESSAGES})
    assert error["error"]["status"] == 400
    assert only(standin)["surface"] == "runtime"


def test_a_declared_surface_moves_a_converse_model(cgw, standin):
    resp = client(cgw).chat.completions.create(model="oss", messages=MESSAGES)
    assert resp.model == "oss"
    seen = only(standin)
    assert (seen["surface"], seen["path"], seen["json"]["model"]) == (
        "runtime", "/openai/v1/chat/completions", "openai.gpt-oss-120b-1:0")
    standin.reset()
    client(cgw).chat.completions.create(model="openai.gpt-oss-120b-1:0", messages=MESSAGES)
    assert only(standin)["operation"] == "Converse"  # the Converse row stays Converse's


@pytest.mark.parametrize("model,fragment", [
    ("openai.gpt-daybreak-blue-5.6-sol", "POST /v1/amazon-bedrock/responses"),
    ("anthropic.claude-mythos-5", "Anthropic Messages API on bedrock-mantle"),
    ("us.anthropic.claude-mythos-5", "Anthropic Messages API on bedrock-mantle"),
])
def test_the_wrong_door_is_a_400_that_never_reaches_bedrock(cgw, standin, model, fragment):
    r = requests.post(f"{cgw.base_url}/chat/completions", json={"model": model, "messages": MESSAGES}, timeout=30,
                      headers={"Project-Api-Key": PROJECT_KEY_ALPHA, **aws_headers()})
    err = assert_openai_error(r, 400, param="model", code="wrong_endpoint")
    assert fragment in err["message"] and model in err["message"]
    assert standin.requests() == []


@pytest.mark.parametrize("body,param", [
    ({"guardrailConfig": {}}, "guardrailConfig"),
    ({"temperature": "warm"}, "temperature"),
    ({"max_tokens": 10}, "max_tokens"),  # GPT-5.6 takes max_completion_tokens only
])
def test_the_body_is_checked_before_it_leaves(cgw, standin, body, param):
    r = requests.post(f"{cgw.base_url}/chat/completions", timeout=30,
                      json={"model": RUNTIME_MODEL, "messages": MESSAGES, **body},
                      headers={"Project-Api-Key": PROJECT_KEY_ALPHA, **aws_headers()})
    assert_openai_error(r, 400, param=param)
    assert standin.requests() == []


def test_bedrocks_errors_keep_their_status_in_openais_shape(cgw, standin):
    standin.script({"error": "ThrottlingException", "message": "Too many tokens, slow down"})
    with pytest.raises(openai.RateLimitError) as e:
        client(cgw).chat.completions.create(model=MANTLE_MODEL, messages=MESSAGES)
    assert e.value.body["code"] == "rate_limit_exceeded" and "slow down" in e.value.body["message"]


def test_token_budgets_count_these_calls(cgw, standin):
    c = client(cgw, "tpm")
    standin.script({"usage": {"prompt": 60, "completion": 50}})
    list(c.chat.completions.create(model=MANTLE_MODEL, messages=MESSAGES, stream=True))  # 110 tokens, unseen
    with pytest.raises(openai.RateLimitError) as e:
        c.chat.completions.create(model=RUNTIME_MODEL, messages=MESSAGES)
    assert "100 tokens per minute" in e.value.message
    assert len(standin.requests()) == 1


@pytest.mark.parametrize("model,service", [(RUNTIME_MODEL, "bedrock"), (MANTLE_MODEL, "bedrock-mantle")])
def test_bearer_keys_and_temporary_credentials_on_both_endpoints(cgw, standin, model, service):
    c = client(cgw, **{"aws-bearer-token-bedrock": BEARER_LONG_TERM, "aws-region-name": "us-east-1"})
    c.chat.completions.create(model=model, messages=MESSAGES)
    seen = only(standin)
    assert seen["auth"]["kind"] == "bearer" and seen["auth"]["key_type"] == "long-term"
    standin.reset()
    client(cgw, **aws_headers(TEMPORARY)).chat.completions.create(model=model, messages=MESSAGES)
    seen = only(standin)
    assert seen["auth"] == {"kind": "sigv4", "access_key_id": TEMPORARY["access_key_id"], "service": service}
    assert header(seen, "x-amz-security-token") == TEMPORARY["session_token"]


@pytest.mark.parametrize("model,service", [(RUNTIME_MODEL, "bedrock"), (MANTLE_MODEL, "bedrock-mantle")])
def test_envoys_signer_signs_for_each_endpoints_service(cgw, standin, model, service):
    c = client(cgw, "envy", **{"aws-region-name": "us-east-1"})
    resp = c.chat.completions.create(model=model, messages=MESSAGES)
    assert resp.model == model
    seen = only(standin)
    assert seen["auth"] == {"kind": "sigv4", "access_key_id": PERMANENT["access_key_id"], "service": service}
    assert "x-bedrock-openai-signer" not in dict(seen["headers"])


def test_credentials_are_found_nowhere_but_the_signature(cgw, standin):
    for model in (RUNTIME_MODEL, MANTLE_MODEL):
        client(cgw, **aws_headers(TEMPORARY)).chat.completions.create(model=model, messages=MESSAGES)
        list(client(cgw).chat.completions.create(model=model, messages=MESSAGES, stream=True))
    client(cgw, **{"aws-bearer-token-bedrock": BEARER_LONG_TERM,
                   "aws-region-name": "us-east-1"}).chat.completions.create(model=MANTLE_MODEL, messages=MESSAGES)
    secrets = [*SECRETS, PERMANENT["secret_access_key"], BEARER_LONG_TERM]
    seen = standin.requests()
    assert len(seen) == 5
    for r in seen:
        names = {k.lower() for k, _ in r["headers"]}
        assert not {n for n in names if n.startswith("aws-")} and "project-api-key" not in names, names
        # The signature's own headers carry the session token (as SigV4 sends it); nothing else may.
        r["headers"] = [[k, v] for k, v in r["headers"] if k.lower() not in ("authorization", "x-amz-security-token")]
        text = json.dumps(r)
        assert not any(s in text for s in secrets), r["path"]
    log = cgw.log_text()
    assert not any(s in log for s in secrets)


def test_the_models_list_shows_the_openai_surface(cgw, standin):
    ids = [m.id for m in client(cgw).models.list()]
    for model in (MANTLE_MODEL, OSS_MANTLE, RUNTIME_MODEL, "global.openai.gpt-5.6-sol", "oss"):
        assert model in ids
    assert "anthropic.claude-mythos-5" not in ids and "us.anthropic.claude-mythos-5" not in ids
    assert standin.requests() == []


# ---- /responses: the Responses route hands a model of the OpenAI-compatible surface to the same
# passthrough (openai_compat::plan(CompatApi::Responses, ...)).

WEATHER = {"type": "function", "name": "get_weather", "strict": False,
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


@pytest.mark.parametrize("stream", [False, True])
def test_a_responses_model_through_responses_with_a_function_tool_loop(cgw, standin, stream):
    standin.reset()
    c = client(cgw)

    def create(**kw):
        if not stream:
            return c.responses.create(model=MANTLE_MODEL, tools=[WEATHER], **kw)
        events = list(c.responses.create(model=MANTLE_MODEL, tools=[WEATHER], stream=True, **kw))
        assert events[-1].type == "response.completed"
        return events[-1].response

    first = create(input="Weather in Paris?")
    assert first.model == MANTLE_MODEL
    [call] = first.output
    assert call.type == "function_call"
    second = create(input=[{"role": "user", "content": "Weather in Paris?"}, call.model_dump(exclude_none=True),
                           {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}])
    assert second.output_text.startswith("Hello from")
    assert [r["path"] for r in standin.requests()] == ["/openai/v1/responses"] * 2


def test_the_agents_sdk_runs_a_tool_loop_on_gpt_5_5(cgw, standin):
    standin.reset()
    model = agents.OpenAIResponsesModel(model=MANTLE_MODEL, openai_client=openai.AsyncOpenAI(
        base_url=cgw.base_url, api_key="unused", default_headers={"Project-Api-Key": PROJECT_KEY_ALPHA,
                                                                  **aws_headers()}))

    @agents.function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return "sunny"

    agent = agents.Agent(name="weather", instructions="Use the tool.", tools=[get_weather], model=model)
    result = agents.Runner.run_sync(agent, "Weather in Paris?")
    assert result.final_output.startswith("Hello from")


@pytest.mark.parametrize("scenario", ["openai-stream", "aisdk-tools"])
def test_npm_clients_on_a_responses_model(cgw, standin, scenario):
    """The npm SDK streams, and the AI SDK's default provider runs its tool loop (store: false,
    as a stateless gateway asks), on a GPT-5.x model of the OpenAI-compatible surface."""
    standin.reset()
    arg = {"scenario": scenario, "baseURL": cgw.base_url, "model": MANTLE_MODEL, "store": False,
           "request": {"model": MANTLE_MODEL, "input": "Hi"},
           "headers": {"Project-Api-Key": PROJECT_KEY_ALPHA, **aws_headers()}}
    done = subprocess.run(["node", os.path.join(ROOT, "tests", "node", "responses.mjs"), json.dumps(arg)],
                          capture_output=True, text=True, timeout=90, check=True)
    [line] = done.stdout.splitlines()
    r = json.loads(line)["result"]
    paths = [seen["path"] for seen in standin.requests()]
    if scenario == "openai-stream":
        assert r["types"][0] == "response.created" and r["types"][-1] == "response.completed"
        assert r["status"] == "completed" and r["output_text"].startswith("Hello from")
        assert paths == ["/openai/v1/responses"]
    else:
        assert r.get("errors", []) == []
        assert r["toolCalls"] and r["toolCalls"][0]["name"] == "weather"
        assert r["steps"] == 2 and r["text"].startswith("Hello from")
        assert paths == ["/openai/v1/responses"] * 2


# ---- the launcher: what AWS_ENDPOINT_URL_BEDROCK_MANTLE renders, and the field tables


def render(env):
    r = subprocess.run([sys.executable, GATEWAY_PY, "--print-config"], cwd=ROOT, capture_output=True, text=True,
                       env={**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, **env},
                       timeout=60)
    assert r.returncode == 0, r.stderr
    cfg = yaml.safe_load(r.stdout)
    hcm = cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    plugin = json.loads(hcm["http_filters"][0]["typed_config"]["config"]["configuration"]["value"])
    return cfg, hcm, plugin, r.stderr


@pytest.mark.build_independent  # the launcher and the tables: no gateway
@pytest.mark.parametrize("runtime", ["", "http://127.0.0.1:9099"])
def test_the_mantle_override_gets_its_own_cluster_and_route(runtime):
    env = {"AWS_ENDPOINT_URL_BEDROCK_MANTLE": "https://vpce-1.bedrock-mantle.us-west-2.vpce.amazonaws.com:443/"}
    if runtime:
        env["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = runtime
    cfg, hcm, plugin, said = render(env)
    assert plugin["upstream"]["mantle_endpoint"] == "https://vpce-1.bedrock-mantle.us-west-2.vpce.amazonaws.com:443"
    clusters = {c["name"]: c for c in cfg["static_resources"]["clusters"]}
    mantle = clusters["bedrock_mantle"]
    assert mantle["transport_socket"]["typed_config"]["sni"] == "vpce-1.bedrock-mantle.us-west-2.vpce.amazonaws.com"
    routes = hcm["route_config"]["virtual_hosts"][0]["routes"]
    assert routes[0]["match"]["headers"] == [{"name": ":authority", "string_match": {
        "exact": "vpce-1.bedrock-mantle.us-west-2.vpce.amazonaws.com"}}]
    assert routes[0]["route"]["cluster"] == "bedrock_mantle" and routes[-1]["route"]["cluster"] == "bedrock"
    dfp = "envoy.filters.http.dynamic_forward_proxy" in [f["name"] for f in hcm["http_filters"]]
    assert dfp is not bool(runtime)  # kept while bedrock-runtime's host is dynamic
    assert "AWS_ENDPOINT_URL_BEDROCK_MANTLE" in said


@pytest.mark.build_independent  # the launcher and the tables: no gateway
def test_a_bad_mantle_override_stops_the_launcher():
    r = subprocess.run([sys.executable, GATEWAY_PY, "--print-config"], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "AWS_ENDPOINT_URL_BEDROCK_MANTLE": "ftp://x"}, timeout=60)
    assert r.returncode == 2 and "AWS_ENDPOINT_URL_BEDROCK_MANTLE" in r.stderr


@pytest.mark.build_independent  # the launcher and the tables: no gateway
def test_the_passthroughs_field_tables_are_the_openai_packages():
    """src/api/openai_compat/shape.rs lists each API's fields as the `openai` package's params types do."""
    from openai.types.chat import completion_create_params
    from openai.types.responses import response_create_params
    with open(os.path.join(ROOT, "src", "api", "openai_compat", "shape.rs")) as f:
        text = f.read()
    for table, params in (("CHAT_FIELDS", completion_create_params.CompletionCreateParamsStreaming),
                          ("RESPONSES_FIELDS", response_create_params.ResponseCreateParamsStreaming)):
        block = text[text.index(f"pub const {table}"):]
        block = block[:block.index("];")]
        ours = set(re.findall(r'\("([a-z_]+)", Kind::', block))
        assert ours == set(typing.get_type_hints(params)) - {"model"}, table


@pytest.mark.build_independent  # the launcher and the tables: no gateway
def test_the_routing_table_in_docs_is_current():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "routing.py"), "--check"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
