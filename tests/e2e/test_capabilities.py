"""The 9 original models: the catalog keeps their capabilities, and the gateway behaves as it says."""

import json
import os

import pytest

from e2e.helpers import ALL_MODELS, chat_body, post

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLUMNS = ["system prompt", "tools", "tools while streaming", "images"]
FIELDS = ["system", "tools", "tools_streaming", "images"]

# The contract's table of the 9 original models (BEDROCK.md): the catalog must keep it.
ORIGINAL = {
    "amazon.titan-text-express-v1": (False, False, False, False),
    "anthropic.claude-3-sonnet-20240229-v1:0": (True, True, True, True),
    "anthropic.claude-3-haiku-20240307-v1:0": (True, True, True, True),
    "anthropic.claude-3-5-sonnet-20240620-v1:0": (True, True, True, True),
    "meta.llama3-8b-instruct-v1:0": (True, False, False, False),
    "meta.llama3-70b-instruct-v1:0": (True, False, False, False),
    "mistral.mistral-7b-instruct-v0:2": (False, False, False, False),
    "mistral.mixtral-8x7b-instruct-v0:1": (False, False, False, False),
    "mistral.mistral-large-2402-v1:0": (True, True, False, False),
}


def catalog():
    with open(os.path.join(ROOT, "src", "catalog", "models.json")) as f:
        return {m["id"]: m for m in json.load(f)["models"]}


CATALOG = catalog()
CAPS = {model: dict(zip(COLUMNS, (CATALOG[model][f] for f in FIELDS), strict=True)) for model in ALL_MODELS}


def test_the_catalog_keeps_the_original_models_capabilities():
    assert sorted(ORIGINAL) == sorted(ALL_MODELS)
    for model, caps in ORIGINAL.items():
        assert tuple(CATALOG[model][f] for f in FIELDS) == caps, model


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
