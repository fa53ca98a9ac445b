"""Documents and citations: Bedrock's rules for ``document`` blocks (in messages and in
tool results), and the ``citationsContent`` blocks of an answer that cites one.

botocore's shapes (DocumentBlock: ``format`` in DocumentFormat = pdf | csv | doc | docx
| xls | xlsx | html | txt | md, ``name`` 1-200 characters, ``source`` a union of bytes
(at least 1 byte) | s3Location | text | content, ``context``, ``citations.enabled``)
are enforced by :mod:`validation`. Bedrock's own rules, with their sources:

- the model must take documents (catalog ``documents``); in a tool result too. No
  public wording: the stand-in's sentence, in the style of its image refusal;
- "You can only include images and documents if the role is user" (botocore
  Message.content);
- the name: "The document file name can only contain alphanumeric characters,
  whitespace characters, hyphens, parentheses, and square brackets. The name can't
  contain more than one consecutive whitespace character. Check that the file name
  conforms to these restrictions and retry your request." (vercel/ai#20365,
  simonw/llm-bedrock#8). Measured by peers against Bedrock: ASCII letters and digits
  only, the space as the only whitespace (a tab or U+3000 is refused), and underscores
  accepted although undocumented (vercel/ai#20366, aws-samples/generative-ai-use-cases#1671);
- names are unique across the whole request, history included: "Messages can't
  contain duplicate document names. Rename the document and retry your request."
  (maximhq/bifrost#7003, ag-ui-protocol/ag-ui#2425);
- "You can't include more than 5 documents in a request." (aws-samples/
  generative-ai-use-cases#1685; botocore Message.content: "up to five documents");
- "The maximum document size is 4.5 MB. Reduce the size of your document and retry
  your request." (Boise-State-Development/agentcore-public-stack#206; botocore:
  "Each document's size must be no more than 4.5 MB"; 4.5 MiB as brave-browser#54325);
- a message with a document also needs a text block: "A text block must be included
  when using documents." (maximhq/bifrost#5817; botocore Message.content);
- citations: "This model doesn't support citations." (boto/boto3#4608); "Citations are
  not supported in tool result documents." (boto/boto3#4648); "Unsupported document
  format. Only txt and pdf formats are supported when citations are enabled."
  (boto/boto3#4726).

An answer to a request with a cited document carries a ``citationsContent`` block
between two text blocks (realdata n18): ``citations: [{location, sourceContent:
[{text}], title}]`` and ``content: [{text}]``; ``title`` is the document's name,
``location`` is ``documentPage`` (1 to 2) for a PDF, ``documentChar`` for text and
``documentChunk`` for a content source, ``documentIndex`` the document's place among
the request's documents. Streamed (realdata s13): the block's first delta is
``{"citation": {...}}``, then its text deltas, with no contentBlockStart.
"""

import re

from .errors import validation

MAX_DOCUMENTS = 5
MAX_BYTES = 4.5 * 1024 * 1024
_NAME = re.compile(r"[A-Za-z0-9_ ()\[\]-]+")
NAME_RULE = ("The document file name can only contain alphanumeric characters, whitespace characters, hyphens, "
             "parentheses, and square brackets. The name can't contain more than one consecutive whitespace "
             "character. Check that the file name conforms to these restrictions and retry your request.")
DUPLICATE = "Messages can't contain duplicate document names. Rename the document and retry your request."
TOO_MANY = f"You can't include more than {MAX_DOCUMENTS} documents in a request."
TOO_BIG = "The maximum document size is 4.5 MB. Reduce the size of your document and retry your request."
NEEDS_TEXT = "A text block must be included when using documents."
NO_CITATIONS = "This model doesn't support citations."
NO_TOOL_CITATIONS = "Citations are not supported in tool result documents."
CITATION_FORMATS = "Unsupported document format. Only txt and pdf formats are supported when citations are enabled."


def _size(source):
    if "bytes" in source:
        return len(source["bytes"])
    if "text" in source:
        return len(source["text"].encode("utf-8"))
    return sum(len(b.get("text", "").encode("utf-8")) for b in source.get("content", []))


