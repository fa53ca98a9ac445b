"""Bedrock's OpenAI-compatible endpoints: bedrock-runtime's ``/openai/v1`` and bedrock-mantle.

What AWS documents (AWS user guide "Responses API", "Chat Completions API", the model
cards; the sources are listed in src/catalog/openai.json and docs/routing.md), implemented
here independently of the filter:

- runtime serves ``POST /openai/v1/chat/completions`` and ``/openai/v1/responses``, signed
  for the service ``bedrock``; a ``/v1/...`` path answers HTTP 200 with a Coral
  ``UnknownOperationException`` body (the trap AWS's sample notebooks record);
- mantle serves ``POST <prefix>/chat/completions`` and ``<prefix>/responses``, signed for
  ``bedrock-mantle``, where the prefix is the model's (``/v1`` or ``/openai/v1``); the
  other prefix answers 400 "model <id> isn't supported on this route";
- either takes a Bedrock API key as a bearer;
- which model ids each endpoint takes, and which APIs it offers for them, come from the
  project's facts (src/catalog/openai.json, each row sourced), as models.py reads models.json;
- the body is validated against the ``openai`` package's own types
  (``CompletionCreateParams``, ``ResponseCreateParams``: pydantic, strict), unknown fields
  refused; then Bedrock's own rules: runtime Responses refuses ``background`` and built-in
  tools, GPT-5.6's Chat Completions refuses ``max_tokens``;
- answers are OpenAI's shapes, buffered or streamed (``data:`` chunks and ``[DONE]``; the
  usage chunk only with ``stream_options.include_usage``; Responses' typed events), with
  usage; errors are OpenAI-shaped ``{"error": {...}}``, except what the front door refuses
  (signature, API key), which is Bedrock's usual ``x-amzn-ErrorType`` error.
"""

import json
import os
import time
import typing
import uuid

import pydantic
from openai.types.chat import completion_create_params
from openai.types.responses import response_create_params

from . import bearer, httpio, sigv4check
from .errors import StandinError
from .models import _GEO_REGIONS

CATALOG = os.environ.get("STANDIN_OPENAI_CATALOG") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "catalog", "openai.json")

SERVICES = {"runtime": "bedrock", "mantle": "bedrock-mantle"}
API_PATHS = {"/chat/completions": "chat", "/responses": "responses"}
# bedrock-runtime paths that look like OpenAI's but are not its inference paths.
RUNTIME_TRAPS = ("/v1/chat/completions", "/v1/responses")
CORAL_UNKNOWN = {"Output": {"__type": "com.amazon.coral.service#UnknownOperationException"}, "Version": "1.0"}


def _load():
    with open(CATALOG, encoding="utf-8") as f:
        data = json.load(f)
    return data["models"], data["responses_tools"]


ROWS, RESPONSES_TOOLS = _load()


class OpenAIError(Exception):
    """An OpenAI-shaped error answer of the endpoint."""

    def __init__(self, status, message, code="validation_error", kind="invalid_request_error", param=None):
        super().__init__(message)
        self.status, self.message, self.code, self.kind, self.param = status, message, code, kind, param

    def body(self):
        return {"error": {"code": self.code, "message": self.message, "param": self.param, "type": self.kind}}


# ---------------------------------------------------------------- which model, where


def _runtime_row(model, region):
    """(row, apis) for a model id runtime takes in ``region``; an OpenAIError as runtime's otherwise."""
    for row in ROWS:
        rt = row.get("runtime")
        if not rt:
            continue
        if model == rt["id"]:
            if not rt["on_demand"]:
                raise OpenAIError(400, f"Invocation of model ID {model} with on-demand throughput isn't "
                                       "supported. Retry your request with the ID or ARN of an inference "
                                       "profile that contains this model.")
            return row, rt["apis"]
        geo, _, base = model.partition(".")
        if base == rt["id"] and geo in _GEO_REGIONS | {"global": None}:
            if geo not in rt["profiles"] or (
                    geo != "global" and not _GEO_REGIONS[geo].match(region or "")):
                raise OpenAIError(400, "The provided model identifier is invalid.")
            return row, rt["apis"]
    if model.startswith("arn:"):
        raise OpenAIError(400, "Application inference profiles are not supported by this API.")
    raise OpenAIError(404, "The model doesn't exist or doesn't support this API.", code="model_not_found")


