"""Embeddings in operation: every credential mode (the caller's AWS keys and Bedrock API
key, the proxy's environment, Envoy's own signer), per-project policy (allowed models,
requests and tokens per minute), metrics and the access log labelled by endpoint, and
the Envoy plumbing of the filter's own calls: the internal listener `bedrock_callouts`
resolves a host its DNS cache has never seen (the dynamic forward proxy's path to
bedrock-runtime.<region>.amazonaws.com), which a call made straight to the dynamic
forward proxy cluster cannot.

  hdrs  the caller's aws-* headers (AWS keys or a Bedrock API key)
  envc  credentials "environment": the proxy's own keys
  envy  credentials "envoy": signed by Envoy's aws_request_signing filter
  allow allowed_models: Cohere only
  rpm   requests_per_minute 1
  tpm   tokens_per_minute 10
"""

import json
import os
import re
import subprocess
import sys
import time

import openai
import pytest
import requests
import yaml

from e2e.conftest import (
    GATEWAY_PY,
    ROOT,
    Gateway,
    free_port,
    http_get,
    launch_gateway,
    plugin_configuration,
    stop,
    wait_until,
)
from e2e.helpers import assert_openai_error, post
from e2e.keys import PERMANENT, aws_headers
from e2e.test_deploy_configs import ENVOY
from standin.credentials import BEARER_LONG_TERM
from standin.embeddings import tokens

PATH = "/v1/amazon-bedrock/embeddings"
TITAN = "amazon.titan-embed-text-v2:0"
COHERE = "cohere.embed-english-v3"
KEYS = {"hdrs": "sk-emb-hdrs-0000000000000000000001", "envc": "sk-emb-envc-0000000000000000000002",
        "envy": "sk-emb-envy-0000000000000000000003", "allow": "sk-emb-allow-000000000000000000004",
        "rpm": "sk-emb-rpm-00000000000000000000005", "tpm": "sk-emb-tpm-00000000000000000000006"}
POLICIES = {"envc": {"credentials": "environment"}, "envy": {"credentials": "envoy"},
            "allow": {"allowed_models": [COHERE]}, "rpm": {"requests_per_minute": 1},
            "tpm": {"tokens_per_minute": 10}}


@pytest.fixture(scope="module")
def ogw(standin, tmp_path_factory):
    work = tmp_path_factory.mktemp("embeddings-ops")
    (work / "policies.json").write_text(json.dumps(POLICIES))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(PROJECT_API_KEYS=",".join(f"{n}={k}" for n, k in KEYS.items()),
               PROJECT_POLICIES=str(work / "policies.json"), AWS_ENDPOINT_URL_BEDROCK_RUNTIME=standin.url,
               AWS_ACCESS_KEY_ID=PERMANENT["access_key_id"], AWS_SECRET_ACCESS_KEY=PERMANENT["secret_access_key"],
               AWS_REGION="us-east-1", ENVOY_SIGNER_REGION="us-east-1", ENVOY_SIGNER_CREDENTIALS="environment")
    access = str(work / "access.log")
    g = launch_gateway(work, env, "--concurrency", "2", "--flush-ms", "100", "--access-log-path", access,
                       what="embeddings operations gateway")
    g.access_log = access
    yield g
    stop(g.proc)


def headers(project, **extra):
    h = {"Project-Api-Key": KEYS[project], "Content-Type": "application/json"}
    if project not in ("envc", "envy"):
        h.update(aws_headers())
    h.update(extra)
    return h


def embed(gw, project, model=TITAN, inputs=("a", "b", "c"), **extra):
    return post(gw, {"model": model, "input": list(inputs), "encoding_format": "float"}, path=PATH,
                headers=headers(project, **extra))


def invoked(standin):
    return [r for r in standin.requests() if r["operation"] == "InvokeModel"]


def signer(seen):
    auth = dict((k.lower(), v) for k, v in seen["headers"]).get("authorization", "")
    return auth.split("Credential=", 1)[1].split("/", 1)[0] if "Credential=" in auth else auth.split(" ")[0]


