"""Converse's own rules, which Bedrock enforces beyond the JSON schema."""

import re

from . import caching, documents, reasoning, structured, tiers
from .errors import validation

TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
# Content blocks no catalog model accepts in this stand-in (reasoningContent: see below).
# documents.py checks document blocks, caching.py cachePoint blocks; citationsContent
# (an earlier answer's cited text) goes back only in assistant turns of citing models.
_UNSUPPORTED_BLOCKS = ("video", "audio", "guardContent", "searchResult", "toolAddition", "toolRemoval")


def _check_text(text, where):
    if not text.strip():
        raise validation(f"The text field in the ContentBlock object at {where} is blank. "
                         "Add text to the text field, and try again.")


def _check_block(block, where, role, caps):
    kind = next(iter(block))
    if kind == "text":
        _check_text(block["text"], where)
    elif kind == "image" and not caps.images:
        raise validation("This model doesn't support image content. "
                         f"Remove the image block at {where} and try again.")
    elif (kind in _UNSUPPORTED_BLOCKS or (kind == "reasoningContent" and caps.row["reasoning"] is None)
          or (kind == "citationsContent" and not caps.row["citations"])):
        raise validation(f"This model doesn't support the {kind} content block (at {where}).")
    elif kind == "citationsContent" and role != "assistant":
        raise validation(f"The citationsContent block at {where} must be in an assistant message.")
    elif kind == "reasoningContent":
        # A reasoning model takes its reasoning back in assistant turns (botocore ReasoningTextBlock).
        reasoning.check_block(block, where, role, caps.row)
    elif kind == "toolUse" and role != "assistant":
        raise validation(f"The toolUse block at {where} must be in an assistant message.")
    elif kind == "toolUse" and not isinstance(block["toolUse"]["input"], dict):
        raise validation(f"The input of the toolUse block at {where} must be a JSON object.")
    elif kind == "toolResult":
        if role != "user":
            raise validation(f"The toolResult block at {where} must be in a user message.")
        for j, inner in enumerate(block["toolResult"]["content"]):
            inner_kind = next(iter(inner))
            if inner_kind == "text":
                _check_text(inner["text"], f"{where}.toolResult.content.{j}")
            elif inner_kind == "image" and not caps.images:
                raise validation("This model doesn't support image content. "
                                 f"Remove the image at {where}.toolResult.content.{j} and try again.")
    return kind


def _check_messages(messages, caps):
    if not messages:
        raise validation("A conversation must start with a user message. "
                         "Try again with a conversation that starts with a user message.")
    if messages[0]["role"] != "user":
        raise validation("A conversation must start with a user message. "
                         "Try again with a conversation that starts with a user message.")
    uses_tools = False
    for i, message in enumerate(messages):
        role = message["role"]
        if role not in ("user", "assistant"):
            raise validation(f"The role at messages.{i} must be user or assistant.")
        if i and role == messages[i - 1]["role"]:
            raise validation("A conversation must alternate between user and assistant roles. "
                             "Make sure the conversation alternates between user and assistant "
                             "roles and try again.")
        if not message["content"]:
            raise validation(f"The content field in the Message object at messages.{i} is empty. "
                             "Add a ContentBlock object to the content field and try again.")
        for j, block in enumerate(message["content"]):
            kind = _check_block(block, f"messages.{i}.content.{j}", role, caps)
            uses_tools = uses_tools or kind in ("toolUse", "toolResult")
    return uses_tools


def _check_tool_pairing(messages):
    """Each assistant toolUse is answered by a toolResult in the next user turn, and vice versa."""
    for i, message in enumerate(messages):
        if message["role"] != "user":
            continue
        previous = messages[i - 1]["content"] if i else []
        asked = [b["toolUse"]["toolUseId"] for b in previous if "toolUse" in b]
        answered = [b["toolResult"]["toolUseId"] for b in message["content"] if "toolResult" in b]
        if len(answered) > len(asked):
            raise validation(f"The number of toolResult blocks at messages.{i}.content exceeds the "
                             "number of toolUse blocks of previous turn.")
        missing = [tid for tid in asked if tid not in answered]
        if missing:
            raise validation(f"Expected toolResult blocks at messages.{i}.content for the following "
                             f"Ids: {', '.join(missing)}")
        unknown = [tid for tid in answered if tid not in asked]
        if unknown:
            raise validation(f"The toolResult blocks at messages.{i}.content reference unknown "
                             f"toolUse Ids: {', '.join(unknown)}")