def _mantle_row(model):
    for row in ROWS:
        m = row.get("mantle")
        if m and m["id"] == model:
            return row, m
    raise OpenAIError(404, f"The model '{model}' does not exist", code="model_not_found")


# ---------------------------------------------------------------- bodies against the openai package


_ADAPTERS = {
    ("chat", False): completion_create_params.CompletionCreateParamsNonStreaming,
    ("chat", True): completion_create_params.CompletionCreateParamsStreaming,
    ("responses", False): response_create_params.ResponseCreateParamsNonStreaming,
    ("responses", True): response_create_params.ResponseCreateParamsStreaming,
}
_ADAPTERS = {k: (pydantic.TypeAdapter(t), set(typing.get_type_hints(t))) for k, t in _ADAPTERS.items()}


class _Invalid(Exception):
    """A lazily validated item failed, at ``path`` (outermost key first)."""

    def __init__(self, path, error):
        super().__init__(path)
        self.path, self.error = path, error


def _consume(value, path=()):
    """Walk a validated value, so that pydantic's lazy iterables (``Iterable[...]``) validate too."""
    if isinstance(value, dict):
        for k, v in value.items():
            _consume(v, (*path, k))
    elif isinstance(value, (str, bytes)):
        return
    elif hasattr(value, "__iter__"):
        try:
            items = list(value)
        except pydantic.ValidationError as e:
            raise _Invalid(path, e.errors()[0]) from None
        for i, v in enumerate(items):
            _consume(v, (*path, i))


def validate(api, body):
    """Check ``body`` against the openai package's params type of ``api``; OpenAIError 400 if it is not one."""
    if not isinstance(body, dict):
        raise OpenAIError(400, "Failed to deserialize the JSON body into the target type")
    adapter, fields = _ADAPTERS[(api, body.get("stream") is True)]
    unknown = sorted(set(body) - fields)
    if unknown:
        raise OpenAIError(400, f"Unrecognized request argument supplied: {', '.join(unknown)}",
                          code="unknown_parameter", param=unknown[0])
    try:
        _consume(adapter.validate_python(body, strict=True))
    except pydantic.ValidationError as e:
        path, first = (), e.errors()[0]
    except _Invalid as e:
        path, first = e.path, e.error
    else:
        return
    where = ".".join(str(p) for p in (*path, *first["loc"]))
    raise OpenAIError(400, f"Invalid value at {where}: {first['msg']}", param=where)


def bedrock_rules(surface, api, row, body):
    """What Bedrock refuses beyond the shape (AWS user guide; the AWS sample's recorded calls)."""
    if api == "responses" and surface == "runtime" and body.get("background") is True:
        raise OpenAIError(400, "The background parameter is not supported.")
    if api == "responses":
        allowed = RESPONSES_TOOLS[surface]
        for tool in body.get("tools") or []:
            if tool.get("type") not in allowed:
                raise OpenAIError(400, f"{tool.get('type')} is not supported for this request")
    if api == "chat" and "max_tokens" in body and "max_tokens" not in row.get("chat_token_fields", ["max_tokens"]):
        raise OpenAIError(400, "Unsupported parameter: 'max_tokens' is not supported with this model. "
                               "Use 'max_completion_tokens' instead.", code="unsupported_parameter",
                          param="max_tokens")
    if body.get("previous_response_id"):
        raise OpenAIError(404, f"Response with id '{body['previous_response_id']}' not found.",
                          code="not_found", kind="not_found_error")


# ---------------------------------------------------------------- answers


def _words(value):
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, dict):
        return sum(_words(v) for v in value.values())
    if isinstance(value, list):
        return sum(_words(v) for v in value)
    return 0


