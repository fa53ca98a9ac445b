"""Documents: Bedrock's rules for document blocks in messages and tool results, and the
citationsContent answer to a cited document (Converse and ConverseStream, botocore)."""

import base64
import json

import pytest

from standin import documents, testing

SONNET45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"   # documents and citations
HAIKU3 = "anthropic.claude-3-haiku-20240307-v1:0"            # documents, no citations
NOVA_PRO = "amazon.nova-pro-v1:0"                            # documents, no citations
QWEN = "qwen.qwen3-32b-v1:0"                                 # no documents, no images
QWEN_VL = "qwen.qwen3-vl-235b-a22b"                          # images, no documents
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n fake"
TOOLS = {"tools": [{"toolSpec": {"name": "fetch", "inputSchema": {"json": {"type": "object"}}}}]}


def doc(name="report", fmt="pdf", data=PDF, cite=False, **source):
    block = {"format": fmt, "name": name, "source": source or {"bytes": data}}
    if cite:
        block["citations"] = {"enabled": True}
    return {"document": block}


def text_doc(name="notes", text="The sky is blue today. The grass is green.", cite=True):
    return doc(name, "txt", cite=cite, text=text)


def user(*blocks):
    return {"role": "user", "content": list(blocks)}


def assistant(*blocks):
    return {"role": "assistant", "content": list(blocks) or [{"text": "ok"}]}


def ask(*blocks):
    return user(*blocks, {"text": "What does it say?"})


def converse(url, model, messages, **kwargs):
    return testing.client(url).converse(modelId=model, messages=messages, **kwargs)


def refused(url, model, messages, stream=False, **kwargs):
    return testing.refused(testing.client(url), model, messages, stream, **kwargs)


def tool_turns(*result_content):
    return [user({"text": "fetch it"}),
            assistant({"toolUse": {"toolUseId": "tooluse_1", "name": "fetch", "input": {}}}),
            user({"toolResult": {"toolUseId": "tooluse_1", "content": list(result_content)}})]


# -- accepted ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md"])
def test_each_botocore_format_is_taken(url, fmt):
    out = converse(url, SONNET45, [ask(doc(fmt=fmt, data=b"a,b\n1,2\n"))])
    assert out["stopReason"] == "end_turn"


@pytest.mark.parametrize("name", ["report", "my report (v2) [final]", "Q3-results", "test_name", " padded "])
def test_names_bedrock_takes(url, name):
    converse(url, SONNET45, [ask(doc(name))])


def test_five_documents_with_unique_names_across_turns(url):
    messages = [ask(doc("a"), doc("b")), assistant(), ask(doc("c"), doc("d"), doc("e"))]
    converse(url, SONNET45, messages)


def test_tool_results_carry_documents_and_images_where_the_model_takes_them(url):
    converse(url, SONNET45, tool_turns({"document": doc("result")["document"]},
                                       {"image": {"format": "png", "source": {"bytes": PNG}}}), toolConfig=TOOLS)
    converse(url, QWEN_VL, tool_turns({"image": {"format": "png", "source": {"bytes": PNG}}}), toolConfig=TOOLS)


# -- refused ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["report.pdf", "two  spaces", "tab\there", "résumé", "John's report",
                                  "a/b", "full\u3000width"])
def test_name_rule(url, name):
    assert refused(url, SONNET45, [ask(doc(name))]) == documents.NAME_RULE


def test_name_length_follows_botocore(url):
    status, _, data = testing.call(url, SONNET45, {"messages": [
        {"role": "user", "content": [{"document": {"format": "pdf", "name": "x" * 201,
                                                   "source": {"bytes": base64.b64encode(PDF).decode()}}},
                                     {"text": "hi"}]}]})
    assert status == 400 and "messages.0.content.0.document.name" in json.loads(data)["message"]


@pytest.mark.parametrize("messages", [
    [ask(doc("same"), doc("same"))],
    [ask(doc("same")), assistant(), ask(doc("same"))],
])
def test_names_are_unique_in_the_whole_request(url, messages):
    assert refused(url, SONNET45, messages) == documents.DUPLICATE


def test_a_tool_result_document_shares_the_names(url):
    turns = tool_turns({"document": doc("same")["document"]})
    messages = [ask(doc("same")), *turns[1:]]
    assert refused(url, SONNET45, messages, toolConfig=TOOLS) == documents.DUPLICATE


def test_six_documents_are_too_many(url):
    messages = [ask(doc("a"), doc("b"), doc("c")), assistant(), ask(doc("d"), doc("e"), doc("f"))]
    assert refused(url, SONNET45, messages) == documents.TOO_MANY


def test_the_size_limit(url):
    big = "x" * (int(documents.MAX_BYTES) + 1)
    assert refused(url, SONNET45, [ask(doc("big", "txt", text=big))]) == documents.TOO_BIG
    converse(url, SONNET45, [ask(doc("fits", "txt", text=big[:-1]))])


@pytest.mark.parametrize("messages", [
    [user(doc())],
    [user({"text": "Read the next message"}), assistant(), user(doc())],
])
def test_a_document_needs_a_text_block_beside_it(url, messages):
    assert refused(url, SONNET45, messages) == documents.NEEDS_TEXT


