"""serviceTier, performanceConfig and requestMetadata: refused where Bedrock refuses them,
echoed where Bedrock echoes them (Converse and ConverseStream metadata), recorded."""

import json
import re

import pytest

from standin import testing, tiers

NOVA_PRO = "amazon.nova-pro-v1:0"          # priority, default, flex; latency-optimized
NOVA_MICRO = "amazon.nova-micro-v1:0"      # default, flex
CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"  # default only; no latency optimization
LLAMA405 = "us.meta.llama3-1-405b-instruct-v1:0"   # latency-optimized
HI = [{"role": "user", "content": [{"text": "Hello there"}]}]


def converse(url, model, **kwargs):
    return testing.client(url).converse(modelId=model, messages=HI, **kwargs)


def metadata(url, model, **kwargs):
    events = list(testing.client(url).converse_stream(modelId=model, messages=HI, **kwargs)["stream"])
    return events[-1]["metadata"]


def refused(url, model, stream=False, **kwargs):
    return testing.refused(testing.client(url), model, HI, stream, **kwargs)


# -- serviceTier ------------------------------------------------------------------------------------


@pytest.mark.parametrize("model, tier", [(NOVA_PRO, "priority"), (NOVA_PRO, "flex"), (NOVA_MICRO, "flex"),
                                         (CLAUDE, "default")])
def test_the_tier_served_is_echoed(url, model, tier):
    assert converse(url, model, serviceTier={"type": tier})["serviceTier"] == {"type": tier}
    assert metadata(url, model, serviceTier={"type": tier})["serviceTier"] == {"type": tier}


def test_no_tier_asked_no_tier_echoed(url):
    assert "serviceTier" not in converse(url, NOVA_PRO)
    assert "serviceTier" not in metadata(url, NOVA_PRO)


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("model, tier", [(NOVA_MICRO, "priority"), (CLAUDE, "flex"), (CLAUDE, "priority")])
def test_a_tier_the_model_is_not_served_in(url, model, tier, stream):
    assert refused(url, model, stream, serviceTier={"type": tier}) == tiers.UNSUPPORTED_TIER


def test_reserved_needs_a_reservation(url):
    assert refused(url, NOVA_PRO, serviceTier={"type": "reserved"}) == tiers.NO_RESERVATION


def test_tier_shape_follows_botocore(url):
    for tier, fragment in [({"type": "cheapest"}, "serviceTier.type"), ({}, "type"), ("flex", "serviceTier")]:
        status, _, data = testing.call(url, NOVA_PRO, {"messages": HI, "serviceTier": tier})
        assert status == 400 and fragment in json.loads(data)["message"], data


# -- performanceConfig -----------------------------------------------------------------------------


@pytest.mark.parametrize("model", [NOVA_PRO, LLAMA405])
def test_optimized_is_served_where_the_model_has_it(url, model):
    assert converse(url, model, performanceConfig={"latency": "optimized"})["performanceConfig"] == {
        "latency": "optimized"}
    assert metadata(url, model, performanceConfig={"latency": "optimized"})["performanceConfig"] == {
        "latency": "optimized"}


def test_optimized_falls_back_to_standard_elsewhere(url):
    out = converse(url, CLAUDE, performanceConfig={"latency": "optimized"})
    assert out["performanceConfig"] == {"latency": "standard"}
    assert metadata(url, CLAUDE, performanceConfig={"latency": "optimized"})["performanceConfig"] == {
        "latency": "standard"}


def test_standard_and_nothing(url):
    assert converse(url, NOVA_PRO, performanceConfig={"latency": "standard"})["performanceConfig"] == {
        "latency": "standard"}
    assert "performanceConfig" not in converse(url, NOVA_PRO)


def test_tier_and_latency_together(url):
    out = converse(url, NOVA_PRO, serviceTier={"type": "flex"}, performanceConfig={"latency": "optimized"})
    assert out["serviceTier"] == {"type": "flex"} and out["performanceConfig"] == {"latency": "optimized"}


def test_latency_enum_follows_botocore(url):
    status, _, data = testing.call(url, NOVA_PRO, {"messages": HI, "performanceConfig": {"latency": "turbo"}})
    assert status == 400
    assert "performanceConfig.latency" in json.loads(data)["message"]
    assert "Member must satisfy enum value set: [standard, optimized]" in json.loads(data)["message"]


# -- requestMetadata --------------------------------------------------------------------------------


def test_request_metadata_is_recorded(url, recorded):
    meta = {"project": "alpha", "user": "u-1@example.com", "path": "a/b c:d=e+f,g-h.#$"}
    converse(url, CLAUDE, requestMetadata=meta)
    assert recorded()[-1]["request_metadata"] == meta
    converse(url, CLAUDE)
    assert "request_metadata" not in recorded()[-1]


def test_sixteen_pairs_and_the_length_limits_are_fine(url):
    meta = {f"k{i}": "v" * 256 for i in range(15)}
    meta["k" * 256] = ""
    converse(url, CLAUDE, requestMetadata=meta)


@pytest.mark.parametrize("meta, fragment", [
    ({f"k{i}": "v" for i in range(17)}, "Member must have length less than or equal to 16"),
    ({}, "Member must have length greater than or equal to 1"),
    ({"": "v"}, "valid min length: 1"),  # botocore's ParamValidator checks string minimums first
    ({"k" * 257: "v"}, "Member must have length less than or equal to 256"),
    ({"k": "v" * 257}, "Member must have length less than or equal to 256"),
    ({"key!": "v"}, "Member must satisfy regular expression pattern: [a-zA-Z0-9\\s:_@$#=/+,-.]{1,256}"),
    ({"k": "caf\u00e9"}, "Member must satisfy regular expression pattern: [a-zA-Z0-9\\s:_@$#=/+,-.]{0,256}"),
    ({"k": "a*b"}, "Member must satisfy regular expression pattern"),
])
def test_request_metadata_constraints(url, recorded, meta, fragment):
    status, headers, data = testing.call(url, CLAUDE, {"messages": HI, "requestMetadata": meta})
    assert status == 400 and headers["x-amzn-errortype"].startswith("ValidationException:")
    message = json.loads(data)["message"]
    assert fragment in message and "requestMetadata" in message
    assert re.match(r"\d validation errors? detected: ", message)  # the pattern also fails past 256
