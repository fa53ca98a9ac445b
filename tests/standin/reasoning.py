"""Reasoning: the request fields each model takes, Bedrock's rules for them, the
reasoning block of an answer, and the round trip of signed blocks.

The catalog's ``reasoning`` kind of the resolved model decides which field turns
reasoning on (botocore: every model-specific field travels in
``additionalModelRequestFields``, except the top-level ``outputConfig.effort``):

- ``anthropic_budget`` (Claude 3.7 - 4.5): ``thinking: {type: enabled, budget_tokens}``
  or ``{type: disabled}``;
- ``anthropic_adaptive`` (Claude 4.6 and later): ``thinking: {type: adaptive}`` or
  ``{type: disabled}``, effort in ``outputConfig.effort``; ``enabled`` with a budget
  only on the two 4.6 models (the AWS model card of Opus 4.7: a budget is a 400);
- ``nova`` (Nova 2): ``reasoningConfig: {type: enabled, maxReasoningEffort}``;
- ``openai_effort`` (gpt-oss): ``reasoning_effort`` (and it reasons without it: realdata s11);
- ``deepseek_always`` (R1): always reasons, takes no reasoning field;
- ``deepseek_hybrid`` (V3.1, V3.2): ``reasoning_config: "<effort>"`` (bedrock-access-gateway,
  from the Bedrock playground) or ``reasoning_effort`` (LiteLLM).

Any other key of ``additionalModelRequestFields`` is refused the way Bedrock passes
the model's own schema error back: "Malformed input request: #: extraneous key [k]
is not permitted" (Bedrock's JSON-schema validator: Claude 3.x and the other
providers, e.g. onyx-dot-app/onyx#3444), or "k: Extra inputs are not permitted"
(Anthropic's validator, Claude 4 and later: anomalyco/opencode#2038,
anthropics/claude-code-action#1005).

Signatures and redacted blobs are the stand-in's own: an HMAC-SHA256 under a
fixed secret, so any stand-in process verifies what another one issued.
"""

import base64
import binascii
import hashlib
import hmac
import secrets
from collections import namedtuple

from .errors import validation

_SECRET = b"bedrock-standin reasoning secret v1"
_SIG_PREFIX = b"SSIG"
_RED_PREFIX = b"SRED"
_NONCE = 24

REASONING_KEYS = ("thinking", "reasoningConfig", "reasoning_effort", "reasoning_config")
EFFORTS = ("low", "medium", "high", "xhigh", "max")
_LEVELS = ("low", "medium", "high")
_INTERLEAVED_BETA = "interleaved-thinking-2025-05-14"
# Claude 4.6 takes both adaptive thinking and a budget (catalog notes; AWS model card of Opus 4.6).
_BUDGET_AND_ADAPTIVE = ("anthropic.claude-opus-4-6-v1", "anthropic.claude-sonnet-4-6")
_DOCS = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
DEFAULT_THOUGHT = "The user sent a message. I should think it through, then answer briefly and helpfully."

# What turns reasoning on, per catalog kind (keys of additionalModelRequestFields).
_KIND_KEYS = {
    "anthropic_budget": {"thinking"},
    "anthropic_adaptive": {"thinking"},
    "nova": {"reasoningConfig"},
    "openai_effort": {"reasoning_effort"},
    "deepseek_always": set(),
    "deepseek_hybrid": {"reasoning_config", "reasoning_effort"},
    None: set(),
}

# Converse content block → the type name Anthropic's messages report.
_ANTHROPIC_TYPES = {"text": "text", "toolUse": "tool_use", "toolResult": "tool_result", "image": "image",
                    "document": "document", "citationsContent": "text", "searchResult": "search_result"}

Settings = namedtuple("Settings", "family on display interleaved")


# -- family and keys ---------------------------------------------------------------------


def family(row):
    """``claude``, ``nova``, ``deepseek_r1`` or ``plain`` (unsigned reasoning text)."""
    kind = row["reasoning"] if row else None
    if row and row["provider"] == "anthropic":
        return "claude"
    if kind == "nova":
        return "nova"
    if kind == "deepseek_always":
        return "deepseek_r1"
    return "plain"


def _claude3(row):
    return row["provider"] == "anthropic" and "claude-3" in row["id"]