def test_documents_only_in_user_turns(url):
    message = refused(url, SONNET45, [ask(), assistant({"text": "here"}, doc()), ask()])
    assert "must be in a user message" in message


@pytest.mark.parametrize("stream", [False, True])
def test_a_model_without_documents_refuses_them(url, stream):
    assert "doesn't support documents" in refused(url, QWEN, [ask(doc())], stream=stream)
    assert "doesn't support documents" in refused(
        url, QWEN, tool_turns({"document": doc()["document"]}), toolConfig=TOOLS)


def test_a_model_without_images_refuses_them_in_tool_results(url):
    message = refused(url, QWEN, tool_turns({"image": {"format": "png", "source": {"bytes": PNG}}}), toolConfig=TOOLS)
    assert "doesn't support image content" in message


def test_citations_rules(url):
    assert refused(url, HAIKU3, [ask(text_doc())]) == documents.NO_CITATIONS
    assert refused(url, NOVA_PRO, [ask(text_doc())]) == documents.NO_CITATIONS
    assert refused(url, SONNET45, [ask(doc(fmt="docx", cite=True))]) == documents.CITATION_FORMATS
    result = tool_turns({"document": text_doc()["document"]})
    assert refused(url, SONNET45, result, toolConfig=TOOLS) == documents.NO_TOOL_CITATIONS
    converse(url, HAIKU3, [ask(text_doc(cite=False))])  # a plain document is fine


def test_document_members_follow_botocore(url):
    for block, fragment in [
        ({"format": "rtf", "name": "x", "source": {"text": "y"}}, "document.format"),
        ({"format": "pdf", "name": "x", "source": {"bytes": ""}}, "document.source.bytes"),
        ({"format": "pdf", "source": {"text": "y"}}, "name"),
    ]:
        status, _, data = testing.call(url, SONNET45, {"messages": [
            {"role": "user", "content": [{"document": block}, {"text": "hi"}]}]})
        assert status == 400 and fragment in json.loads(data)["message"], data


# -- the cited answer ----------------------------------------------------------------------------


def test_cited_answer_has_bedrocks_citations_content_shape(url):
    out = converse(url, SONNET45, [ask(text_doc())])
    first, cited, last = out["output"]["message"]["content"]
    assert set(first) == {"text"} and set(last) == {"text"}
    block = cited["citationsContent"]
    assert set(block) == {"citations", "content"}
    [citation] = block["citations"]
    assert set(citation) == {"location", "sourceContent", "title"}
    assert citation["title"] == "notes"
    assert citation["sourceContent"] == [{"text": "The sky is blue today. The grass is green."}]
    assert citation["location"] == {"documentChar": {"documentIndex": 0, "start": 0, "end": 42}}
    assert block["content"] == [{"text": "The sky is blue today. The grass is green."}]


@pytest.mark.parametrize("cited, location", [
    (doc("paper", cite=True), {"documentPage": {"documentIndex": 1, "start": 1, "end": 2}}),
    (doc("chunks", "txt", cite=True, content=[{"text": "Chunk one."}, {"text": "Chunk two."}]),
     {"documentChunk": {"documentIndex": 1, "start": 0, "end": 1}}),
])
def test_location_kind_follows_the_source_and_index_counts_documents(url, cited, location):
    out = converse(url, SONNET45, [ask(doc("plain")), assistant(), ask(cited)])
    citation = out["output"]["message"]["content"][1]["citationsContent"]["citations"][0]
    assert citation["location"] == location and citation["title"] == cited["document"]["name"]


def test_streamed_citation_delta_comes_first_in_its_block(url):
    out = testing.client(url).converse_stream(modelId=SONNET45, messages=[ask(text_doc())])
    events = list(out["stream"])
    assert not any("contentBlockStart" in e for e in events)
    deltas = [e["contentBlockDelta"] for e in events if "contentBlockDelta" in e]
    block1 = [d["delta"] for d in deltas if d["contentBlockIndex"] == 1]
    assert set(block1[0]) == {"citation"} and all(set(d) == {"text"} for d in block1[1:])
    citation = block1[0]["citation"]
    assert citation["title"] == "notes" and citation["location"]["documentChar"]["documentIndex"] == 0
    converse_text = [b for b in converse(url, SONNET45, [ask(text_doc())])["output"]["message"]["content"]]
    assert "".join(d["text"] for d in block1[1:]) == converse_text[1]["citationsContent"]["content"][0]["text"]
    assert "".join(d["delta"]["text"] for d in deltas if d["contentBlockIndex"] == 0) == converse_text[0]["text"]


def test_citations_content_goes_back_in_assistant_turns_of_citing_models(url):
    answer = converse(url, SONNET45, [ask(text_doc())])["output"]["message"]
    converse(url, SONNET45, [ask(text_doc()), answer, user({"text": "thanks"})])
    message = refused(url, HAIKU3, [ask(), answer, user({"text": "thanks"})])
    assert "citationsContent" in message
