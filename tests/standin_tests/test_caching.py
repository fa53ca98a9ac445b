"""Prompt caching: cachePoint rules per model and position, and the simulated cache's
read/write counts in usage (Converse and ConverseStream, through botocore)."""

import pytest

from standin import caching, reasoning, testing

SONNET45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"   # system/messages/tools, 1h TTL
SONNET37 = "apac.anthropic.claude-3-7-sonnet-20250219-v1:0"  # system/messages/tools, 5m only
HAIKU35 = "us.anthropic.claude-3-5-haiku-20241022-v1:0"      # caching and latency-optimized
NOVA_PRO = "amazon.nova-pro-v1:0"                            # system/messages only, 5m only
LLAMA = "meta.llama3-70b-instruct-v1:0"                      # no prompt caching
PREFIX = "The model returned the following errors: "
CP = {"cachePoint": {"type": "default"}}
CP_1H = {"cachePoint": {"type": "default", "ttl": "1h"}}
LONG = "You are a careful assistant. " * 30
SYSTEM = [{"text": LONG}, CP]
HI = [{"role": "user", "content": [{"text": "Hello there"}]}]
TOOLS = [{"toolSpec": {"name": "get_weather", "description": "Weather in a city",
                       "inputSchema": {"json": {"type": "object"}}}}]


def client(url, model):
    return testing.client(url, region="ap-southeast-1" if model.startswith("apac.") else testing.REGION)


def converse(url, model, messages=HI, **kwargs):
    return client(url, model).converse(modelId=model, messages=messages, **kwargs)


def refused(url, model, messages=HI, stream=False, **kwargs):
    return testing.refused(client(url, model), model, messages, stream, **kwargs)


def user(*blocks):
    return {"role": "user", "content": list(blocks)}


def assistant(*blocks):
    return {"role": "assistant", "content": list(blocks)}


# -- which models and positions ----------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_a_model_without_prompt_caching_answers_403(url, recorded, stream):
    message = refused(url, LLAMA, system=SYSTEM, stream=stream, code="AccessDeniedException", status=403)
    assert message == "You invoked an unsupported model or your request did not allow prompt caching."
    assert recorded()[-1]["error_type"] == "AccessDeniedException"


def test_nova_refuses_a_tools_cache_point(url):
    message = refused(url, NOVA_PRO, toolConfig={"tools": [*TOOLS, CP]})
    assert message == (PREFIX + "Malformed input request: #/toolConfig/tools/1: extraneous key [cachePoint] is "
                       "not permitted, please reformat your input and try again.")


@pytest.mark.parametrize("model", [NOVA_PRO, SONNET37, SONNET45])
def test_system_and_message_points_where_the_model_caches(url, model):
    out = converse(url, model, [user({"text": "Hello there"}, CP)], system=SYSTEM)
    assert out["usage"]["cacheWriteInputTokens"] > 0


def test_claude_takes_a_tools_cache_point(url):
    out = converse(url, SONNET45, toolConfig={"tools": [*TOOLS, CP]})
    assert out["usage"]["cacheWriteInputTokens"] > 0


# -- ttl -------------------------------------------------------------------------------------------


def test_one_hour_ttl_where_the_model_has_it(url):
    out = converse(url, SONNET45, system=[{"text": LONG}, CP_1H])
    assert out["usage"]["cacheDetails"] == [{"ttl": "1h", "inputTokens": out["usage"]["cacheWriteInputTokens"]}]


def test_one_hour_ttl_refused_by_claude_without_it(url):
    message = refused(url, SONNET37, [user({"text": "Hello there"}, CP_1H)])
    assert message == PREFIX + "messages.0.content.0.cache_control.ttl: Extra inputs are not permitted"


def test_one_hour_ttl_refused_by_nova(url):
    assert refused(url, NOVA_PRO, system=[{"text": LONG}, CP_1H]) == (
        "Extended TTL prompt caching is only supported for Anthropic models")


def test_five_minute_ttl_is_accepted_everywhere_caching_is(url):
    for model in (SONNET37, NOVA_PRO):
        converse(url, model, system=[{"text": LONG}, {"cachePoint": {"type": "default", "ttl": "5m"}}])


