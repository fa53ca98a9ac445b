"""What the stand-in answers to a valid request: default answer or a queued script."""

import json
import re
import secrets

from . import documents, reasoning, structured, tiers

_WEATHER = re.compile(r"\bweather\b", re.IGNORECASE)


def _texts(blocks):
    for block in blocks:
        if "text" in block:
            yield block["text"]
        if "toolResult" in block:
            yield from _texts(block["toolResult"].get("content", []))


def input_words(params):
    """Whitespace-separated words across all text in system and messages (incl. tool results)."""
    words = sum(len(t.split()) for t in _texts(params.get("system", [])))
    for message in params.get("messages", []):
        words += sum(len(t.split()) for t in _texts(message["content"]))
    return words


def new_tool_use_id():
    """A fresh id shaped like Bedrock's (``tooluse_`` + 22 url-safe chars)."""
    return "tooluse_" + secrets.token_urlsafe(16)[:22].replace("-", "A")


def _default_tool_uses(params):
    config = params.get("toolConfig")
    if not config:
        return []
    choice = config.get("toolChoice") or {"auto": {}}
    specs = {t["toolSpec"]["name"]: t["toolSpec"] for t in config["tools"] if "toolSpec" in t}
    names = list(specs)
    if "tool" in choice:
        name = choice["tool"]["name"]
        return [{"name": name, "input": _tool_input(specs.get(name))}]
    last_user = next((m for m in reversed(params["messages"]) if m["role"] == "user"), None)
    said_weather = last_user and any(_WEATHER.search(t) for t in _texts(
        [b for b in last_user["content"] if "text" in b]))
    if said_weather or "any" in choice:
        return [{"name": names[0], "input": _tool_input(specs[names[0]])}]
    return []


def _tool_input(spec):
    """What the model passes a tool it calls unscripted: a weather tool (a `location`
    property) gets Paris; any other tool a small input valid against its schema, as a
    model following the tool's input schema would give."""
    schema = ((spec or {}).get("inputSchema") or {}).get("json") or {}
    if "location" in (schema.get("properties") or {}):
        return {"location": "Paris"}
    value = structured.instance(schema)
    return value if isinstance(value, dict) else {}


def _text_blocks(params, model_id, script, tool_uses, row):
    """The answer's text: the script's, none beside tool calls, JSON following
    outputConfig.textFormat (structured.py), a citation of a cited document
    (documents.py), or the greeting."""
    if "text" in script:
        return [{"text": script["text"]}] if script["text"] else []
    if tool_uses:
        return []
    text = structured.answer_text(params)
    if text is not None:
        return [{"text": text}]
    found = documents.cited(params) if row and row["citations"] else None
    if found:
        return documents.citations_blocks(*found)
    return [{"text": f"Hello from the Bedrock stand-in ({model_id})."}]


def build(params, model_id, script, row=None, cache=None):
    """Return the answer: ``{"content": [blocks], "stop_reason", "usage", "served"}``.

    ``script`` (a dict, possibly empty) may override ``text``, ``tool_use``,
    ``reasoning``, ``redacted``, ``stop_reason`` and ``usage``. Content blocks use
    Converse's shapes; ``row`` (the model's catalog row) decides the reasoning block:
    first, except DeepSeek R1's, which follows the text (realdata n17). A strict
    tool's default input follows its schema. ``cache`` (caching.Cache) counts the
    cached tokens of a request with cache points; ``served`` holds the serviceTier and
    performanceConfig members the response echoes (tiers.py).
    """
    tool_uses = script.get("tool_use")
    if tool_uses is None and "text" not in script:
        tool_uses = _default_tool_uses(params)
        for call in tool_uses:
            schema = structured.strict_tool_schema(params, call["name"])
            if schema is not None:
                call["input"] = structured.instance(schema)
    tool_uses = tool_uses or []
    content = _text_blocks(params, model_id, script, tool_uses, row)
    thought, thought_words = reasoning.answer_block(params, row, script)
    if thought:
        content.insert(len(content) if reasoning.family(row) == "deepseek_r1" else 0, thought)
    for call in tool_uses:
        content.append({"toolUse": {"toolUseId": call.get("id") or new_tool_use_id(),
                                    "name": call["name"], "input": call.get("input", {})}})
    stop = script.get("stop_reason") or ("tool_use" if tool_uses else "end_turn")
    out_words = (sum(documents.block_words(b) for b in content) + thought_words
                 + sum(len(json.dumps(c.get("input", {})).split()) for c in tool_uses))
    usage = script.get("usage")
    if usage is None:
        n = input_words(params)
        usage = cache.usage(params, model_id, n, out_words) if cache is not None else None
        usage = usage or {"inputTokens": n, "outputTokens": out_words, "totalTokens": n + out_words}
        if row and row["provider"] == "anthropic" and row["prompt_caching"]:
            # Claude models that cache report both counts even with no cache point (realdata n07,
            # n09-n11, n13, n18); Claude 3.5 Sonnet v1 (n01, n04) and Nova (n14, n15) report neither.
            usage.setdefault("cacheReadInputTokens", 0)
            usage.setdefault("cacheWriteInputTokens", 0)
    served = tiers.echo(params, row) if row else {}
    return {"content": content, "stop_reason": stop, "usage": usage, "served": served}


def converse_json(answer, latency_ms):
    """The Converse response body (dict) for an answer."""
    return {
        "output": {"message": {"role": "assistant", "content": answer["content"]}},
        "stopReason": answer["stop_reason"],
        "usage": answer["usage"],
        "metrics": {"latencyMs": latency_ms},
        **answer.get("served", {}),
    }