def _cites(document):
    return bool((document.get("citations") or {}).get("enabled"))


def _check_document(document, where, caps, in_tool_result):
    if not caps.documents:
        raise validation(f"This model doesn't support documents. Remove the document at {where} and try again.")
    name = document["name"]
    if not _NAME.fullmatch(name) or "  " in name:
        raise validation(NAME_RULE)
    if _size(document["source"]) > MAX_BYTES:
        raise validation(TOO_BIG)
    if _cites(document):
        if in_tool_result:
            raise validation(NO_TOOL_CITATIONS)
        if not caps.row["citations"]:
            raise validation(NO_CITATIONS)
        if document.get("format") not in (None, "pdf", "txt"):
            raise validation(CITATION_FORMATS)


def _documents(messages):
    """``(document, where, message index, in a tool result)`` for every document, in order."""
    for i, message in enumerate(messages):
        for j, block in enumerate(message["content"]):
            if "document" in block:
                yield block["document"], f"messages.{i}.content.{j}", i, False
            for k, inner in enumerate((block.get("toolResult") or {}).get("content", [])):
                if "document" in inner:
                    yield inner["document"], f"messages.{i}.content.{j}.toolResult.content.{k}", i, True


def check(params, caps):
    """Bedrock's document and citation rules; raise a 400 ValidationException."""
    messages = params.get("messages", [])
    names, count = set(), 0
    for document, where, i, in_tool_result in _documents(messages):
        if not in_tool_result and messages[i]["role"] != "user":
            raise validation(f"The document block at {where} must be in a user message. You can only include "
                             "images and documents if the role is user.")
        _check_document(document, where, caps, in_tool_result)
        if document["name"] in names:
            raise validation(DUPLICATE)
        names.add(document["name"])
        count += 0 if in_tool_result else 1
    if count > MAX_DOCUMENTS:
        raise validation(TOO_MANY)
    for message in messages:
        content = message["content"]
        if any("document" in b for b in content) and not any("text" in b for b in content):
            raise validation(NEEDS_TEXT)


# -- the answer ----------------------------------------------------------------------------


def _snippet(document):
    source = document["source"]
    if "text" in source:
        text = source["text"]
    elif "content" in source:
        text = next((b["text"] for b in source["content"] if b.get("text", "").strip()), "")
    elif "bytes" in source and document.get("format") != "pdf":
        text = source["bytes"].decode("utf-8", "replace")
    else:
        text = ""
    text = " ".join(text.split())[:200].strip()
    return text or f"The first page of {document['name']}."


def cited(params):
    """``(index among the request's documents, document)`` of the document the answer cites, or None:
    the last one with citations enabled (the most recent turn's, when several)."""
    found, index = None, 0
    for message in params.get("messages", []):
        for block in message["content"]:
            if "document" in block:
                if _cites(block["document"]):
                    found = (index, block["document"])
                index += 1
    return found


def citations_blocks(index, document):
    """The answer's content with a citation of ``document``: text, citationsContent, text."""
    snippet = _snippet(document)
    source = document["source"]
    if document.get("format") == "pdf" or ("bytes" in source and document.get("format") is None):
        location = {"documentPage": {"documentIndex": index, "start": 1, "end": 2}}
    elif "content" in source:
        location = {"documentChunk": {"documentIndex": index, "start": 0, "end": 1}}
    else:
        location = {"documentChar": {"documentIndex": index, "start": 0, "end": len(snippet)}}
    citation = {"location": location, "sourceContent": [{"text": snippet}], "title": document["name"]}
    return [{"text": "According to the document, "},
            {"citationsContent": {"citations": [citation], "content": [{"text": snippet}]}},
            {"text": "."}]


def block_words(block):
    """Words of an answer block's text (citationsContent included)."""
    if "text" in block:
        return len(block["text"].split())
    if "citationsContent" in block:
        return sum(len(c.get("text", "").split()) for c in block["citationsContent"]["content"])
    return 0