def _family_keys(row):
    """The keys a model family documents in additionalModelRequestFields, reasoning aside.

    Sources: AWS user guide, model parameter pages (Anthropic Claude Messages API:
    top_k, anthropic_beta; Amazon Nova: inferenceConfig.topK; Mistral AI text
    completion: top_k; Cohere Command R; AI21 Jamba); research §1 row 19 (Claude's
    tool_choice.disable_parallel_tool_use).
    """
    mid, provider = row["id"], row["provider"]
    if provider == "anthropic":
        return {"top_k", "anthropic_beta", "tool_choice"}
    if mid.startswith("amazon.nova"):
        return {"inferenceConfig"}
    if mid.startswith(("mistral.mistral-7b", "mistral.mixtral", "mistral.mistral-large-2402",
                       "mistral.mistral-small-2402")):
        return {"top_k"}
    if provider == "cohere":
        return {"documents", "search_queries_only", "preamble", "k", "prompt_truncation",
                "frequency_penalty", "presence_penalty", "seed", "return_prompt", "raw_prompting"}
    if provider == "ai21":
        return {"n", "frequency_penalty", "presence_penalty"}
    return set()


def allowed_keys(row):
    """Every key of additionalModelRequestFields the model `row` takes."""
    return _family_keys(row) | _KIND_KEYS.get(row["reasoning"], set())


# -- errors ------------------------------------------------------------------------------


def _model_error(detail):
    return validation(f"The model returned the following errors: {detail}")


def _schema_error(*details):
    """Bedrock's JSON-schema validator (everit) as the model's error."""
    return _model_error("Malformed input request: " + "".join(details)
                        + ", please reformat your input and try again.")


def _extraneous(keys, row):
    if row["provider"] == "anthropic" and not _claude3(row):
        return _model_error(f"{keys[0]}: Extra inputs are not permitted")
    return _schema_error(*(f"#: extraneous key [{k}] is not permitted" for k in keys))


def _json_type(value):
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "BigDecimal"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "JSONArray"
    if isinstance(value, dict):
        return "JSONObject"
    return "Null"


# -- settings (what the request asks for) -------------------------------------------------


def _default_display(row):
    # Opus 4.7 changed thinking.display's default to "omitted" (empty text, signature only);
    # 4.6 and earlier default to "summarized" (anthropics/claude-code#49268, #77460).
    if row["reasoning"] == "anthropic_adaptive" and row["id"] not in _BUDGET_AND_ADAPTIVE:
        return "omitted"
    return "summarized"


def settings(params, row):
    """The reasoning a valid request asks of model `row`: a :class:`Settings`."""
    kind = row["reasoning"] if row else None
    fields = params.get("additionalModelRequestFields")
    fields = fields if isinstance(fields, dict) else {}
    fam = family(row)
    if kind in ("anthropic_budget", "anthropic_adaptive"):
        thinking = fields.get("thinking") or {}
        kind_of = thinking.get("type")
        betas = fields.get("anthropic_beta") or []
        interleaved = kind_of == "adaptive" or (isinstance(betas, list) and _INTERLEAVED_BETA in betas)
        return Settings(fam, kind_of in ("enabled", "adaptive"),
                        thinking.get("display") or _default_display(row), interleaved)
    if kind == "nova":
        config = fields.get("reasoningConfig") or {}
        return Settings(fam, config.get("type") == "enabled", "redacted", True)
    if kind in ("openai_effort", "deepseek_always"):
        return Settings(fam, True, "summarized", True)
    if kind == "deepseek_hybrid":
        on = "reasoning_config" in fields or "reasoning_effort" in fields
        return Settings(fam, on, "summarized", True)
    return Settings(fam, False, "summarized", True)


# -- request checks -----------------------------------------------------------------------