def test_ttls_must_not_grow_along_tools_system_messages(url):
    message = refused(url, SONNET45, toolConfig={"tools": [*TOOLS, CP]}, system=[{"text": LONG}, CP_1H])
    assert message == (PREFIX + "system.0.cache_control.ttl: a ttl='1h' cache_control block must not come after a "
                       "ttl='5m' cache_control block. Note that blocks are processed in the following order: "
                       "`tools`, `system`, `messages`.")
    messages = [user({"text": "a"}), assistant({"text": "b"}), user({"text": "c"}, {"text": "d"}, CP_1H)]
    message = refused(url, SONNET45, messages, system=[{"text": LONG}, CP])
    assert message.startswith(PREFIX + "messages.2.content.1.cache_control.ttl: a ttl='1h'")
    converse(url, SONNET45, messages, system=[{"text": LONG}, CP_1H])  # 1h then 1h: fine


# -- how many and where -------------------------------------------------------------------------


def five_points():
    return dict(system=[{"text": "one"}, CP, {"text": "two"}, CP],
                messages=[user({"text": "three"}, CP, {"text": "four"}, CP, {"text": "five"}, CP)])


def test_at_most_four_cache_points(url):
    assert refused(url, SONNET45, **five_points()) == (
        PREFIX + "A maximum of 4 blocks with cache_control may be provided. Found 5.")
    assert "at most 4 cache points" in refused(url, NOVA_PRO, **five_points())
    four = five_points()
    four["messages"][0]["content"].pop()
    converse(url, SONNET45, **four)


@pytest.mark.parametrize("kwargs", [
    dict(messages=[user(CP, {"text": "Hello there"})]),
    dict(system=[CP, {"text": LONG}]),
    dict(toolConfig={"tools": [CP, *TOOLS]}),
    dict(messages=[user({"text": "earlier"}), assistant({"text": "ok"}), user(CP, {"text": "now"})]),
    dict(messages=[user({"text": "read this"}), assistant({"text": "ok"}),
                   user({"document": {"format": "txt", "name": "notes", "source": {"text": "x"}}}, CP,
                        {"text": "and this"})]),
])
def test_a_point_needs_content_before_it_in_its_own_list(url, kwargs):
    kwargs.setdefault("messages", HI)
    assert refused(url, SONNET45, **kwargs) == caching.NOTHING


def test_a_point_cannot_follow_a_reasoning_block(url):
    thought = {"reasoningContent": {"reasoningText": {"text": "hm", "signature": reasoning.sign("hm")}}}
    messages = [user({"text": "hi"}), assistant(thought, CP, {"text": "hello"}), user({"text": "again"})]
    assert refused(url, SONNET45, messages) == caching.AFTER_REASONING


def test_claude_refuses_cache_points_when_latency_optimized_is_served(url):
    message = refused(url, HAIKU35, system=SYSTEM, performanceConfig={"latency": "optimized"})
    assert message == PREFIX + "system.0.cache_control: Extra inputs are not permitted"
    converse(url, HAIKU35, system=SYSTEM, performanceConfig={"latency": "standard"})
    # Sonnet 4.5 has no latency-optimized version: served standard, so the point is fine.
    converse(url, SONNET45, system=SYSTEM, performanceConfig={"latency": "optimized"})


# -- the simulated cache --------------------------------------------------------------------------


def usage_of(url, model, stream=False, **kwargs):
    c = client(url, model)
    if not stream:
        return c.converse(modelId=model, **kwargs)["usage"]
    events = list(c.converse_stream(modelId=model, **kwargs)["stream"])
    return events[-1]["metadata"]["usage"]


def consistent(usage):
    assert usage["totalTokens"] == (usage["inputTokens"] + usage["outputTokens"] + usage["cacheReadInputTokens"]
                                    + usage["cacheWriteInputTokens"])
    return usage


@pytest.mark.parametrize("stream", [False, True])
def test_first_request_writes_then_an_identical_prefix_reads(url, stream):
    first = consistent(usage_of(url, SONNET45, stream, system=SYSTEM, messages=HI))
    assert first["cacheReadInputTokens"] == 0 and first["cacheWriteInputTokens"] == len(LONG.split())
    assert first["cacheDetails"] == [{"ttl": "5m", "inputTokens": len(LONG.split())}]
    assert first["inputTokens"] == 2  # "Hello there": the uncached part only (realdata n12)
    second = consistent(usage_of(url, SONNET45, stream, system=SYSTEM,
                                 messages=[user({"text": "Another question entirely"})]))
    assert second["cacheReadInputTokens"] == len(LONG.split()) and second["cacheWriteInputTokens"] == 0
    assert "cacheDetails" not in second and second["inputTokens"] == 3


