"""The model capability table: the code's table (src/models.rs), the README's, and the gateway's behaviour."""

import os
import re

import pytest

from e2e.helpers import ALL_MODELS, chat_body, post

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLUMNS = ["system prompt", "tools", "tools while streaming", "images"]

# `model("id", system_prompt, tools, tools_streaming, images)`, possibly split over lines by rustfmt
MODEL_CALL = re.compile(r'\bmodel\(\s*"([^"]+)"\s*,\s*(true|false)\s*,\s*(true|false)\s*,\s*(true|false)\s*,'
                        r'\s*(true|false)\s*,?\s*\)')
README_HEADER = "| model | system prompt | tools | tools while streaming | images |"
README_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|" + r"\s*(yes|no)\s*\|" * 4 + r"\s*$")


def code_table():
    with open(os.path.join(ROOT, "src", "models.rs")) as f:
        src = f.read()
    body = src[src.index("pub const MODELS"):]
    body = body[:body.index("];")]
    return [(m[0], *(v == "true" for v in m[1:])) for m in MODEL_CALL.findall(body)]


def readme_table():
    path = os.path.join(ROOT, "README.md")
    assert os.path.isfile(path), "README.md does not exist yet"
    with open(path) as f:
        lines = [line.strip() for line in f]
    start = lines.index(README_HEADER)
    assert re.fullmatch(r"\|(\s*-+\s*\|){5}", lines[start + 1].replace(":", "")), lines[start + 1]
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        m = README_ROW.match(line)
        assert m, f"README capability row not in the expected format: {line!r}"
        rows.append((m[1], *(v == "yes" for v in m.groups()[1:])))
    return rows


CODE = code_table()
CAPS = {row[0]: dict(zip(COLUMNS, row[1:], strict=False)) for row in CODE}


def test_code_table_lists_every_supported_model_once():
    assert [row[0] for row in CODE] == ALL_MODELS


def test_readme_capability_table_matches_the_code():
    assert readme_table() == CODE


# ---- the gateway behaves as the table says ----

WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
# a real 1x1 red PNG
PNG_1x1 = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")


@pytest.mark.parametrize("model", ALL_MODELS)
def test_gateway_follows_the_table(gateway, standin, model):
    caps = CAPS[model]
    # system prompt: a system block, or the text put in front of the first user turn
    r = post(gateway, chat_body(model=model, messages=[{"role": "system", "content": "Be brief."},
                                                       {"role": "user", "content": "Hi"}]))
    assert r.status_code == 200, r.text
    [seen] = standin.requests()
    assert ("system" in seen["json"]) == caps["system prompt"]
    standin.reset()
    # tools, not streamed
    r = post(gateway, chat_body(model=model, messages=[{"role": "user", "content": "weather?"}], tools=[WEATHER]))
    assert r.status_code == (200 if caps["tools"] else 400), r.text
    assert len(standin.requests()) == (1 if caps["tools"] else 0)
    standin.reset()
    # tools, streamed: ConverseStream only where the model takes tools while streaming
    r = post(gateway, chat_body(model=model, messages=[{"role": "user", "content": "weather?"}], tools=[WEATHER],
                                stream=True))
    assert r.status_code == (200 if caps["tools"] else 400), r.text
    if caps["tools"]:
        assert r.headers["content-type"] == "text/event-stream"
        assert '"tool_calls"' in r.text and r.text.endswith("data: [DONE]\n\n")
        [seen] = standin.requests()
        assert seen["operation"] == ("ConverseStream" if caps["tools while streaming"] else "Converse")
    else:
        assert standin.requests() == []
    standin.reset()
    # images
    image = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_1x1}"}}
    r = post(gateway, chat_body(model=model, messages=[{"role": "user", "content": [
        {"type": "text", "text": "What is this?"}, image]}]))
    assert r.status_code == (200 if caps["images"] else 400), r.text
    assert len(standin.requests()) == (1 if caps["images"] else 0)
