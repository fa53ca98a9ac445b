"""Per-project policy, models list, metrics and access log, through a second gateway.

This module starts its own gateway (two Envoy worker threads) with:
  alpha  allowed models llama3-8b + claude-3-haiku, max_tokens ceiling 500 / default 128
  beta   a Bedrock guardrail
  lim    6 requests per minute
  envp   credentials from the proxy's environment (the stand-in's permanent key, us-west-2)
  think  max_tokens ceiling 3000 (below what a high reasoning effort needs)
  tpm    a budget of 100 tokens per minute
  pin    service tier pinned to flex, latency optimized, no request metadata
  dflt   service tier priority by default
  auto   prompt caching auto
"""

import concurrent.futures
import json
import os
import re
import time

import openai
import pytest
import requests

from e2e.conftest import ROOT, launch_gateway, stop
from e2e.helpers import CLAUDE, LLAMA, SEED_MESSAGES, assert_openai_error, chat_body, post
from e2e.keys import PERMANENT, aws_headers

KEYS = {"alpha": "sk-pol-alpha-000000000000000000000001", "beta": "sk-pol-beta-0000000000000000000000002",
        "lim": "sk-pol-lim-00000000000000000000000003", "envp": "sk-pol-envp-000000000000000000000004",
        "think": "sk-pol-think-00000000000000000000000005", "tpm": "sk-pol-tpm-000000000000000000000000006",
        "pin": "sk-pol-pin-000000000000000000000000007", "dflt": "sk-pol-dflt-00000000000000000000000008",
        "auto": "sk-pol-auto-00000000000000000000000009"}
LIMIT = 6
POLICIES = {
    "alpha": {"allowed_models": [LLAMA, CLAUDE], "max_tokens": {"ceiling": 500, "default": 128}},
    "beta": {"guardrail": {"identifier": "grtest0123", "version": "3"}},
    "lim": {"requests_per_minute": LIMIT},
    "envp": {"credentials": "environment"},
    "think": {"max_tokens": {"ceiling": 3000}},
    "tpm": {"tokens_per_minute": 100},
    "pin": {"service_tier": {"pin": "flex"}, "latency": "optimized", "request_metadata": False},
    "dflt": {"service_tier": {"default": "priority"}},
    "auto": {"prompt_caching": "auto"},
}


@pytest.fixture(scope="module")
def pgw(standin, tmp_path_factory):
    work = tmp_path_factory.mktemp("policy-gateway")
    (work / "policies.json").write_text(json.dumps(POLICIES))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(PROJECT_API_KEYS=",".join(f"{n}={k}" for n, k in KEYS.items()),
               PROJECT_POLICIES=str(work / "policies.json"),
               AWS_ENDPOINT_URL_BEDROCK_RUNTIME=standin.url,
               AWS_ACCESS_KEY_ID=PERMANENT["access_key_id"],
               AWS_SECRET_ACCESS_KEY=PERMANENT["secret_access_key"], AWS_REGION="us-west-2")
    access = str(work / "access.log")
    g = launch_gateway(work, env, "--concurrency", "2", "--flush-ms", "100", "--access-log-path", access,
                       what="policy gateway")
    g.access_log = access
    yield g
    stop(g.proc)


def headers(project, **extra):
    h = {"Project-Api-Key": KEYS[project], "Content-Type": "application/json"}
    if project != "envp":
        h.update(aws_headers())
    h.update(extra)
    return h


def test_disallowed_model_is_403_and_never_reaches_aws(pgw, standin):
    r = post(pgw, chat_body(model="mistral.mistral-large-2402-v1:0"), headers=headers("alpha"))
    assert_openai_error(r, 403, param="model", kind="permission_error", code="model_not_allowed")
    assert standin.requests() == []
    assert post(pgw, chat_body(model=CLAUDE), headers=headers("alpha")).status_code == 200


