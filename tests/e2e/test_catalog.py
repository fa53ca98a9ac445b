"""The model catalog end to end: every kind of model id, the per-model rules, declared models.

Real clients (the official OpenAI SDKs, Python and npm) → Envoy + filter → the stand-in,
which knows the catalog and answers like Bedrock: it refuses a profile-only model's base
id, a profile outside its geography, an ARN it does not know, and every per-model rule
the filter is meant to have handled, and it checks every path and signature with botocore.
"""

import json
import os
import subprocess
import sys
import urllib.parse

import openai
import pytest
import requests

from e2e.conftest import GATEWAY_PY, ROOT, launch_gateway, stop
from e2e.helpers import SEED_MESSAGES, assert_openai_error, chat_body, default_headers, node, post
from e2e.keys import PERMANENT, aws_headers

with open(os.path.join(ROOT, "src", "catalog", "models.json")) as f:
    CATALOG = {m["id"]: m for m in json.load(f)["models"]}

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                             "parameters": {"type": "object",
                                                            "properties": {"city": {"type": "string"}}}}}

# One model of every capability class (base ids where they are on demand, else a US profile).
CLASSES = [
    "us.anthropic.claude-sonnet-4-5-20250929-v1:0",   # thinking with a budget, temperature or top_p
    "us.anthropic.claude-sonnet-4-6",                  # adaptive thinking, no prefill
    "us.anthropic.claude-opus-4-7",                    # no sampling parameters (profile only: its AWS card)
    "us.anthropic.claude-3-5-haiku-20241022-v1:0",     # no images, caching, latency-optimized
    "amazon.nova-pro-v1:0",                            # Nova: every tool choice, service tiers
    "us.amazon.nova-2-lite-v1:0",                      # Nova 2 reasoning
    "amazon.titan-text-lite-v1",                       # no system prompt
    "us.meta.llama3-1-70b-instruct-v1:0",              # tools, but no toolChoice and no tools while streaming
    "us.meta.llama4-maverick-17b-instruct-v1:0",       # Llama with images
    "mistral.mistral-large-2407-v1:0",                 # tools, no named tool choice
    "us.mistral.pixtral-large-2502-v1:0",              # Mistral with images
    "mistral.mistral-large-3-675b-instruct",           # tools while streaming, structured output
    "us.deepseek.r1-v1:0",                             # always reasons, no tools
    "deepseek.v3.2",                                   # hybrid reasoning, tools
    "openai.gpt-oss-120b-1:0",                         # no stop sequences
    "qwen.qwen3-32b-v1:0",
    "cohere.command-r-plus-v1:0",
    "ai21.jamba-1-5-large-v1:0",
    "us.writer.palmyra-x5-v1:0",
]


def base_of(model):
    return model if model in CATALOG else model.split(".", 1)[1]


def encoded_path(model, operation):
    return f"/model/{urllib.parse.quote(model, safe='')}/{operation}"


def only_request(standin):
    [seen] = standin.requests()
    assert seen["status"] == 200, seen
    return seen


@pytest.mark.parametrize("model", CLASSES)
def test_one_model_of_every_class_answers_streamed_and_not(client, standin, model):
    row = CATALOG[base_of(model)]
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    resp = client.chat.completions.create(model=model, messages=messages)
    assert resp.model == model
    assert resp.choices[0].message.content == f"Hello from the Bedrock stand-in ({model})."
    seen = only_request(standin)
    assert seen["path"] == encoded_path(model, "converse")
    assert ("system" in seen["json"]) == row["system"]
    standin.reset()
    chunks = list(client.chat.completions.create(model=model, messages=messages, stream=True,
                                                 stream_options={"include_usage": True}))
    assert {c.model for c in chunks} == {model}
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).startswith("Hello from")
    assert chunks[-1].usage.total_tokens > 0
    assert only_request(standin)["path"] == encoded_path(model, "converse-stream")
    if not row["tools"]:
        return
    standin.reset()
    # Tools, streamed: ConverseStream where the model takes tools while streaming, else one replayed call.
    chunks = list(client.chat.completions.create(model=model, stream=True, tools=[WEATHER],
                                                 messages=[{"role": "user", "content": "weather in Paris?"}]))
    names = [tc.function.name for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []
             if tc.function and tc.function.name]
    assert names == ["get_weather"]
    seen = only_request(standin)
    assert seen["operation"] == ("ConverseStream" if row["tools_streaming"] else "Converse")
    assert ("toolChoice" in seen["json"]["toolConfig"]) is False