# ---------------------------------------------------------------- credentials


@pytest.mark.parametrize("project,extra,kind,key_id", [
    ("hdrs", {}, "sigv4", PERMANENT["access_key_id"]),
    ("envc", {}, "sigv4", PERMANENT["access_key_id"]),
    ("envy", {}, "sigv4", PERMANENT["access_key_id"]),
], ids=["caller-keys", "environment", "envoy-signer"])
def test_every_call_of_a_batch_is_signed_as_the_project_says(ogw, standin, project, extra, kind, key_id):
    r = embed(ogw, project, **extra)
    assert r.status_code == 200, r.text
    seen = invoked(standin)
    assert len(seen) == 3 and all(s["status"] == 200 for s in seen)  # botocore accepted each signature
    for s in seen:
        assert s["auth"]["kind"] == kind and signer(s) == key_id
        names = {k.lower() for k, _ in s["headers"]}
        assert "x-bedrock-openai-signer" not in names  # the callout route removed the marker
        assert not any(n.startswith("aws-") or n == "project-api-key" for n in names)


def test_a_caller_s_bedrock_api_key(ogw, standin):
    h = {"Project-Api-Key": KEYS["hdrs"], "Content-Type": "application/json",
         "aws-bearer-token-bedrock": BEARER_LONG_TERM, "aws-region-name": "us-east-1"}
    r = post(ogw, {"model": COHERE, "input": ["x", "y"]}, path=PATH, headers=h)
    assert r.status_code == 200, r.text
    [seen] = invoked(standin)
    assert seen["status"] == 200 and seen["auth"]["kind"] == "bearer"
    assert BEARER_LONG_TERM not in json.dumps(seen)


def test_envoy_signs_only_the_marked_calls(ogw, standin):
    def signed():
        text = requests.get(f"{ogw.admin_url}/stats", timeout=5).text
        m = re.search(r"^cluster\.bedrock_signed\.aws_request_signing\.signing_added: (\d+)$", text, re.M)
        return int(m.group(1)) if m else 0
    before = signed()
    assert embed(ogw, "hdrs", inputs=["a", "b"]).status_code == 200
    assert signed() == before
    assert embed(ogw, "envy", inputs=["a", "b"]).status_code == 200
    assert signed() == before + 2


# ---------------------------------------------------------------- policy


def test_allowed_models(ogw, standin):
    assert_openai_error(embed(ogw, "allow"), 403, param="model", code="model_not_allowed")
    assert embed(ogw, "allow", model=COHERE).status_code == 200
    assert len(invoked(standin)) == 1


def test_requests_per_minute_count_requests_not_calls(ogw, standin):
    first = embed(ogw, "rpm", inputs=[f"t{i}" for i in range(5)])
    assert first.status_code == 200, first.text
    assert len(invoked(standin)) == 5
    again = embed(ogw, "rpm")
    assert_openai_error(again, 429, code="rate_limit_exceeded")


def test_tokens_per_minute_spend_bedrock_s_counts(ogw, standin):
    inputs = ["x" * 40, "y" * 40]  # 20 tokens by the stand-in's count: over the budget of 10
    r = embed(ogw, "tpm", inputs=inputs)
    assert r.status_code == 200, r.text
    assert r.json()["usage"]["total_tokens"] == sum(tokens(t) for t in inputs)
    assert_openai_error(embed(ogw, "tpm"), 429, code="rate_limit_exceeded")


# ---------------------------------------------------------------- metrics and the access log