def test_max_tokens_ceiling_and_default(pgw, standin):
    r = post(pgw, chat_body(max_tokens=501), headers=headers("alpha"))
    assert_openai_error(r, 400, param="max_tokens")
    assert standin.requests() == []
    assert post(pgw, chat_body(), headers=headers("alpha")).status_code == 200
    assert post(pgw, chat_body(max_tokens=300), headers=headers("alpha")).status_code == 200
    sent = [q["json"].get("inferenceConfig", {}).get("maxTokens") for q in standin.requests()]
    assert sent == [128, 300]
    # projects without the policy send nothing extra
    assert post(pgw, chat_body(), headers=headers("beta")).status_code == 200
    assert "inferenceConfig" not in standin.requests()[-1]["json"]


@pytest.mark.parametrize("stream", [False, True])
def test_guardrail_reaches_bedrock(pgw, standin, stream):
    r = post(pgw, chat_body(stream=stream), headers=headers("beta"))
    assert r.status_code == 200, r.text
    [seen] = standin.requests()
    assert seen["status"] == 200
    assert seen["json"]["guardrailConfig"] == {"guardrailIdentifier": "grtest0123", "guardrailVersion": "3"}


def test_environment_credentials_sign_without_aws_headers(pgw, standin):
    c = openai.OpenAI(base_url=pgw.base_url, api_key="x", max_retries=0,
                      default_headers={"Project-Api-Key": KEYS["envp"]})
    resp = c.chat.completions.create(model=LLAMA, messages=SEED_MESSAGES)
    assert resp.choices[0].message.content.startswith("Hello from the Bedrock stand-in")
    [seen] = standin.requests()
    auth = dict((k.lower(), v) for k, v in seen["headers"])["authorization"]
    assert f"Credential={PERMANENT['access_key_id']}/" in auth and "/us-west-2/bedrock/" in auth
    # a caller's region header still picks the region
    c.chat.completions.create(model=LLAMA, messages=SEED_MESSAGES, extra_headers={"aws-region-name": "eu-west-1"})
    auth = dict((k.lower(), v) for k, v in standin.requests()[-1]["headers"])["authorization"]
    assert "/eu-west-1/bedrock/" in auth


def test_models_list_holds_the_projects_models(pgw, standin):
    c = openai.OpenAI(base_url=pgw.base_url, api_key="x", max_retries=0,
                      default_headers={"Project-Api-Key": KEYS["alpha"]})
    assert [m.id for m in c.models.list()] == [CLAUDE, LLAMA] or \
        sorted(m.id for m in c.models.list()) == sorted([CLAUDE, LLAMA])
    r = requests.get(pgw.base_url + "/models", headers={"Project-Api-Key": KEYS["beta"]})
    body = r.json()
    # Without allowed_models: every chat base id callable on demand, then every known profile id.
    with open(os.path.join(ROOT, "src", "catalog", "models.json")) as f:
        catalog = json.load(f)["models"]
    ordered = sorted(catalog, key=lambda m: m["id"])
    expected = [(m["id"], m["provider"]) for m in ordered if m["on_demand"]]
    expected += [(f"{geo}.{m['id']}", m["provider"]) for m in ordered for geo in m["profiles"]]
    # Then the ids of the OpenAI-compatible surface (src/catalog/openai.json) that are not Converse's.
    converse = {m for m, _ in expected} | {m["id"] for m in catalog}
    with open(os.path.join(ROOT, "src", "catalog", "openai.json")) as f:
        for row in sorted(json.load(f)["models"], key=lambda m: m["id"]):
            ids = [row["mantle"]["id"]] if row["mantle"] else []
            rt = row["runtime"] or {"profiles": []}
            ids += [rt["id"]] if rt.get("on_demand") and rt["id"] not in ids else []
            ids += [f"{geo}.{rt['id']}" for geo in rt["profiles"]]
            expected += [(i, row["provider"]) for i in ids if i not in converse]
    # Then the embedding models, base ids then profiles.
    with open(os.path.join(ROOT, "src", "catalog", "models.json")) as f:
        embedding = sorted(json.load(f)["embedding_models"], key=lambda m: m["id"])
    expected += [(m["id"], m["provider"]) for m in embedding if m["on_demand"]]
    expected += [(f"{geo}.{m['id']}", m["provider"]) for m in embedding for geo in m["profiles"]]
    assert r.status_code == 200 and body["object"] == "list"
    assert [(m["id"], m["owned_by"]) for m in body["data"]] == expected
    assert all(m["object"] == "model" for m in body["data"])
    assert {m["owned_by"] for m in body["data"]} >= {"anthropic", "amazon", "meta", "mistral"}
    assert_openai_error(requests.get(pgw.base_url + "/models"), 401, code="invalid_api_key")
    assert standin.requests() == []


