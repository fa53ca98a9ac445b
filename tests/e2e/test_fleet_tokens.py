"""One token budget for a fleet: two gateways (two Envoys) with envoy/ratelimit.yaml's
global rate-limit filter share one rate-limit service (e2e/fake_rls.py, in this process).

Each gateway is scripts/gateway.py's rendered config with the fragment's http_filter
and ratelimit cluster spliced in (the cluster pointed at the fake RLS, and a gRPC
metadata header naming the gateway so the RLS can tell them apart).

  fleet  no limit: the exact hits each request adds
  spent  a budget of BUDGET tokens per window
  reqs   REQUEST_LIMIT requests per window
"""

import copy
import os
import subprocess
import sys
import time

import openai
import pytest
import yaml

from e2e.conftest import (
    GATEWAY_PY,
    ROOT,
    Gateway,
    filter_index,
    free_port,
    http_get,
    require_artifact,
    stop,
    wait_until,
)
from e2e.fake_rls import OK, OVER_LIMIT, Call, FakeRLS
from e2e.helpers import LLAMA, SEED_MESSAGES, assert_openai_error, chat_body, post
from e2e.keys import aws_headers
from e2e.test_deploy_configs import ENVOY

RATELIMIT_YAML = os.path.join(ROOT, "envoy", "ratelimit.yaml")
DOMAIN = "bedrock-gateway"
KEYS = {"fleet": "sk-fleet-tokens-0000000000000000000001",
        "spent": "sk-fleet-spent-00000000000000000000002",
        "reqs": "sk-fleet-reqs-000000000000000000000003"}
BUDGET = 100
REQUEST_LIMIT = 3


def tokens(project):
    return (("budget", "tokens"), ("project", project))


def requests_of(project):
    return (("budget", "requests"), ("project", project))


def admission(gw, project, code=OK):
    """The request-time call: the token check (adds 0) and the request count (adds 1)."""
    return Call(gw, DOMAIN, [(tokens(project), 0), (requests_of(project), 1)], code)


def charge(gw, project, total, code=OK):
    """The stream-done call: the answer's total_tokens (Envoy ignores its answer)."""
    return Call(gw, DOMAIN, [(tokens(project), total)], code)


def with_global_rate_limit(cfg, frag, rls_port, name):
    """cfg with the fragment's filters around the bedrock filter (either build's: admission after it,
    charge before it) and its cluster at 127.0.0.1:rls_port."""
    cfg = copy.deepcopy(cfg)
    hcm = cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    i = filter_index(hcm)
    hcm["http_filters"].insert(i + 1, copy.deepcopy(frag["http_filter"]))
    hcm["http_filters"].insert(i, copy.deepcopy(frag["charge_http_filter"]))
    for f in (hcm["http_filters"][i], hcm["http_filters"][i + 2]):
        grpc_service = f["typed_config"]["rate_limit_service"]["grpc_service"]
        grpc_service["initial_metadata"] = [{"key": "x-gateway", "value": name}]
    cluster = frag["cluster"]
    cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"] = {
        "socket_address": {"address": "127.0.0.1", "port_value": rls_port}}
    cfg["static_resources"]["clusters"].append(cluster)
    return cfg


@pytest.fixture(scope="module")
def rls():
    with FakeRLS({tokens("spent"): BUDGET, requests_of("reqs"): REQUEST_LIMIT}) as r:
        yield r