def _check_claude_thinking(value, row):
    """Anthropic's validation of `thinking` (pydantic-style messages)."""
    adaptive_kind = row["reasoning"] == "anthropic_adaptive"
    tags = ("enabled", "disabled", "adaptive") if adaptive_kind else ("enabled", "disabled")
    if not isinstance(value, dict):
        raise _model_error("thinking: Input should be a valid dictionary or object to extract fields from")
    if "type" not in value:
        raise _model_error("thinking: Unable to extract tag using discriminator 'type'")
    kind = value["type"]
    if kind not in tags:
        expected = ", ".join(f"'{t}'" for t in tags)
        raise _model_error(f"thinking: Input tag '{kind}' found using 'type' does not match any of the "
                           f"expected tags: {expected}")
    allowed = {"enabled": {"type", "budget_tokens", "display"}, "adaptive": {"type", "display"},
               "disabled": {"type"}}[kind]
    for key in value:
        if key not in allowed:
            raise _model_error(f"thinking.{kind}.{key}: Extra inputs are not permitted")
    if "display" in value and value["display"] not in ("summarized", "omitted"):
        raise _model_error(f"thinking.{kind}.display: Input should be 'summarized' or 'omitted'")
    if kind == "enabled":
        if adaptive_kind and row["id"] not in _BUDGET_AND_ADAPTIVE:
            raise _model_error("`thinking.type.enabled` is not supported for this model. Use "
                               "`thinking.type.adaptive` and `output_config.effort` to control thinking "
                               "behavior.")
        if "budget_tokens" not in value:
            raise _model_error("thinking.enabled.budget_tokens: Field required")
        budget = value["budget_tokens"]
        if isinstance(budget, bool) or not isinstance(budget, int):
            raise _model_error("thinking.enabled.budget_tokens: Input should be a valid integer")
        if budget < 1024:
            raise _model_error("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
    return kind


def _check_thinking_on(params, kind, budget, fields):
    """Anthropic's constraints while thinking (AWS 'Extended thinking': feature compatibility)."""
    config = params.get("inferenceConfig", {})
    if kind == "enabled":
        max_tokens = config.get("maxTokens")
        if max_tokens is None or max_tokens <= budget:
            raise _model_error("`max_tokens` must be greater than `thinking.budget_tokens`. Please consult "
                               f"our documentation at {_DOCS}#max-tokens-and-context-window-size")
        choice = (params.get("toolConfig") or {}).get("toolChoice") or {}
        if "any" in choice or "tool" in choice:
            raise _model_error("Thinking may not be enabled when tool_choice forces tool use.")
    if config.get("temperature", 1) != 1:
        raise _model_error("`temperature` may only be set to 1 when thinking is enabled. Please consult "
                           f"our documentation at {_DOCS}#feature-compatibility")
    if "topP" in config and config["topP"] < 0.95:
        raise _model_error("`top_p` must be greater than or equal to 0.95 or unset when thinking is "
                           f"enabled. Please consult our documentation at {_DOCS}#feature-compatibility")
    if "top_k" in fields:
        raise _model_error("`top_k` may not be set when thinking is enabled. Please consult our "
                           f"documentation at {_DOCS}#feature-compatibility")


def _check_level(fields, key):
    value = fields[key]
    if not isinstance(value, str):
        raise _schema_error(f"#/{key}: expected type: String, found: {_json_type(value)}")
    if value not in _LEVELS:
        raise _schema_error(f"#/{key}: {value} is not a valid enum value")


def _check_nova(value):
    if not isinstance(value, dict):
        raise _schema_error(f"#/reasoningConfig: expected type: JSONObject, found: {_json_type(value)}")
    if "type" not in value:
        raise _schema_error("#/reasoningConfig: required key [type] not found")
    kind = value["type"]
    if kind not in ("enabled", "disabled"):
        raise _schema_error(f"#/reasoningConfig/type: {kind} is not a valid enum value")
    allowed = {"type", "maxReasoningEffort"} if kind == "enabled" else {"type"}
    extra = [k for k in value if k not in allowed]
    if extra:
        raise _schema_error(*(f"#/reasoningConfig: extraneous key [{k}] is not permitted" for k in extra))
    if kind == "enabled":
        if "maxReasoningEffort" not in value:
            raise _schema_error("#/reasoningConfig: required key [maxReasoningEffort] not found")
        if value["maxReasoningEffort"] not in _LEVELS:
            raise _schema_error(f"#/reasoningConfig/maxReasoningEffort: {value['maxReasoningEffort']} "
                                "is not a valid enum value")


def _check_effort(params, row, thinking_kind):
    effort = (params.get("outputConfig") or {}).get("effort")
    if effort is None:
        return
    if row["reasoning"] != "anthropic_adaptive":
        if row["provider"] == "anthropic":
            raise _model_error("output_config.effort: Extra inputs are not permitted")
        raise validation("This model doesn't support the outputConfig.effort field. "
                         "Remove outputConfig.effort and try again.")
    if effort not in EFFORTS:
        raise _model_error("output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'")
    if effort in ("xhigh", "max") and thinking_kind not in ("enabled", "adaptive"):
        # botocore OutputConfig.effort: "When extended thinking is disabled, the effort level is
        # capped at high. Use effort high or below, or enable thinking to use higher effort levels."
        raise _model_error(f"output_config.effort: `{effort}` requires thinking. When extended thinking is "
                           "disabled, the effort level is capped at `high`. Use effort `high` or below, "
                           "or enable thinking to use higher effort levels.")


def check_fields(params, caps):
    """Check additionalModelRequestFields and outputConfig.effort for the model; raise a 400."""
    row = caps.row
    fields = params.get("additionalModelRequestFields")
    if fields is None:
        fields = {}
    if not isinstance(fields, dict):
        raise _schema_error(f"#: expected type: JSONObject, found: {_json_type(fields)}")
    allowed = allowed_keys(row)
    unknown = [k for k in fields if k not in allowed]
    if unknown:
        raise _extraneous(unknown, row)
    kind = row["reasoning"]
    thinking_kind = None
    if kind in ("anthropic_budget", "anthropic_adaptive"):
        if "thinking" in fields:
            thinking_kind = _check_claude_thinking(fields["thinking"], row)
        if thinking_kind in ("enabled", "adaptive"):
            _check_thinking_on(params, thinking_kind, fields["thinking"].get("budget_tokens"), fields)
    elif kind == "nova" and "reasoningConfig" in fields:
        _check_nova(fields["reasoningConfig"])
    elif kind in ("openai_effort", "deepseek_hybrid"):
        for key in ("reasoning_effort", "reasoning_config"):
            if key in fields:
                _check_level(fields, key)
    _check_effort(params, row, thinking_kind)


# -- signatures and redacted blobs --------------------------------------------------------


def sign(text):
    """The stand-in's signature of a reasoning text (base64 of an HMAC-SHA256)."""
    mac = hmac.new(_SECRET, b"reasoningText\x00" + text.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(_SIG_PREFIX + mac).decode("ascii")


def signature_ok(text, signature):
    """Whether `signature` is the stand-in's signature of `text`, unmodified."""
    return isinstance(signature, str) and hmac.compare_digest(sign(text), signature)


def issue_redacted():
    """A fresh redacted blob, as JSON carries it (base64 of the opaque bytes).

    The bytes are an ASCII token, as Bedrock's are (realdata n10: the blob decodes to
    Anthropic's base64 `data` string); the stand-in can verify it issued them.
    """
    nonce = secrets.token_bytes(_NONCE)
    mac = hmac.new(_SECRET, b"redactedContent\x00" + nonce, hashlib.sha256).digest()
    data = base64.b64encode(_RED_PREFIX + nonce + mac)
    return base64.b64encode(data).decode("ascii")


def redacted_ok(blob):
    """Whether `blob` (the decoded bytes of a redactedContent) is one the stand-in issued."""
    try:
        raw = base64.b64decode(blob, validate=True)
    except (binascii.Error, ValueError, TypeError):
        return False
    if len(raw) != len(_RED_PREFIX) + _NONCE + 32 or not raw.startswith(_RED_PREFIX):
        return False
    nonce, mac = raw[len(_RED_PREFIX):-32], raw[-32:]
    want = hmac.new(_SECRET, b"redactedContent\x00" + nonce, hashlib.sha256).digest()
    return hmac.compare_digest(want, mac)


# -- history (the round trip) -------------------------------------------------------------


def check_block(block, where, role, row):
    """Bedrock's own rules for one reasoningContent block in the conversation."""
    if role != "assistant":
        raise validation(f"The reasoningContent block at {where} must be in an assistant message.")
    if "redactedContent" in block["reasoningContent"] and family(row) != "claude":
        raise validation(f"This model doesn't support redactedContent in the reasoningContent block "
                         f"(at {where}).")


def _found(block):
    kind = next(iter(block))
    return _ANTHROPIC_TYPES.get(kind, kind)


def _expected_thinking(i, block):
    return _model_error(
        f"messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
        f"`{_found(block)}`. When `thinking` is enabled, a final `assistant` message must start with a "
        "thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We "
        "recommend you include thinking blocks from previous turns. To avoid this requirement, disable "
        f"`thinking`. Please consult our documentation at {_DOCS}")


def _final_turn_start(messages):
    """Index of the assistant message that must start with thinking, or None.

    Anthropic's "final assistant message": a conversation that ends with an assistant
    turn (prefill), or one whose last user turn answers tools (the tool loop in
    progress), where the assistant's turn began after the last user message that
    holds no toolResult (a tool loop without interleaved thinking has one thinking
    block, at its start).
    """
    if not messages:
        return None
    if messages[-1]["role"] == "assistant":
        return len(messages) - 1
    if not any("toolResult" in b for b in messages[-1]["content"]):
        return None
    for i in range(len(messages) - 1, -1, -1):
        message = messages[i]
        if message["role"] == "user" and not any("toolResult" in b for b in message["content"]):
            return i + 1 if i + 1 < len(messages) else None
    return None


def check_history(params, caps):
    """The round trip of reasoning blocks in a Claude conversation (the model's own 400s)."""
    row = caps.row
    if family(row) != "claude" or row["reasoning"] is None:
        return
    messages = params.get("messages", [])
    on = settings(params, row).on
    for i, message in enumerate(messages):
        for j, block in enumerate(message["content"]):
            if "reasoningContent" not in block or message["role"] != "assistant":
                continue
            content = block["reasoningContent"]
            if "reasoningText" in content:
                text = content["reasoningText"]
                if not text.get("signature"):
                    raise _model_error(f"messages.{i}.content.{j}.thinking.signature: Field required")
                if on and not signature_ok(text["text"], text["signature"]):
                    raise _model_error(f"messages.{i}.content.{j}: Invalid `signature` in `thinking` block")
            elif on and not redacted_ok(content["redactedContent"]):
                raise _model_error(f"messages.{i}.content.{j}: `thinking` or `redacted_thinking` blocks in the "
                                   "latest assistant message cannot be modified. These blocks must remain as "
                                   "they were in the original response.")
    start = _final_turn_start(messages)
    if start is None:
        return
    first = messages[start]["content"][0]
    if on and "reasoningContent" not in first:
        raise _expected_thinking(start, first)
    if not on and messages[-1]["role"] == "assistant":
        for j, block in enumerate(messages[-1]["content"]):
            if "reasoningContent" in block:
                raise _model_error(f"messages.{len(messages) - 1}.content.{j}: When thinking is disabled, an "
                                   "`assistant` message in the final position cannot contain `thinking`. To use "
                                   "thinking blocks, enable `thinking` in your request.")


# -- the answer ---------------------------------------------------------------------------


def _mid_tool_loop(params):
    messages = params.get("messages", [])
    return bool(messages) and messages[-1]["role"] == "user" and any(
        "toolResult" in b for b in messages[-1]["content"])


def answer_block(params, row, script):
    """``(block or None, reasoning words)``: the answer's reasoningContent block.

    On when the request turns reasoning on (or the model always reasons), or when
    the script sets ``reasoning`` or ``redacted``. Claude without interleaved thinking
    thinks once per assistant turn, so a tool loop's later answers carry none.
    """
    scripted = "reasoning" in script or bool(script.get("redacted"))
    current = settings(params, row)
    if not scripted and not current.on:
        return None, 0
    if not scripted and current.family == "claude" and not current.interleaved and _mid_tool_loop(params):
        return None, 0
    thought = script.get("reasoning")
    thought = DEFAULT_THOUGHT if thought is None else thought
    words = len(thought.split())
    if script.get("redacted"):
        return {"reasoningContent": {"redactedContent": issue_redacted()}}, words
    if current.family == "claude":
        shown = "" if current.display == "omitted" else thought
        return {"reasoningContent": {"reasoningText": {"text": shown, "signature": sign(shown)}}}, words
    if current.family == "nova":
        # AWS Nova 2 user guide: the reasoning content is redacted and shows as [REDACTED].
        return {"reasoningContent": {"reasoningText": {"text": "[REDACTED]"}}}, words
    return {"reasoningContent": {"reasoningText": {"text": thought}}}, words
