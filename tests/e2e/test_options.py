"""Bedrock's request options through the official OpenAI SDKs: service tiers (the answer
says which served, streamed and not), latency-optimized inference, and request metadata
for cost attribution within Bedrock's limits. The stand-in checks each field against
botocore's model and the catalog, and echoes the tier as Bedrock does. Per-project
defaults and pins are in test_policy.py."""

import openai
import pytest

from e2e.helpers import LLAMA, assert_openai_error, chat_body, node, post

NOVA = "amazon.nova-pro-v1:0"                                  # priority, default, flex; latency-optimized
HAIKU_35 = "us.anthropic.claude-3-5-haiku-20241022-v1:0"       # standard tier only; latency-optimized
MESSAGES = [{"role": "user", "content": "Hello!"}]


def converse(standin):
    [seen] = standin.requests()
    assert seen["status"] == 200, seen
    return seen


@pytest.mark.parametrize("tier", ["priority", "default", "flex"])
def test_each_service_tier(client, standin, tier):
    resp = client.chat.completions.create(model=NOVA, messages=MESSAGES, service_tier=tier)
    assert converse(standin)["json"]["serviceTier"] == {"type": tier}
    assert resp.service_tier == tier


def test_auto_leaves_the_tier_to_bedrock(client, standin):
    resp = client.chat.completions.create(model=NOVA, messages=MESSAGES, service_tier="auto")
    assert "serviceTier" not in converse(standin)["json"]
    # The answer says only what Bedrock reports (the stand-in, like the recordings, nothing here).
    assert resp.service_tier is None


def test_the_tier_of_a_streamed_answer_comes_with_its_usage(client, standin):
    chunks = list(client.chat.completions.create(model=NOVA, messages=MESSAGES, service_tier="flex", stream=True,
                                                 stream_options={"include_usage": True}))
    assert converse(standin)["operation"] == "ConverseStream"
    assert chunks[-1].choices == [] and chunks[-1].service_tier == "flex"
    assert all(c.service_tier is None for c in chunks[:-1])


def test_the_npm_sdk_reads_the_tier(gateway, standin):
    [done] = node(gateway, {"model": NOVA, "messages": MESSAGES, "service_tier": "priority"})
    assert done["completion"]["service_tier"] == "priority"


def test_latency_optimized(client, standin):
    client.chat.completions.create(model=HAIKU_35, messages=MESSAGES,
                                   extra_body={"performanceConfig": {"latency": "optimized"}})
    assert converse(standin)["json"]["performanceConfig"] == {"latency": "optimized"}


def test_request_metadata_for_cost_attribution(client, standin):
    client.chat.completions.create(model=LLAMA, messages=MESSAGES, user="alice@example.com",
                                   metadata={"team": "search", "ticket": "OPS-1234"})
    seen = converse(standin)
    assert seen["request_metadata"] == {"project": "alpha", "user": "alice@example.com",
                                        "team": "search", "ticket": "OPS-1234"}


def test_every_request_names_its_project(client, standin):
    client.chat.completions.create(model=LLAMA, messages=MESSAGES)
    assert converse(standin)["request_metadata"] == {"project": "alpha"}


REFUSALS = [
    ("tier-the-model-lacks", dict(model=HAIKU_35, service_tier="flex"), "service_tier"),
    ("openai-only-tier", dict(model=NOVA, service_tier="scale"), "service_tier"),
    ("latency-the-model-lacks", dict(model=LLAMA, performanceConfig={"latency": "optimized"}),
     "performanceConfig.latency"),
    ("latency-unknown", dict(model=NOVA, performanceConfig={"latency": "fastest"}), "performanceConfig.latency"),
    ("too-many-pairs", dict(metadata={f"k{i}": "v" for i in range(16)}), "metadata"),
    ("reserved-key", dict(metadata={"project": "someone-else"}), "metadata"),
    ("bad-characters", dict(metadata={"note": "semi;colon"}), "metadata"),
    ("long-value", dict(metadata={"note": "x" * 257}), "metadata"),
    ("user-characters", dict(user="ünïcode"), "user"),
]


@pytest.mark.parametrize("fields,param", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_refusals_never_reach_bedrock(gateway, standin, fields, param):
    r = post(gateway, chat_body(messages=MESSAGES, **fields))
    assert_openai_error(r, 400, param=param, kind="invalid_request_error")
    assert standin.requests() == []


def test_fifteen_pairs_fit(client, standin):
    client.chat.completions.create(model=LLAMA, messages=MESSAGES, metadata={f"k{i}": "v" for i in range(15)})
    assert len(converse(standin)["request_metadata"]) == 16


def test_the_sdk_raises_the_refusal(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=HAIKU_35, messages=MESSAGES, service_tier="flex")
    assert e.value.body["param"] == "service_tier"