def _usage(body, text, script):
    prompt = max(1, _words(body.get("messages") or body.get("input") or "") + _words(body.get("instructions")))
    completion = max(1, len(text.split()))
    usage = {"prompt": prompt, "completion": completion}
    usage.update(script.get("usage") or {})
    return usage["prompt"], usage["completion"]


def _tool_call_wanted(api, body):
    """A function-tool loop: call the first tool until the conversation holds its result."""
    tools = [t for t in body.get("tools") or [] if t.get("type") == "function"]
    if not tools:
        return None
    if api == "chat":
        if any(m.get("role") == "tool" for m in body["messages"]):
            return None
        return tools[0]["function"]["name"]
    items = body.get("input") if isinstance(body.get("input"), list) else []
    if any(isinstance(i, dict) and i.get("type") == "function_call_output" for i in items):
        return None
    return tools[0]["name"]


def chat_completion(model, body, script):
    text = script.get("text") or f"Hello from the Bedrock stand-in ({model})."
    prompt, completion = _usage(body, text, script)
    tool = _tool_call_wanted("chat", body)
    message = {"role": "assistant", "content": None if tool else text, "refusal": None}
    if tool:
        message["tool_calls"] = [{"id": "call_standin_1", "type": "function",
                                  "function": {"name": tool, "arguments": json.dumps({"city": "Paris"})}}]
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": int(time.time()),
        "model": model, "system_fingerprint": None, "service_tier": body.get("service_tier") or "default",
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": "tool_calls" if tool else "stop"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                  "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}},
    }


def chat_chunks(model, body, script):
    """The chunks of a streamed chat completion, as mantle sends them (AWS capture in bifrost#7065)."""
    whole = chat_completion(model, body, script)
    base = {k: whole[k] for k in ("id", "object", "created", "model", "system_fingerprint")}
    base["object"] = "chat.completion.chunk"
    include_usage = (body.get("stream_options") or {}).get("include_usage") is True
    null_usage = {"usage": None} if include_usage else {}
    message = whole["choices"][0]["message"]
    chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                    "finish_reason": None}], **null_usage}]
    if message.get("tool_calls"):
        call = message["tool_calls"][0]
        chunks.append({**base, "choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "id": call["id"], "type": "function",
             "function": {"name": call["function"]["name"], "arguments": call["function"]["arguments"]}}]},
            "finish_reason": None}], **null_usage})
    else:
        words = message["content"].split(" ")
        for i, word in enumerate(words):
            piece = word if i == 0 else " " + word
            chunks.append({**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
                           **null_usage})
    finish = whole["choices"][0]["finish_reason"]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}], **null_usage})
    if include_usage:
        chunks.append({**base, "choices": [], "usage": whole["usage"]})
    return [f"data: {json.dumps(c)}\n\n".encode() for c in chunks] + [b"data: [DONE]\n\n"]