# A system-defined profile for each geo prefix, called from a Region of that geography.
GEOS = [
    ("us", "us-east-1", "anthropic.claude-sonnet-4-5-20250929-v1:0"),
    ("eu", "eu-west-1", "anthropic.claude-sonnet-4-5-20250929-v1:0"),
    ("apac", "ap-southeast-1", "anthropic.claude-3-7-sonnet-20250219-v1:0"),
    ("jp", "ap-northeast-1", "anthropic.claude-sonnet-4-5-20250929-v1:0"),
    ("au", "ap-southeast-2", "anthropic.claude-sonnet-4-5-20250929-v1:0"),
    ("us-gov", "us-gov-west-1", "anthropic.claude-sonnet-4-5-20250929-v1:0"),
    ("global", "sa-east-1", "anthropic.claude-sonnet-4-5-20250929-v1:0"),
]


@pytest.mark.parametrize("geo,region,base", GEOS, ids=[g for g, _, _ in GEOS])
def test_a_profile_id_for_each_geo_prefix(gateway, standin, geo, region, base):
    assert geo in CATALOG[base]["profiles"]
    model = f"{geo}.{base}"
    c = openai.OpenAI(base_url=gateway.base_url, api_key="x", max_retries=0,
                      default_headers={**default_headers(), **aws_headers(region=region)})
    resp = c.chat.completions.create(model=model, messages=SEED_MESSAGES)
    assert resp.model == model
    seen = only_request(standin)
    assert seen["path"] == encoded_path(model, "converse")
    auth = dict((k.lower(), v) for k, v in seen["headers"])["authorization"]
    assert f"/{region}/bedrock/aws4_request" in auth


def test_the_npm_sdk_calls_a_profile(gateway, standin):
    model = "us.amazon.nova-pro-v1:0"
    events = node(gateway, {"model": model, "messages": SEED_MESSAGES, "stream": True})
    chunks = [e["chunk"] for e in events]
    assert chunks and all(c["model"] == model for c in chunks)
    assert only_request(standin)["path"] == encoded_path(model, "converse-stream")
    standin.reset()
    [event] = node(gateway, {"model": "gpt-4o", "messages": SEED_MESSAGES})
    assert event["error"]["status"] == 404
    assert standin.requests() == []


def test_bedrock_refuses_a_profile_only_models_base_id(gateway, standin):
    r = post(gateway, chat_body(model="anthropic.claude-sonnet-4-5-20250929-v1:0"))
    err = assert_openai_error(r, 400, code="bedrock_validation_error")
    assert "on-demand throughput isn't supported" in err["message"]


def test_bedrock_refuses_a_profile_outside_its_geography(gateway, standin):
    r = post(gateway, chat_body(model="eu.anthropic.claude-sonnet-4-5-20250929-v1:0"))  # signed for us-east-1
    err = assert_openai_error(r, 400, code="bedrock_validation_error")
    assert "model identifier is invalid" in err["message"]


@pytest.mark.parametrize("model", ["gpt-4o", "us.gpt-4o", "mars.anthropic.claude-sonnet-4-6",
                                   "anthropic.claude-sonnet-4-6 ", "ANTHROPIC.claude-sonnet-4-6"])
def test_unknown_ids_are_404_and_never_reach_bedrock(gateway, standin, model):
    assert_openai_error(post(gateway, chat_body(model=model)), 404, param="model", code="model_not_found")
    assert standin.requests() == []


# ---- per-model rules, applied before anything leaves

def test_temperature_with_top_p_sends_temperature_only_where_bedrock_takes_one(client, standin):
    client.chat.completions.create(model="us.anthropic.claude-sonnet-4-5-20250929-v1:0", messages=SEED_MESSAGES,
                                   temperature=0.3, top_p=0.9, max_tokens=50)
    assert only_request(standin)["json"]["inferenceConfig"] == {"temperature": 0.3, "maxTokens": 50}
    standin.reset()
    client.chat.completions.create(model="us.anthropic.claude-sonnet-4-5-20250929-v1:0", messages=SEED_MESSAGES,
                                   top_p=0.9)
    assert only_request(standin)["json"]["inferenceConfig"] == {"topP": 0.9}
    standin.reset()
    # Models that take both get both.
    client.chat.completions.create(model="amazon.nova-pro-v1:0", messages=SEED_MESSAGES, temperature=0.3, top_p=0.9)
    assert only_request(standin)["json"]["inferenceConfig"] == {"temperature": 0.3, "topP": 0.9}