def start_gateway(name, standin, rls, work):
    port, admin = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(GATEWAY_PORT=str(port), ADMIN_PORT=str(admin),
               PROJECT_API_KEYS=",".join(f"{n}={k}" for n, k in KEYS.items()),
               AWS_ENDPOINT_URL_BEDROCK_RUNTIME=standin.url)
    r = subprocess.run([sys.executable, GATEWAY_PY, "--print-config", "--access-log-path", str(work / "access.log")],
                       env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    frag = yaml.safe_load(open(RATELIMIT_YAML, encoding="utf-8"))
    path = work / "envoy.yaml"
    path.write_text(yaml.safe_dump(with_global_rate_limit(yaml.safe_load(r.stdout), frag, rls.port, name)))
    log = str(work / "envoy.log")
    with open(work / "stdout.log", "w") as out:
        proc = subprocess.Popen([ENVOY, "-c", str(path), "--disable-hot-restart", "--concurrency", "1",
                                 "--log-path", log, "--file-flush-interval-msec", "100"],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    g = Gateway(port, admin, proc, log)
    g.name = name
    return g


@pytest.fixture(scope="module")
def fleet(standin, rls, tmp_path_factory):
    require_artifact()
    gws = [start_gateway(n, standin, rls, tmp_path_factory.mktemp(f"fleet-{n}")) for n in ("a", "b")]
    try:
        for g in gws:
            wait_until(g.proc, lambda g=g: http_get(f"{g.admin_url}/ready") == (200, "LIVE\n"),
                       f"gateway {g.name}", g.log_path)
        yield gws
    finally:
        for g in gws:
            stop(g.proc)


def client(gw, project):
    return openai.OpenAI(base_url=gw.base_url, api_key="sk-openai-unused", max_retries=0, timeout=30,
                         default_headers={"Project-Api-Key": KEYS[project], **aws_headers()})


def usage(prompt, completion):
    return {"usage": {"inputTokens": prompt, "outputTokens": completion, "totalTokens": prompt + completion}}


def ask(gw, project, stream=False, include_usage=None):
    """One chat completion through gw; the usage the client saw (None when a stream has none)."""
    c = client(gw, project)
    if not stream:
        return c.chat.completions.create(model=LLAMA, messages=SEED_MESSAGES).usage
    extra = {} if include_usage is None else {"stream_options": {"include_usage": include_usage}}
    seen = None
    for chunk in c.chat.completions.create(model=LLAMA, messages=SEED_MESSAGES, stream=True, **extra):
        seen = chunk.usage or seen
    return seen


def settled(rls, n):
    """The RLS calls once there are n, and no more arrive."""
    calls = rls.wait_for_calls(n)
    time.sleep(0.3)
    assert rls.calls == calls, rls.calls[len(calls):]
    return calls


def test_both_gateways_charge_the_answers_exact_tokens_to_one_budget(fleet, rls, standin):
    a, b = fleet
    rls.reset()
    start = len(rls.calls)
    cases = [(a, False, None, 11, 31), (b, True, True, 23, 19), (a, True, False, 7, 5), (b, True, None, 40, 2)]
    expected = []
    for gw, stream, include_usage, prompt, completion in cases:
        standin.script(usage(prompt, completion))
        seen = ask(gw, "fleet", stream, include_usage)
        if not stream or include_usage:
            assert (seen.prompt_tokens, seen.completion_tokens, seen.total_tokens) == \
                (prompt, completion, prompt + completion)
        else:
            assert seen is None
        expected += [admission(gw.name, "fleet"), charge(gw.name, "fleet", prompt + completion)]
        # the charge comes at stream done, after the client has the answer
        assert settled(rls, start + len(expected))[start:] == expected
    assert rls.count(DOMAIN, tokens("fleet")) == sum(p + c for *_, p, c in cases)
    assert rls.count(DOMAIN, requests_of("fleet")) == len(cases)


def assert_rate_limited(gw, project, stream):
    with pytest.raises(openai.RateLimitError) as e:
        ask(gw, project, stream, True if stream else None)
    r = e.value.response
    err = assert_openai_error(r, 429, kind="rate_limit_error", code="rate_limit_exceeded")
    # Envoy's rate-limit filter answered, not Bedrock: the message says so.
    assert "shared by the gateways" in err["message"], err
    return r


def test_a_spent_budget_refuses_through_either_gateway_until_the_next_window(fleet, rls, standin):
    a, b = fleet
    rls.reset()
    start = len(rls.calls)
    standin.script(usage(20, 40))
    ask(a, "spent")                                 # 60 of 100
    standin.script(usage(30, 20))
    seen = ask(b, "spent", stream=True, include_usage=True)  # admitted at 60; 110 once charged
    assert seen.total_tokens == 50                   # the answer going over is delivered whole
    assert settled(rls, start + 4)[start:] == [
        admission("a", "spent"), charge("a", "spent", 60),
        admission("b", "spent"), charge("b", "spent", 50, OVER_LIMIT)]
    assert rls.count(DOMAIN, tokens("spent")) == 110
    refused = [(a, False), (b, False), (a, True), (b, True)]
    for gw, stream in refused:
        assert_rate_limited(gw, "spent", stream)
    calls = settled(rls, start + 4 + len(refused))[start + 4:]
    # one admission call each, answered OVER_LIMIT; no charge (no answer, no total_tokens)
    assert calls == [admission(gw.name, "spent", OVER_LIMIT) for gw, _ in refused]
    assert rls.count(DOMAIN, tokens("spent")) == 110
    assert len(standin.requests()) == 2             # the refused ones never reached Bedrock

    rls.reset()                                     # the next window
    standin.script(usage(3, 4))
    ask(b, "spent")
    standin.script(usage(5, 6))
    ask(a, "spent", stream=True)
    assert settled(rls, start + 4 + len(refused) + 4)[-4:] == [
        admission("b", "spent"), charge("b", "spent", 7), admission("a", "spent"), charge("a", "spent", 11)]
    assert rls.count(DOMAIN, tokens("spent")) == 18


def test_the_request_limit_is_fleet_wide(fleet, rls, standin):
    a, b = fleet
    rls.reset()
    start = len(rls.calls)
    for i in range(REQUEST_LIMIT):
        ask(fleet[i % 2], "reqs")
    settled(rls, start + 2 * REQUEST_LIMIT)
    for gw in (a, b):
        assert_rate_limited(gw, "reqs", stream=False)
    assert settled(rls, start + 2 * REQUEST_LIMIT + 2)[-2:] == [
        admission("a", "reqs", OVER_LIMIT), admission("b", "reqs", OVER_LIMIT)]
    assert rls.count(DOMAIN, requests_of("reqs")) == REQUEST_LIMIT + 2
    assert len(standin.requests()) == REQUEST_LIMIT
    rls.reset()
    before = len(rls.calls)
    ask(b, "reqs")
    settled(rls, before + 2)  # its admission and its charge, which comes after the answer


def test_embeddings_answered_by_the_filter_itself_are_charged_too(fleet, rls, standin):
    a, _ = fleet
    rls.reset()
    start = len(rls.calls)
    r = client(a, "fleet").embeddings.create(model="amazon.titan-embed-text-v2:0", input=["one", "two", "three"])
    total = r.usage.total_tokens
    assert total > 0
    # The filter replied itself: no admission (the filter after it never saw the
    # request), the charge at stream done from the filter before it.
    assert settled(rls, start + 1)[start:] == [charge("a", "fleet", total)]
    assert rls.count(DOMAIN, tokens("fleet")) == total


def test_what_the_filter_or_bedrock_refuses_charges_nothing(fleet, rls, standin):
    a, b = fleet
    rls.reset()
    start = len(rls.calls)
    for gw in (a, b):
        r = post(gw, chat_body(), headers={"Project-Api-Key": "sk-wrong", "Content-Type": "application/json",
                                           **aws_headers()})
        assert_openai_error(r, 401, code="invalid_api_key")
        r = post(gw, None, raw=b'{"model": ', headers={"Project-Api-Key": KEYS["fleet"],
                                                       "Content-Type": "application/json", **aws_headers()})
        assert_openai_error(r, 400, kind="invalid_request_error")
    assert standin.requests() == []
    # refused before going upstream: the RLS hears nothing at all
    time.sleep(0.5)
    assert rls.calls[start:] == []
    # Bedrock's own refusal: admitted (checked), but no usage, so no charge
    standin.script({"error": "ThrottlingException", "message": "slow down"})
    with pytest.raises(openai.RateLimitError):
        ask(a, "fleet")
    assert settled(rls, start + 1)[start:] == [admission("a", "fleet")]
    assert rls.count(DOMAIN, tokens("fleet")) == 0