def response_object(model, body, script, status="completed"):
    text = script.get("text") or f"Hello from the Bedrock stand-in ({model})."
    prompt, completion = _usage(body, text, script)
    tool = _tool_call_wanted("responses", body)
    if tool:
        output = [{"type": "function_call", "id": "fc_standin_1", "call_id": "call_standin_1", "name": tool,
                   "arguments": json.dumps({"city": "Paris"}), "status": "completed"}]
    else:
        output = [{"type": "message", "id": "msg_standin_1", "status": "completed", "role": "assistant",
                   "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]}]
    return {
        "id": f"resp_{uuid.uuid4().hex[:24]}", "object": "response", "created_at": int(time.time()),
        "status": status, "background": False, "error": None, "incomplete_details": None,
        "instructions": body.get("instructions"), "max_output_tokens": body.get("max_output_tokens"),
        "model": model, "output": output, "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": None, "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
        "service_tier": "default", "store": body.get("store", True), "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}}, "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [], "top_p": body.get("top_p", 1.0), "truncation": "disabled",
        "metadata": body.get("metadata") or {},
        "usage": {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                  "output_tokens": completion, "output_tokens_details": {"reasoning_tokens": 0},
                  "total_tokens": prompt + completion},
    }


def response_events(model, body, script):
    """The typed events of a streamed response (AWS sample 01-openai-gpt/01's recorded stream)."""
    final = response_object(model, body, script)
    start = {**final, "status": "in_progress", "output": [], "usage": None}
    events = [("response.created", {"response": start}), ("response.in_progress", {"response": start})]
    item = final["output"][0]
    if item["type"] == "function_call":
        events.append(("response.output_item.added", {"output_index": 0, "item": {**item, "arguments": ""}}))
        events.append(("response.function_call_arguments.delta",
                       {"output_index": 0, "item_id": item["id"], "delta": item["arguments"]}))
        events.append(("response.function_call_arguments.done",
                       {"output_index": 0, "item_id": item["id"], "arguments": item["arguments"]}))
    else:
        text = item["content"][0]["text"]
        empty = {**item, "status": "in_progress", "content": []}
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        events.append(("response.output_item.added", {"output_index": 0, "item": empty}))
        events.append(("response.content_part.added",
                       {"output_index": 0, "item_id": item["id"], "content_index": 0, "part": part}))
        for i, word in enumerate(text.split(" ")):
            events.append(("response.output_text.delta", {"output_index": 0, "item_id": item["id"],
                                                          "content_index": 0, "delta": word if i == 0 else " " + word,
                                                          "logprobs": []}))
        events.append(("response.output_text.done", {"output_index": 0, "item_id": item["id"],
                                                     "content_index": 0, "text": text, "logprobs": []}))
        events.append(("response.content_part.done", {"output_index": 0, "item_id": item["id"], "content_index": 0,
                                                      "part": item["content"][0]}))
    events.append(("response.output_item.done", {"output_index": 0, "item": item}))
    events.append(("response.completed", {"response": final}))
    return [f"event: {name}\ndata: {json.dumps({'type': name, 'sequence_number': n, **data})}\n\n".encode()
            for n, (name, data) in enumerate(events)]


# ---------------------------------------------------------------- the request


_SCRIPT_ERRORS = {"ThrottlingException": (429, "rate_limit_error", "rate_limit_exceeded"),
                  "ValidationException": (400, "invalid_request_error", "validation_error"),
                  "ServiceUnavailableException": (503, "api_error", "service_unavailable"),
                  "InternalServerException": (500, "api_error", "internal_error")}


def _route(surface, path):
    """(prefix, api) of an inference path on ``surface``; None for a path it does not serve."""
    for prefix in ("/openai/v1", "/v1"):
        if path.startswith(prefix + "/"):
            api = API_PATHS.get(path[len(prefix):])
            if api:
                return prefix, api
    return None


def handle(handler, body, surface):
    """Serve one request to the OpenAI-compatible ``surface`` (``runtime`` or ``mantle``) on ``handler``."""
    path = handler.path.split("?", 1)[0]
    try:
        parsed = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        parsed = None
    entry = {"surface": surface, "method": handler.command, "path": handler.path, "api": None,
             "model_id": parsed.get("model") if isinstance(parsed, dict) else None, "operation": None,
             "headers": [[k, v] for k, v in handler.headers.items()], "body": body.decode("utf-8", "replace"),
             "json": parsed, "status": None, "error_type": None, "auth": None}
    handler._generation = handler.server.state.generation
    request_id = str(uuid.uuid4())
    try:
        region = _authenticate(handler, body, entry, surface)
    except StandinError as error:
        entry.update(status=error.status, error_type=error.name)
        handler._record(entry, error.message)
        handler._send_error(error, request_id)
        return
    route = _route(surface, path) if handler.command == "POST" else None
    if surface == "runtime" and (route is None or route[0] != "/openai/v1"):
        # bedrock-runtime's HTTP-200 trap for a path it does not serve.
        entry.update(status=200, error_type="UnknownOperationException")
        handler._record(entry, "UnknownOperationException (HTTP 200)")
        handler._send_json(200, CORAL_UNKNOWN, [("x-amzn-RequestId", request_id)])
        return
    if route is None:
        entry.update(status=404)
        handler._record(entry, "no such path")
        handler._send_bytes(404, b"", [("Content-Length", "0")])
        return
    prefix, api = route
    entry.update(api=api, operation=f"{surface}:{api}")
    try:
        row = _check(surface, api, prefix, parsed, region)
    except OpenAIError as error:
        entry.update(status=error.status, error_type=error.code)
        handler._record(entry, error.message)
        handler._send_json(error.status, error.body(), [("x-request-id", request_id)])
        return
    _answer(handler, surface, api, row, parsed, entry, request_id)


def _authenticate(handler, body, entry, surface):
    headers = list(handler.headers.items())
    values = [v for k, v in headers if k.lower() == "authorization"]
    scheme, _, token = ", ".join(values).strip().partition(" ")
    if scheme.lower() != "bearer":
        entry["auth"] = {"kind": "sigv4" if values else "none", "access_key_id": None}
        access_key_id, region = sigv4check.verify(handler.command, handler.path, headers, body,
                                                  service=SERVICES[surface])
        entry["auth"] = {"kind": "sigv4", "access_key_id": access_key_id, "service": SERVICES[surface]}
        return region
    record, region, error = bearer.verify(token.strip(), headers)
    entry["auth"] = record
    shown = f"Bearer <sha256:{record['token_sha256']}>"
    entry["headers"] = [[k, shown if k.lower() == "authorization" else v] for k, v in entry["headers"]]
    if error:
        raise error
    return region


def _check(surface, api, prefix, body, region):
    if not isinstance(body, dict) or not isinstance(body.get("model"), str):
        raise OpenAIError(400, "Failed to deserialize the JSON body into the target type: missing field `model`")
    model = body["model"]
    if surface == "runtime":
        row, apis = _runtime_row(model, region)
        if api not in apis:
            raise OpenAIError(404, "The model doesn't exist or doesn't support this API.", code="model_not_found")
    else:
        row, mantle = _mantle_row(model)
        if prefix != mantle["prefix"]:
            raise OpenAIError(400, f"model {model} isn't supported on this route")
        if api not in mantle["apis"]:
            raise OpenAIError(400, f"The model '{model}' does not support the '/v1/{API_NAMES[api]}' API")
    validate(api, body)
    bedrock_rules(surface, api, row, body)
    return row


API_NAMES = {"chat": "chat/completions", "responses": "responses"}


def _answer(handler, surface, api, row, body, entry, request_id):
    script = handler.server.state.pop_script()
    if script.get("delay_ms"):
        time.sleep(float(script["delay_ms"]) / 1000.0)
    if "raw" in script:
        handler._answer_raw(script["raw"], entry)
        return
    if script.get("error"):
        status, kind, code = _SCRIPT_ERRORS.get(script["error"], (400, "invalid_request_error", "validation_error"))
        error = OpenAIError(status, script.get("message") or script["error"], code=code, kind=kind)
        entry.update(status=status, error_type=code)
        handler._record(entry)
        handler._send_json(status, error.body(), [("x-request-id", request_id)])
        return
    model = body["model"]
    streamed = body.get("stream") is True
    entry.update(status=200)
    handler._record(entry)
    if not streamed:
        answer = chat_completion(model, body, script) if api == "chat" else response_object(model, body, script)
        handler._send_json(200, answer, [("x-request-id", request_id)])
        return
    events = chat_chunks(model, body, script) if api == "chat" else response_events(model, body, script)
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream; charset=utf-8")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.send_header("x-request-id", request_id)
    handler.end_headers()
    size = int(script.get("chunk_bytes") or 0)
    data = b"".join(events)
    pieces = [data[i:i + size] for i in range(0, len(data), size)] if size else events
    delay = float(script.get("chunk_delay_ms") or 0) / 1000.0
    for piece in pieces:
        httpio.write_chunk(handler.wfile, piece)
        if delay:
            time.sleep(delay)
    httpio.end_chunks(handler.wfile)