def test_metrics_and_access_log_say_embeddings(ogw, standin):
    rid = "embeddings-access-log-probe"
    r = embed(ogw, "hdrs", model=COHERE, inputs=["metric one", "metric two"], **{"x-request-id": rid})
    assert r.status_code == 200
    total = r.json()["usage"]["total_tokens"]
    deadline = time.time() + 10
    line = None
    while time.time() < deadline and line is None:
        with open(ogw.access_log) as f:
            line = next((json.loads(x) for x in f if rid in x), None)
        time.sleep(0.2)
    assert line is not None
    assert line["endpoint"] == "embeddings" and line["model"] == COHERE and line["project"] == "hdrs"
    assert line["status"] == 200 and line["total_tokens"] == str(total)  # what the fleet budget reads
    prom = requests.get(f"{ogw.admin_url}/stats/prometheus", timeout=5).text
    label = 'endpoint="embeddings",project="hdrs",model="cohere_embed-english-v3",status="200"'
    assert re.search(r"^bedrock_openai_requests\{" + re.escape(label) + r"\} [1-9]", prom, re.M), prom[-2000:]
    tokens_label = 'endpoint="embeddings",project="hdrs",model="cohere_embed-english-v3"'
    assert re.search(r"^bedrock_openai_input_tokens\{" + re.escape(tokens_label) + r"\} [1-9]", prom, re.M)
    for secret in [*KEYS.values(), PERMANENT["secret_access_key"]]:
        assert secret not in prom and secret not in open(ogw.access_log).read()
        assert secret not in ogw.log_text()


# ---------------------------------------------------------------- the dynamic forward proxy


@pytest.fixture(scope="module")
def dfp_gw(standin, tmp_path_factory):
    """The shipped dynamic-forward-proxy config, its TLS taken off and the filter's endpoint
    set to http://localhost:<stand-in port>: every call's host must be resolved by Envoy's
    DNS cache, which starts empty."""
    work = tmp_path_factory.mktemp("embeddings-dfp")
    port, admin = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(GATEWAY_PORT=str(port), ADMIN_PORT=str(admin), PROJECT_API_KEYS=f"hdrs={KEYS['hdrs']}")
    r = subprocess.run([sys.executable, GATEWAY_PY, "--print-config"], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    cfg = yaml.safe_load(r.stdout)
    configuration = plugin_configuration(cfg)  # either build's filter
    plugin = json.loads(configuration["value"])
    plugin["upstream"] = {"endpoint": "http://localhost:" + standin.url.rsplit(":", 1)[1]}
    configuration["value"] = json.dumps(plugin)
    [cluster] = [c for c in cfg["static_resources"]["clusters"] if c["name"] == "bedrock"]
    assert cluster["cluster_type"]["name"] == "envoy.clusters.dynamic_forward_proxy"
    del cluster["transport_socket"]
    cluster["cluster_type"]["typed_config"]["allow_insecure_cluster_options"] = True
    options = cluster["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
    options["upstream_http_protocol_options"] = {"auto_sni": False, "auto_san_validation": False}
    path = work / "envoy.yaml"
    path.write_text(yaml.safe_dump(cfg))
    log = str(work / "envoy.log")
    with open(work / "stdout.log", "w") as out:
        proc = subprocess.Popen([ENVOY, "-c", str(path), "--disable-hot-restart", "--concurrency", "1",
                                 "--log-path", log, "--file-flush-interval-msec", "100"],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    g = Gateway(port, admin, proc, log)
    wait_until(proc, lambda: http_get(f"{g.admin_url}/ready") == (200, "LIVE\n"), "dfp gateway", log)
    yield g
    stop(proc)


def test_calls_resolve_a_host_the_dns_cache_has_never_seen(dfp_gw, standin):
    c = openai.OpenAI(base_url=dfp_gw.base_url, api_key="sk-openai-unused", max_retries=0, timeout=30,
                      default_headers={"Project-Api-Key": KEYS["hdrs"], **aws_headers()})
    r = c.embeddings.create(model=TITAN, input=["cold", "cache", "hosts"])  # the very first request
    assert len(r.data) == 3
    seen = invoked(standin)
    assert len(seen) == 3 and all(s["status"] == 200 for s in seen)
    host = {k.lower(): v for k, v in seen[0]["headers"]}["host"]
    assert host.startswith("localhost:")
