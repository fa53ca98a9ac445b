"""Prompt caching: Bedrock's rules for ``cachePoint`` blocks, and a simulated cache
that reports ``cacheReadInputTokens`` / ``cacheWriteInputTokens``.

A ``cachePoint`` (botocore CachePointBlock: ``type`` = default, ``ttl`` in CacheTTL
= 5m | 1h) is a member of SystemContentBlock, ContentBlock and Tool; botocore's
shapes are enforced by :mod:`validation`. Bedrock's own rules, in the order checked:

- a model without prompt caching: 403 AccessDeniedException "You invoked an
  unsupported model or your request did not allow prompt caching."
  (strands-agents/harness-sdk#1807 for Llama, BerriAI/litellm#39210,
  agentgateway/agentgateway#2751);
- a position the model does not cache (catalog ``prompt_caching``; Nova takes system
  and messages only): "Malformed input request: #/toolConfig/tools/18: extraneous key
  [cachePoint] is not permitted, please reformat your input and try again."
  (NousResearch/hermes-agent#97281, danny-avila/LibreChat#13838);
- ``ttl`` "1h" where the model has no 1-hour cache (catalog ``cache_ttl_1h``): Claude
  "Extra inputs are not permitted" (Anthropic's validator, on the ``cache_control.ttl``
  of the block the point follows), Nova "Extended TTL prompt caching is only
  supported for Anthropic models" (earendil-works/pi#1570);
- at most 4 cache points (research §2.4): Claude "A maximum of 4 blocks with
  cache_control may be provided. Found 5." (Anthropic's wording, which Bedrock passes
  on; envoyproxy/ai-gateway#1712 shows it on Vertex). Other models: no public
  wording, the stand-in's own sentence;
- a point needs a content block before it in the same list (system, one message's
  content, tools); documents do not count: "There is nothing available to cache.
  Please remove the invalid cache point and try again." (strands-agents/harness-sdk#3677
  "[cachePoint, text] -> ValidationException", anomalyco/opencode#29728);
- not right after a reasoning block: "Cache point cannot be inserted after reasoning
  block. Please remove the invalid cache point and try again." (anomalyco/opencode#36517);
- Claude: TTLs must not grow along tools, system, messages: "...cache_control.ttl: a
  ttl='1h' cache_control block must not come after a ttl='5m' cache_control block.
  Note that blocks are processed in the following order: `tools`, `system`,
  `messages`." (Portkey-AI/gateway#1762);
- Claude with ``performanceConfig.latency`` optimized served: "system.0.cache_control:
  Extra inputs are not permitted" (boto/boto3#4626, Claude 3.5 Haiku).

Usage (realdata n12 and research §2.4): ``inputTokens`` counts the uncached tokens
only; ``cacheReadInputTokens`` / ``cacheWriteInputTokens`` the cached ones;
``cacheDetails`` splits writes by TTL, 1h before 5m (botocore TokenUsage), and is left
out when nothing was written; ``totalTokens`` includes them all. The cache is keyed
by the model and everything before a point (tools, then system, then messages, the
order Anthropic processes them in), lives for the point's TTL (refreshed by a read),
and is cleared by ``POST /_standin/reset`` or ``DELETE /_standin/cache``. A token is
a word of text, as for :func:`answers.input_words`; a tool definition counts the
words of its JSON. Bedrock's minimum cacheable size (about 1,024 tokens) is not
simulated: every point caches.
"""

import base64
import hashlib
import json
import threading
import time

from .errors import StandinError, validation

MAX_POINTS = 4
_TTL_SECONDS = {"5m": 300, "1h": 3600}
NOTHING = "There is nothing available to cache. Please remove the invalid cache point and try again."
AFTER_REASONING = ("Cache point cannot be inserted after reasoning block. Please remove the invalid cache "
                   "point and try again.")


def _model_error(detail):
    return validation(f"The model returned the following errors: {detail}")


class Point:
    """One cache point: where it is (Converse and Anthropic paths) and its TTL."""

    def __init__(self, position, converse_path, pointer, anthropic_path, ttl, before):
        self.position = position          # system | messages | tools
        self.converse_path = converse_path
        self.pointer = pointer            # JSON pointer, as Bedrock's schema validator names it
        self.anthropic_path = anthropic_path
        self.ttl = ttl
        self.before = before              # the blocks of its list before it (cache points left out)


def _points_in(blocks, position, converse_prefix, pointer_prefix, anthropic_prefix, kind_key):
    points, seen = [], []
    for j, block in enumerate(blocks):
        if "cachePoint" in block:
            anthropic = f"{anthropic_prefix}.{len(seen) - 1}" if seen else anthropic_prefix
            points.append(Point(position, f"{converse_prefix}.{j}", f"{pointer_prefix}/{j}", anthropic,
                                block["cachePoint"].get("ttl"), list(seen)))
        elif kind_key is None or kind_key in block:
            seen.append(block)
    return points


def points(params):
    """Every cache point of a request, in Anthropic's processing order: tools, system, messages."""
    out = _points_in((params.get("toolConfig") or {}).get("tools", []), "tools", "toolConfig.tools",
                     "#/toolConfig/tools", "tools", "toolSpec")
    out += _points_in(params.get("system", []), "system", "system", "#/system", "system", None)
    for i, message in enumerate(params.get("messages", [])):
        out += _points_in(message["content"], "messages", f"messages.{i}.content", f"#/messages/{i}/content",
                          f"messages.{i}.content", None)
    return out


