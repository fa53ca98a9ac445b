"""Prompt caching and documents end to end, through the official OpenAI SDKs.

The stand-in keeps a cache as Bedrock does (keyed by the model and everything before a
cache point, with Bedrock's usage fields) and refuses what Bedrock refuses: cache points
where a model takes none, more than four, a `1h` time to live where it is not offered,
documents with a bad name, more than five, without text beside them.
"""

import base64
import json

import pytest

from e2e.helpers import assert_openai_error, chat_body, node, post

SONNET_45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"  # caches system, messages, tools; 1h ttl
HAIKU_35 = "us.anthropic.claude-3-5-haiku-20241022-v1:0"     # caches, 5 minutes only
NOVA = "amazon.nova-pro-v1:0"                                 # caches system and messages, not tools
LLAMA = "meta.llama3-8b-instruct-v1:0"                        # no caching
NOVA_MICRO = "amazon.nova-micro-v1:0"                         # no documents
LONG = "You are a careful assistant for the ACME support desk. " * 40
WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                             "parameters": {"type": "object",
                                                            "properties": {"location": {"type": "string"}}}}}


def cached(text, ttl=None):
    mark = {"type": "ephemeral", **({"ttl": ttl} if ttl else {})}
    return [{"type": "text", "text": text, "cache_control": mark}]


def conversation(question="What are your opening hours?", ttl=None):
    return [{"role": "system", "content": cached(LONG, ttl)}, {"role": "user", "content": question}]


def sent(standin):
    """The last Converse body the stand-in answered (the cache survives: no reset)."""
    seen = standin.requests()[-1]
    assert seen["status"] == 200, seen
    return seen["json"]


def usage_of(resp):
    u = resp.usage
    assert u.prompt_tokens + u.completion_tokens == u.total_tokens, u
    return u


@pytest.fixture(autouse=True)
def _empty_cache(standin):
    standin.clear_cache()


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_a_cached_system_prompt_is_written_then_read(client, standin, stream):
    def ask():
        if stream:
            chunks = list(client.chat.completions.create(model=SONNET_45, messages=conversation(), stream=True,
                                                         stream_options={"include_usage": True}))
            return chunks[-1]
        return client.chat.completions.create(model=SONNET_45, messages=conversation())

    first = usage_of(ask())
    c = sent(standin)
    assert c["system"][1] == {"cachePoint": {"type": "default"}}
    second = usage_of(ask())
    sent(standin)
    # The first wrote the prefix (counted in prompt_tokens), the second read it.
    assert first.prompt_tokens_details.cached_tokens == 0
    assert second.prompt_tokens_details.cached_tokens > 0
    assert second.prompt_tokens == first.prompt_tokens  # same prompt, however it was served
    assert second.prompt_tokens_details.cached_tokens < second.prompt_tokens


def test_cache_points_in_each_position(client, standin):
    tools = [{**WEATHER, "cache_control": {"type": "ephemeral"}}]
    messages = [{"role": "system", "content": cached(LONG)},
                {"role": "user", "content": cached("Here is a long ticket history. " * 30)},
                {"role": "assistant", "content": "Noted."},
                {"role": "user", "content": "Summarize it."}]
    client.chat.completions.create(model=SONNET_45, messages=messages, tools=tools)
    c = sent(standin)
    assert c["toolConfig"]["tools"][-1] == {"cachePoint": {"type": "default"}}
    assert c["system"][-1] == {"cachePoint": {"type": "default"}}
    assert c["messages"][0]["content"][-1] == {"cachePoint": {"type": "default"}}
    # Nova caches no tools: that marker is dropped, the others kept.
    client.chat.completions.create(model=NOVA, messages=messages, tools=tools)
    c = sent(standin)
    assert all("cachePoint" not in t for t in c["toolConfig"]["tools"])
    assert c["system"][-1] == {"cachePoint": {"type": "default"}}


def test_an_hour_where_it_is_offered(client, standin):
    client.chat.completions.create(model=SONNET_45, messages=conversation(ttl="1h"))
    assert sent(standin)["system"][1] == {"cachePoint": {"type": "default", "ttl": "1h"}}
    # Claude 3.5 Haiku keeps five minutes: the ttl is dropped, Bedrock's default applies.
    client.chat.completions.create(model=HAIKU_35, messages=conversation(ttl="1h"))
    assert sent(standin)["system"][1] == {"cachePoint": {"type": "default"}}