def test_a_different_prefix_or_model_misses(url):
    usage_of(url, SONNET45, system=SYSTEM, messages=HI)
    changed = usage_of(url, SONNET45, system=[{"text": LONG + "!"}, CP], messages=HI)
    assert changed["cacheReadInputTokens"] == 0 and changed["cacheWriteInputTokens"] > 0
    other = usage_of(url, NOVA_PRO, system=SYSTEM, messages=HI)
    assert other["cacheReadInputTokens"] == 0


def test_the_longest_cached_prefix_is_read_and_the_rest_written(url):
    turn1 = [user({"text": "first question here"}, CP)]
    first = usage_of(url, SONNET45, system=SYSTEM, messages=turn1)
    assert first["cacheWriteInputTokens"] == len(LONG.split()) + 3
    turn2 = [user({"text": "first question here"}), assistant({"text": "an answer"}),
             user({"text": "second one"}, CP)]
    second = consistent(usage_of(url, SONNET45, system=SYSTEM, messages=turn2))
    assert second["cacheReadInputTokens"] == len(LONG.split())  # the system point
    assert second["cacheWriteInputTokens"] == 3 + 2 + 2
    assert second["inputTokens"] == 0


def test_cache_details_split_writes_by_ttl_one_hour_first(url):
    usage = usage_of(url, SONNET45, system=[{"text": LONG}, CP_1H], messages=[user({"text": "a b c"}, CP)])
    assert usage["cacheDetails"] == [{"ttl": "1h", "inputTokens": len(LONG.split())}, {"ttl": "5m", "inputTokens": 3}]


def test_tool_definitions_are_cached_too(url):
    first = usage_of(url, SONNET45, toolConfig={"tools": [*TOOLS, CP]}, messages=HI)
    assert first["cacheWriteInputTokens"] > 0 and first["inputTokens"] == 2
    again = usage_of(url, SONNET45, toolConfig={"tools": [*TOOLS, CP]}, messages=HI)
    assert again["cacheReadInputTokens"] == first["cacheWriteInputTokens"]


def test_without_cache_points_claude_reports_zero_and_others_nothing(url):
    # realdata: Claude 3.7 and later answer cacheRead/WriteInputTokens 0 (n09, n10); Nova Pro (n14) and
    # models without caching (n01, n02) leave both out.
    usage = usage_of(url, SONNET45, messages=HI)
    assert usage["cacheReadInputTokens"] == usage["cacheWriteInputTokens"] == 0 and "cacheDetails" not in usage
    assert consistent(usage_of(url, SONNET37, stream=True, messages=HI))["cacheWriteInputTokens"] == 0
    for model in (NOVA_PRO, LLAMA, "anthropic.claude-3-haiku-20240307-v1:0"):
        assert set(usage_of(url, model, messages=HI)) == {"inputTokens", "outputTokens", "totalTokens"}


def test_control_api_lists_clears_and_reset_forgets_the_cache(url, recorded):
    usage_of(url, SONNET45, system=SYSTEM, messages=HI)
    status, entries = testing.control(url, "GET", "/_standin/cache")
    assert status == 200 and [e["ttl"] for e in entries] == ["5m"] and entries[0]["tokens"] == len(LONG.split())
    assert recorded()[-1]["cache"] == {"cacheReadInputTokens": 0, "cacheWriteInputTokens": len(LONG.split())}
    assert testing.control(url, "DELETE", "/_standin/cache") == (200, {"ok": True})
    assert usage_of(url, SONNET45, system=SYSTEM, messages=HI)["cacheReadInputTokens"] == 0
    testing.control(url, "POST", "/_standin/reset")
    assert testing.control(url, "GET", "/_standin/cache") == (200, [])


def test_entries_expire_after_their_ttl():
    now = [100.0]
    cache = caching.Cache(clock=lambda: now[0])
    params, size = {"system": SYSTEM, "messages": HI}, len(LONG.split())
    assert cache.usage(params, "m", size + 2, 1)["cacheWriteInputTokens"] == size
    now[0] += 299
    assert cache.usage(params, "m", size + 2, 1)["cacheReadInputTokens"] == size  # a read refreshes the TTL
    now[0] += 299
    assert cache.usage(params, "m", size + 2, 1)["cacheReadInputTokens"] == size
    now[0] += 301
    assert cache.usage(params, "m", size + 2, 1)["cacheReadInputTokens"] == 0