def wait_for_fresh_minute():
    """Keep the 2N burst inside one fixed window."""
    if time.time() % 60 > 45:
        time.sleep(61 - time.time() % 60)


def test_rate_limit_is_exact_across_worker_threads(pgw, standin):
    wait_for_fresh_minute()

    def one(_):
        return post(pgw, chat_body(), headers=headers("lim"))

    with concurrent.futures.ThreadPoolExecutor(2 * LIMIT) as pool:
        results = list(pool.map(one, range(2 * LIMIT)))
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200] * LIMIT + [429] * LIMIT, statuses
    limited = [r for r in results if r.status_code == 429]
    for r in limited:
        assert_openai_error(r, 429, kind="rate_limit_error", code="rate_limit_exceeded")
        assert 1 <= int(r.headers["retry-after"]) <= 60
    assert len(standin.requests()) == LIMIT


def prometheus(gw):
    return requests.get(gw.admin_url + "/stats/prometheus").text


def metric(text, name, **labels):
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    m = re.search(rf"^{name}{{{re.escape(want)}}} (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def test_prometheus_counts_exactly_what_happened(pgw, standin):
    llama = "meta_llama3-8b-instruct-v1_0"
    chat = "chat_completions"
    before = prometheus(pgw)
    usages = []
    for _ in range(3):
        r = post(pgw, chat_body(), headers=headers("alpha"))
        assert r.status_code == 200
        usages.append(r.json()["usage"])
    standin.script({"error": "ThrottlingException", "message": "slow"})
    assert post(pgw, chat_body(), headers=headers("alpha")).status_code == 429
    assert post(pgw, chat_body(), headers={"Project-Api-Key": "wrong"}).status_code == 401
    assert post(pgw, chat_body(model="mistral.mistral-large-2402-v1:0"), headers=headers("alpha")).status_code == 403
    in_tokens = sum(int(q["json"] is not None) for q in standin.requests())  # 4 upstream calls
    assert in_tokens == 4
    deadline = time.time() + 12  # histograms show after Envoy's 5 s stats flush
    while True:
        after = prometheus(pgw)
        if metric(after, "bedrock_openai_upstream_latency_ms_count", endpoint=chat, project="alpha", model=llama) - \
                metric(before, "bedrock_openai_upstream_latency_ms_count", endpoint=chat, project="alpha",
                       model=llama) >= 4 \
                or time.time() > deadline:
            break
        time.sleep(0.5)

    def delta(name, **labels):
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert delta("bedrock_openai_requests", endpoint=chat, project="alpha", model=llama, status="200") == 3
    assert delta("bedrock_openai_requests", endpoint=chat, project="alpha", model=llama, status="429") == 1
    assert delta("bedrock_openai_rejected", project="unknown", reason="invalid_api_key") == 1
    assert delta("bedrock_openai_rejected", endpoint=chat, project="alpha", reason="model_not_allowed") == 1
    # exactly the token counts Bedrock reported for the 3 successes
    assert delta("bedrock_openai_input_tokens", endpoint=chat, project="alpha", model=llama) == \
        sum(u["prompt_tokens"] for u in usages)
    assert delta("bedrock_openai_output_tokens", endpoint=chat, project="alpha", model=llama) == \
        sum(u["completion_tokens"] for u in usages)
    assert len([q for q in standin.requests() if q["status"] == 200]) == 3
    # histogram samples show after Envoy's periodic flush, so earlier tests' samples may land
    # in this window too: at least this test's 4 upstream calls are in it, with a positive sum
    assert delta("bedrock_openai_upstream_latency_ms_count", endpoint=chat, project="alpha", model=llama) >= 4
    assert delta("bedrock_openai_upstream_latency_ms_sum", endpoint=chat, project="alpha", model=llama) > 0
    for secret in list(KEYS.values()) + [PERMANENT["secret_access_key"]]:
        assert secret not in after


def test_access_log_holds_project_model_and_tokens(pgw, standin):
    r = post(pgw, chat_body(), headers=headers("alpha", **{"x-request-id": "access-log-probe-1"}))
    assert r.status_code == 200
    usage = r.json()["usage"]
    r = post(pgw, chat_body(stream=True, stream_options={"include_usage": True}),
             headers=headers("alpha", **{"x-request-id": "access-log-probe-2"}))
    assert r.status_code == 200
    deadline = time.time() + 10
    lines = {}
    while time.time() < deadline and len(lines) < 2:
        with open(pgw.access_log) as f:
            for line in f:
                entry = json.loads(line)
                if entry.get("request_id", "").startswith("access-log-probe-"):
                    lines[entry["request_id"]] = entry
        time.sleep(0.2)
    for rid in ("access-log-probe-1", "access-log-probe-2"):
        e = lines[rid]
        assert e["project"] == "alpha" and e["model"] == LLAMA and e["status"] == 200
        assert int(e["input_tokens"]) == usage["prompt_tokens"]
        assert int(e["output_tokens"]) == usage["completion_tokens"]
        assert e["finish_reason"] == "stop"
    text = open(pgw.access_log).read()
    for secret in list(KEYS.values()) + [PERMANENT["secret_access_key"]]:
        assert secret not in text


def test_a_thinking_budget_above_the_ceiling_is_refused(pgw, standin):
    # reasoning_effort high is a 4096-token budget, so max_tokens rises to 8192: above the ceiling.
    model = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    body = chat_body(model=model, reasoning_effort="high", messages=[{"role": "user", "content": "Hi"}])
    r = post(pgw, body, headers=headers("think"))
    err = assert_openai_error(r, 400, param="reasoning_effort", kind="invalid_request_error")
    assert "3000" in err["message"]
    assert standin.requests() == []
    # low (1024 + 4096 = 5120) is still above; with max_tokens 1500 it fits (1024 + 1500).
    body.update(reasoning_effort="low", max_tokens=1500)
    r = post(pgw, body, headers=headers("think"))
    assert r.status_code == 200, r.text
    [seen] = standin.requests()
    assert seen["json"]["inferenceConfig"]["maxTokens"] == 1500


def test_a_token_budget_is_spent_by_answers_and_refilled_next_minute(pgw, standin):
    wait_for_fresh_minute()
    c = openai.OpenAI(base_url=pgw.base_url, api_key="x", max_retries=0, timeout=30,
                      default_headers=headers("tpm"))
    usage = {"inputTokens": 30, "outputTokens": 10, "totalTokens": 40}
    # 40 tokens non-streamed, 40 streamed (the count comes with the stream's metadata event): 80 < 100.
    standin.script({"usage": usage})
    assert c.chat.completions.create(model=LLAMA, messages=SEED_MESSAGES).usage.total_tokens == 40
    standin.script({"usage": usage})
    assert list(c.chat.completions.create(model=LLAMA, messages=SEED_MESSAGES, stream=True))
    # Under the budget still: this one is admitted and brings the window to 120.
    standin.script({"usage": usage})
    c.chat.completions.create(model=LLAMA, messages=SEED_MESSAGES)
    assert len(standin.requests()) == 3
    # Spent: refused before Bedrock, on either worker thread, streamed or not.
    for body in (chat_body(), chat_body(stream=True)):
        r = post(pgw, body, headers=headers("tpm"))
        err = assert_openai_error(r, 429, kind="rate_limit_error", code="rate_limit_exceeded")
        assert "100 tokens per minute" in err["message"]
    retry_after = int(r.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert len(standin.requests()) == 3
    # Another project is not affected.
    assert post(pgw, chat_body(), headers=headers("think")).status_code == 200
    # The next window admits again.
    time.sleep(retry_after + 1)
    standin.script({"usage": usage})
    assert c.chat.completions.create(model=LLAMA, messages=SEED_MESSAGES).choices[0].message.content


NOVA = "amazon.nova-pro-v1:0"
HAIKU_35 = "us.anthropic.claude-3-5-haiku-20241022-v1:0"


def test_a_pinned_tier_latency_and_no_metadata(pgw, standin):
    c = openai.OpenAI(base_url=pgw.base_url, api_key="x", max_retries=0, default_headers=headers("pin"))
    resp = c.chat.completions.create(model=NOVA, messages=SEED_MESSAGES, user="alice", metadata={"team": "x"})
    assert resp.service_tier == "flex"
    [seen] = standin.requests()
    assert seen["json"]["serviceTier"] == {"type": "flex"}
    assert seen["json"]["performanceConfig"] == {"latency": "optimized"}
    assert "requestMetadata" not in seen["json"]
    standin.reset()
    # Asking for another tier is refused; asking for the pinned one (or auto) is fine.
    r = post(pgw, chat_body(model=NOVA, service_tier="priority"), headers=headers("pin"))
    err = assert_openai_error(r, 400, param="service_tier")
    assert "flex" in err["message"]
    assert standin.requests() == []
    assert post(pgw, chat_body(model=NOVA, service_tier="auto"), headers=headers("pin")).status_code == 200
    # A model without flex cannot serve a project pinned to it.
    standin.reset()
    r = post(pgw, chat_body(model=HAIKU_35), headers=headers("pin"))
    assert_openai_error(r, 400, param="service_tier")
    assert standin.requests() == []


def test_a_default_tier_gives_way_where_the_model_lacks_it(pgw, standin):
    c = openai.OpenAI(base_url=pgw.base_url, api_key="x", max_retries=0, default_headers=headers("dflt"))
    assert c.chat.completions.create(model=NOVA, messages=SEED_MESSAGES).service_tier == "priority"
    assert c.chat.completions.create(model=NOVA, messages=SEED_MESSAGES, service_tier="flex").service_tier == "flex"
    c.chat.completions.create(model=HAIKU_35, messages=SEED_MESSAGES)
    sent = [r["json"].get("serviceTier") for r in standin.requests()]
    assert sent == [{"type": "priority"}, {"type": "flex"}, None]


def test_auto_prompt_caching_needs_no_client_change(pgw, standin):
    standin.clear_cache()
    c = openai.OpenAI(base_url=pgw.base_url, api_key="x", max_retries=0, default_headers=headers("auto"))
    messages = [{"role": "system", "content": "You are the ACME support assistant. " * 40},
                {"role": "user", "content": "Hello!"}]
    tools = [{"type": "function", "function": {"name": "lookup", "description": "Look a ticket up",
                                               "parameters": {"type": "object"}}}]
    sonnet = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    first = c.chat.completions.create(model=sonnet, messages=messages, tools=tools)
    second = c.chat.completions.create(model=sonnet, messages=messages, tools=tools)
    sent = standin.requests()[0]["json"]
    assert sent["system"][-1] == {"cachePoint": {"type": "default"}}
    assert sent["toolConfig"]["tools"][-1] == {"cachePoint": {"type": "default"}}
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    assert second.usage.prompt_tokens_details.cached_tokens > 0