def _check_place(point):
    content = [b for b in point.before if "document" not in b]
    if not content:
        raise validation(NOTHING)
    if "reasoningContent" in point.before[-1]:
        raise validation(AFTER_REASONING)


def _check_ttl_order(found):
    seen_5m = False
    for point in found:
        ttl = point.ttl or "5m"
        if ttl == "1h" and seen_5m:
            raise _model_error(f"{point.anthropic_path}.cache_control.ttl: a ttl='1h' cache_control block must not "
                               "come after a ttl='5m' cache_control block. Note that blocks are processed in the "
                               "following order: `tools`, `system`, `messages`.")
        seen_5m = seen_5m or ttl == "5m"


def check(params, caps, latency_served):
    """Bedrock's cache-point rules for the resolved model; raise a 400 or 403."""
    found = points(params)
    if not found:
        return
    row = caps.row
    claude = row["provider"] == "anthropic"
    if not row["prompt_caching"]:
        raise StandinError("AccessDeniedException", "You invoked an unsupported model or your request did not "
                           "allow prompt caching.", 403)
    for point in found:
        if point.position not in row["prompt_caching"]:
            raise _model_error(f"Malformed input request: {point.pointer}: extraneous key [cachePoint] is not "
                               "permitted, please reformat your input and try again.")
    for point in found:
        if point.ttl == "1h" and not row["cache_ttl_1h"]:
            if claude:
                raise _model_error(f"{point.anthropic_path}.cache_control.ttl: Extra inputs are not permitted")
            raise validation("Extended TTL prompt caching is only supported for Anthropic models")
    if len(found) > MAX_POINTS:
        if claude:
            raise _model_error(f"A maximum of {MAX_POINTS} blocks with cache_control may be provided. "
                               f"Found {len(found)}.")
        raise validation(f"The request has {len(found)} cache points. A request can have at most {MAX_POINTS} "
                         "cache points. Remove some cache points and try again.")
    for point in found:
        _check_place(point)
    if claude:
        _check_ttl_order(found)
        if latency_served == "optimized":
            raise _model_error(f"{found[0].anthropic_path}.cache_control: Extra inputs are not permitted")


# -- the simulated cache -------------------------------------------------------------------


def _tokens(block):
    if "text" in block:
        return len(block["text"].split())
    if "toolResult" in block:
        return sum(_tokens(b) for b in block["toolResult"].get("content", []))
    if "toolSpec" in block:
        return len(json.dumps(block["toolSpec"], sort_keys=True).split())
    return 0


def _units(params):
    """The request's blocks in processing order, cache points marked by None."""
    units = [None if "cachePoint" in t else t for t in (params.get("toolConfig") or {}).get("tools", [])]
    units += [None if "cachePoint" in b else b for b in params.get("system", [])]
    for message in params.get("messages", []):
        units += [None if "cachePoint" in b else {"role": message["role"], **b} for b in message["content"]]
    return units


def _bytes_as_text(value):
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    raise TypeError(type(value).__name__)


class Cache:
    """Cached prefixes by key, each with its expiry (a monotonic time); thread-safe."""

    def __init__(self, clock=time.monotonic):
        self._lock = threading.Lock()
        self._entries = {}
        self._clock = clock

    def clear(self):
        """Forget every cached prefix."""
        with self._lock:
            self._entries.clear()

    def entries(self):
        """A JSON-able view: key prefix, tokens, ttl and seconds left, for the control API."""
        now = self._clock()
        with self._lock:
            return [{"key": k[:16], "tokens": e["tokens"], "ttl": e["ttl"], "expires_in": round(e["until"] - now, 1)}
                    for k, e in self._entries.items() if e["until"] > now]

    def usage(self, params, model, prompt_tokens, output_tokens):
        """TokenUsage of a request that has cache points (reads and writes the cache); None otherwise."""
        units = _units(params)
        if None not in units:
            return None
        extra = sum(_tokens(u) for u in units if u is not None and "toolSpec" in u)
        total_in = prompt_tokens + extra
        marks, digest, tokens = [], hashlib.sha256(model.encode()), 0
        ttls = [p.ttl or "5m" for p in points(params)]
        for unit in units:
            if unit is None:
                marks.append((digest.hexdigest(), tokens, ttls[len(marks)]))
                continue
            digest.update(json.dumps(unit, sort_keys=True, default=_bytes_as_text).encode() + b"\n")
            tokens += _tokens(unit)
        read, details = self._read_and_write(marks)
        write = sum(details.values())
        usage = {"inputTokens": total_in - read - write, "outputTokens": output_tokens,
                 "totalTokens": total_in + output_tokens, "cacheReadInputTokens": read,
                 "cacheWriteInputTokens": write}
        if write:
            usage["cacheDetails"] = [{"ttl": t, "inputTokens": details[t]} for t in ("1h", "5m") if details.get(t)]
        return usage

    def _read_and_write(self, marks):
        now = self._clock()
        with self._lock:
            hit = -1
            for i, (key, _, _) in enumerate(marks):
                entry = self._entries.get(key)
                if entry and entry["until"] > now:
                    hit = i
            read = marks[hit][1] if hit >= 0 else 0
            details, covered = {}, read
            for i, (key, tokens, ttl) in enumerate(marks):
                if i > hit and tokens > covered:
                    details[ttl] = details.get(ttl, 0) + tokens - covered
                covered = max(covered, tokens)
                self._entries[key] = {"tokens": tokens, "ttl": ttl, "until": now + _TTL_SECONDS[ttl]}
        return read, details