def test_models_without_sampling_parameters_get_none(client, standin):
    client.chat.completions.create(model="us.anthropic.claude-opus-4-7", messages=SEED_MESSAGES,
                                   temperature=0.2, top_p=0.5, max_tokens=10)
    assert only_request(standin)["json"]["inferenceConfig"] == {"maxTokens": 10}


def test_tool_choice_auto_is_left_implicit_where_the_model_takes_no_tool_choice(client, standin):
    client.chat.completions.create(model="us.meta.llama3-1-70b-instruct-v1:0", tools=[WEATHER], tool_choice="auto",
                                   messages=[{"role": "user", "content": "weather in Paris?"}])
    assert "toolChoice" not in only_request(standin)["json"]["toolConfig"]


@pytest.mark.parametrize("body,param,fragment", [
    (chat_body(model="openai.gpt-oss-120b-1:0", stop=["END"]), "stop", "takes no stop sequences"),
    (chat_body(model="us.meta.llama3-1-70b-instruct-v1:0", tools=[WEATHER], tool_choice="required"),
     "tool_choice", "cannot be made to call a tool"),
    (chat_body(model="mistral.mistral-large-2402-v1:0", tools=[WEATHER],
               tool_choice={"type": "function", "function": {"name": "get_weather"}}),
     "tool_choice", "named function"),
    (chat_body(model="us.anthropic.claude-sonnet-4-6",
               messages=[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello, I"}]),
     "messages", "does not continue an assistant message"),
    (chat_body(model="us.deepseek.r1-v1:0", tools=[WEATHER]), "tools", "does not support tools"),
    (chat_body(model="us.anthropic.claude-3-5-haiku-20241022-v1:0", messages=[{"role": "user", "content": [
        {"type": "text", "text": "What is it?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,aGVsbG8="}}]}]),
     "messages.[0].content.[1]", "does not accept images"),
], ids=["stop", "required", "named", "prefill", "tools", "images"])
def test_what_a_model_lacks_is_a_400_naming_model_and_field(gateway, standin, body, param, fragment):
    err = assert_openai_error(post(gateway, body), 400, param=param, code="invalid_request")
    assert fragment in err["message"] and body["model"] in err["message"]
    assert standin.requests() == []


def test_named_tool_choice_and_prefill_still_work_where_the_model_takes_them(client, standin):
    resp = client.chat.completions.create(
        model="us.anthropic.claude-sonnet-4-5-20250929-v1:0", tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        messages=[{"role": "user", "content": "Hi"}])
    assert resp.choices[0].message.tool_calls[0].function.name == "get_weather"
    standin.reset()
    prefill = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hel"}]
    client.chat.completions.create(model="us.anthropic.claude-sonnet-4-5-20250929-v1:0", messages=prefill)
    assert only_request(standin)["json"]["messages"][-1]["role"] == "assistant"


# ---- declared models (BEDROCK_MODELS_FILE) and allow-lists with every kind of id

ARN = "arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/a1b2c3d4e5f6"
DECLARED = {"models": [
    {"id": ARN, "base": "anthropic.claude-3-5-sonnet-20240620-v1:0"},
    {"id": "claude-fast", "target": "us.anthropic.claude-3-5-haiku-20241022-v1:0"},
]}
KEYS = {"all": "sk-cat-all-00000000000000000000000001", "listed": "sk-cat-listed-000000000000000000000002"}
LISTED = ["meta.llama3-8b-instruct-v1:0", "us.amazon.nova-pro-v1:0", "claude-fast", ARN]


@pytest.fixture(scope="module")
def dgw(standin, tmp_path_factory):
    work = tmp_path_factory.mktemp("catalog-gateway")
    (work / "models.json").write_text(json.dumps(DECLARED))
    (work / "policies.json").write_text(json.dumps({"listed": {"allowed_models": LISTED}}))
    env = dict(os.environ, PROJECT_API_KEYS=",".join(f"{n}={k}" for n, k in KEYS.items()),
               PROJECT_POLICIES=str(work / "policies.json"), BEDROCK_MODELS_FILE=str(work / "models.json"),
               AWS_ENDPOINT_URL_BEDROCK_RUNTIME=standin.url)
    g = launch_gateway(work, env, "--concurrency", "1", "--flush-ms", "100", what="catalog gateway")
    # The application inference profile exists in the stand-in's "account".
    r = requests.post(f"{standin.url}/_standin/inference-profiles", timeout=5,
                      json={"arn": ARN, "model": "anthropic.claude-3-5-sonnet-20240620-v1:0"})
    assert r.status_code == 200, r.text
    yield g
    stop(g.proc)


def dclient(gw, project, region="us-east-1"):
    return openai.OpenAI(base_url=gw.base_url, api_key="x", max_retries=0,
                         default_headers={"Project-Api-Key": KEYS[project], **aws_headers(PERMANENT, region)})


@pytest.mark.parametrize("stream", [False, True])
def test_a_declared_application_profile_arn(dgw, standin, stream):
    c = dclient(dgw, "all", region="us-west-2")
    resp = c.chat.completions.create(model=ARN, messages=SEED_MESSAGES, stream=stream)
    models = {chunk.model for chunk in resp} if stream else {resp.model}
    assert models == {ARN}
    seen = only_request(standin)
    op = "converse-stream" if stream else "converse"
    assert seen["path"] == (
        f"/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Aapplication-inference-profile%2Fa1b2c3d4e5f6/{op}")
    assert "system" in seen["json"]  # the base row's capabilities: Claude 3.5 Sonnet takes a system prompt


def test_an_arn_from_another_region_is_bedrocks_refusal(dgw, standin):
    r = post(dgw, chat_body(model=ARN),
             headers={"Project-Api-Key": KEYS["all"], "Content-Type": "application/json", **aws_headers()})
    err = assert_openai_error(r, 400, code="bedrock_validation_error")
    assert "model identifier is invalid" in err["message"]


def test_a_declared_alias(dgw, standin):
    resp = dclient(dgw, "all").chat.completions.create(model="claude-fast", messages=SEED_MESSAGES)
    assert resp.model == "claude-fast"
    assert only_request(standin)["path"] == encoded_path("us.anthropic.claude-3-5-haiku-20241022-v1:0", "converse")


def test_the_allow_list_takes_every_kind_of_id(dgw, standin):
    for model in LISTED:
        region = "us-west-2" if model == ARN else "us-east-1"
        resp = dclient(dgw, "listed", region).chat.completions.create(model=model, messages=SEED_MESSAGES)
        assert resp.model == model
    assert len(standin.requests()) == len(LISTED)
    standin.reset()
    for model in ["meta.llama3-70b-instruct-v1:0", "amazon.nova-pro-v1:0", "eu.amazon.nova-pro-v1:0"]:
        r = post(dgw, chat_body(model=model), headers={"Project-Api-Key": KEYS["listed"],
                                                       "Content-Type": "application/json", **aws_headers()})
        assert_openai_error(r, 403, param="model", code="model_not_allowed")
    assert standin.requests() == []


def test_models_list_per_project(dgw, standin):
    listed = dclient(dgw, "listed").models.list()
    assert [(m.id, m.owned_by) for m in listed] == [
        ("meta.llama3-8b-instruct-v1:0", "meta"), ("us.amazon.nova-pro-v1:0", "amazon"),
        ("claude-fast", "anthropic"), (ARN, "anthropic")]
    everything = [m.id for m in dclient(dgw, "all").models.list()]
    assert everything[-2:] == sorted([ARN, "claude-fast"])
    assert "us.anthropic.claude-sonnet-4-5-20250929-v1:0" in everything
    assert "anthropic.claude-sonnet-4-5-20250929-v1:0" not in everything, "profile-only base ids are not listed"
    assert "meta.llama3-8b-instruct-v1:0" in everything
    assert standin.requests() == []


@pytest.mark.parametrize("declared,why", [
    ({"models": [{"id": "fast", "base": "anthropic.claude-9"}]}, "not a model of the catalog"),
    ({"models": [{"id": "arn:aws:bedrock:us-west-2:1234:application-inference-profile/x",
                  "base": "anthropic.claude-3-haiku-20240307-v1:0"}]}, "ARN"),
    ({"models": [{"id": ARN}]}, "needs `base`"),
    ({"models": [{"id": "a", "target": "meta.llama3-8b-instruct-v1:0"},
                 {"id": "a", "target": "meta.llama3-8b-instruct-v1:0"}]}, "twice"),
], ids=["unknown base", "malformed arn", "arn without base", "duplicate"])
def test_a_bad_declared_model_stops_the_filter_from_starting(tmp_path, declared, why):
    path = tmp_path / "models.json"
    path.write_text(json.dumps(declared))
    env = dict(os.environ, BEDROCK_MODELS_FILE=str(path), PROJECT_API_KEYS="sk-one-0000000000000001")
    r = subprocess.run([sys.executable, GATEWAY_PY, "--validate"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert why in r.stdout + r.stderr