def test_past_four_the_last_four_are_kept(client, standin):
    messages = [{"role": "system", "content": cached(LONG)}]
    for i in range(4):
        messages += [{"role": "user", "content": cached(f"Part {i}: " + "details " * 60)},
                     {"role": "assistant", "content": "Noted."}]
    messages.append({"role": "user", "content": "Go on."})
    client.chat.completions.create(model=SONNET_45, messages=messages)
    c = sent(standin)
    points = ["cachePoint" in b for b in c["system"]] + [
        "cachePoint" in b for m in c["messages"] for b in m["content"]]
    assert sum(points) == 4
    assert "cachePoint" not in c["system"][-1]  # the earliest was dropped


def test_a_model_without_caching_gets_no_cache_points(client, standin):
    resp = client.chat.completions.create(model=LLAMA, messages=conversation())
    c = sent(standin)
    assert all("cachePoint" not in b for b in c.get("system", []))
    assert resp.usage.prompt_tokens_details is None


def test_the_npm_sdk_reads_cached_tokens(gateway, standin):
    for _ in range(2):
        [done] = node(gateway, {"model": SONNET_45, "messages": conversation()})
    assert done["completion"]["usage"]["prompt_tokens_details"]["cached_tokens"] > 0


# ---------------------------------------------------------------- documents


def file_part(data, mime, filename):
    return {"type": "file", "file": {"filename": filename,
                                     "file_data": f"data:{mime};base64,{base64.b64encode(data).decode()}"}}


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
CSV = b"region,revenue\nemea,10\namer,12\n"


@pytest.mark.parametrize("mime,data,name,fmt", [
    ("application/pdf", PDF, "Q3 report (final).pdf", "pdf"),
    ("text/csv", CSV, "sales_2026.csv", "csv"),
])
def test_a_document_becomes_a_named_document_block(client, standin, mime, data, name, fmt):
    resp = client.chat.completions.create(model=SONNET_45, messages=[{"role": "user", "content": [
        {"type": "text", "text": "Summarize this."}, file_part(data, mime, name)]}])
    assert resp.choices[0].message.content
    [text, doc] = sent(standin)["messages"][0]["content"]
    assert text == {"text": "Summarize this."}
    assert doc["document"]["format"] == fmt
    assert base64.b64decode(doc["document"]["source"]["bytes"]) == data
    assert doc["document"]["name"] == {"pdf": "Q3 report (final)", "csv": "sales-2026"}[fmt]


def test_documents_alone_get_the_text_bedrock_wants(client, standin):
    client.chat.completions.create(model=SONNET_45, messages=[{"role": "user", "content": [
        file_part(CSV, "text/csv", "a.csv"), file_part(CSV, "text/csv", "a.csv")]}])
    blocks = sent(standin)["messages"][0]["content"]
    names = [b["document"]["name"] for b in blocks if "document" in b]
    assert names == ["a", "a (2)"]
    assert any("text" in b for b in blocks)


def test_a_tool_result_carries_an_image(client, standin):
    png = base64.b64encode(bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5b0000000049454e44ae426082")).decode()
    history = [{"role": "user", "content": "Chart the weather."},
               {"role": "assistant", "content": None, "tool_calls": [
                   {"id": "tooluse_chart1", "type": "function",
                    "function": {"name": "get_weather", "arguments": json.dumps({"location": "Paris"})}}]},
               {"role": "tool", "tool_call_id": "tooluse_chart1", "content": [
                   {"type": "text", "text": "Here is the chart."},
                   {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}}]}]
    client.chat.completions.create(model=SONNET_45, messages=history, tools=[WEATHER])
    result = sent(standin)["messages"][-1]["content"][0]["toolResult"]
    assert result["toolUseId"] == "tooluse_chart1"
    assert result["content"][0] == {"text": "Here is the chart."}
    assert result["content"][1]["image"]["format"] == "png"


DOC_REFUSALS = [
    ("no-documents-model", NOVA_MICRO, [file_part(CSV, "text/csv", "a.csv"), {"type": "text", "text": "x"}],
     "messages.[0].content.[0]"),
    ("unknown-mime", SONNET_45, [file_part(b"x", "application/x-thing", "a.bin"), {"type": "text", "text": "x"}],
     "messages.[0].content.[0].file.file_data"),
    ("six-documents", SONNET_45, [file_part(CSV, "text/csv", f"d{i}.csv") for i in range(6)], "messages"),
    ("file-id", SONNET_45, [{"type": "file", "file": {"file_id": "file-abc"}}], "messages.[0].content.[0].file"),
]


@pytest.mark.parametrize("model,content,param", [r[1:] for r in DOC_REFUSALS], ids=[r[0] for r in DOC_REFUSALS])
def test_document_refusals_never_reach_bedrock(gateway, standin, model, content, param):
    r = post(gateway, chat_body(model=model, messages=[{"role": "user", "content": content}]))
    err = assert_openai_error(r, 400, kind="invalid_request_error")
    assert err["param"].startswith(param), err
    assert standin.requests() == []