def _check_tool_config(config, caps, streaming):
    if not caps.tools:
        raise validation("This model doesn't support tool use.")
    if streaming and not caps.stream_tools:
        raise validation("This model doesn't support tool use in streaming mode.")
    names = []
    for i, tool in enumerate(config["tools"]):
        if "cachePoint" in tool:
            continue  # caching.py
        spec = tool.get("toolSpec")
        if spec is None:
            raise validation(f"The tool at toolConfig.tools.{i} must be a toolSpec.")
        if not TOOL_NAME.fullmatch(spec["name"]):
            raise validation(f"Value '{spec['name']}' at 'toolConfig.tools.{i}.toolSpec.name' failed "
                             "to satisfy constraint: Member must satisfy regular expression pattern: "
                             "[a-zA-Z0-9_-]+")
        if spec["name"] in names:
            raise validation(f"The tool name '{spec['name']}' at toolConfig.tools.{i} is not unique.")
        schema = spec["inputSchema"].get("json")
        if not isinstance(schema, dict):
            raise validation(f"The inputSchema at toolConfig.tools.{i}.toolSpec must be a JSON object.")
        names.append(spec["name"])
    choice = config.get("toolChoice")
    if choice:
        # botocore: `tool` "only supported by Anthropic Claude 3 and Amazon Nova models"; AWS's
        # table: `any` by those and Mistral Large; some families take no toolChoice at all.
        kind = next(iter(choice))
        if kind not in caps.row["tool_choice"]:
            raise validation(f"This model doesn't support the toolConfig.toolChoice.{kind} field. "
                             f"Remove toolConfig.toolChoice.{kind} and try again.")
    if choice and "tool" in choice and choice["tool"]["name"] not in names:
        raise validation(f"The tool '{choice['tool']['name']}' named in toolConfig.toolChoice is not "
                         "defined in toolConfig.tools.")


def _check_inference(config, row):
    """The model's sampling and stop-sequence rules (Bedrock answers these 400s itself)."""
    if row["sampling"] == "temperature_or_top_p" and "temperature" in config and "topP" in config:
        raise validation("The model returned the following errors: `temperature` and `top_p` cannot both "
                         "be specified for this model. Please use only one.")
    if row["sampling"] == "none":
        if config.get("temperature", 1) != 1:
            raise validation("The model returned the following errors: `temperature` may only be set to 1 "
                             "for this model.")
        if "topP" in config:
            raise validation("The model returned the following errors: `top_p` is not supported for this model.")
    if "stopSequences" in config and row["max_stop_sequences"] == 0:
        raise validation("This model doesn't support the stopSequences field. Remove stopSequences and try again.")


def check_converse(params, caps, streaming):
    """Enforce Converse's rules on validated params; raise a 400 ValidationException."""
    if params.get("system") and not caps.system:
        raise validation("This model doesn't support system messages.")
    for i, block in enumerate(params.get("system", [])):
        if "text" in block:
            _check_text(block["text"], f"system.{i}")
    messages = params.get("messages", [])
    uses_tools = _check_messages(messages, caps)
    if messages and messages[-1]["role"] == "assistant" and not caps.row["prefill"]:
        raise validation("The model returned the following errors: This model does not support assistant "
                         "message prefill. The conversation must end with a user message.")
    _check_inference(params.get("inferenceConfig", {}), caps.row)
    if "toolConfig" in params:
        _check_tool_config(params["toolConfig"], caps, streaming)
    elif uses_tools:
        raise validation("The toolConfig field must be defined when using toolUse and toolResult "
                         "content blocks.")
    _check_tool_pairing(messages)
    documents.check(params, caps)
    tiers.check(params, caps)
    structured.check(params, caps)
    caching.check(params, caps, tiers.latency_served(params, caps.row))
    # The model's own checks, which Bedrock passes back as "The model returned the following errors".
    reasoning.check_fields(params, caps)
    reasoning.check_history(params, caps)
