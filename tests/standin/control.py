"""The /_standin/ control API: recorded requests, reset, scripts, health, inference
profiles, Bedrock API keys (bearer.py) and the prompt cache (caching.py)."""

import json

from . import bearer, models

SCRIPT_KEYS = {
    "error", "message", "text", "stop_reason", "usage", "delay_ms", "raw", "reset_connection",
    "chunk_bytes", "chunk_delay_ms", "exception", "truncate", "bad_crc", "no_message_stop",
    "tool_use", "reasoning", "redacted",
}
_RESETS = {"before_response", "mid_stream"}


def check_script(script):
    """Return an error message if ``script`` is not a valid script object, else None."""
    if not isinstance(script, dict):
        return "script must be a JSON object"
    unknown = sorted(set(script) - SCRIPT_KEYS)
    if unknown:
        return f"unknown script keys: {unknown}; allowed: {sorted(SCRIPT_KEYS)}"
    if "reset_connection" in script and script["reset_connection"] not in _RESETS:
        return f"reset_connection must be one of {sorted(_RESETS)}"
    if "reasoning" in script and not isinstance(script["reasoning"], str):
        return "reasoning must be a string (the model's reasoning text)"
    if "redacted" in script and not isinstance(script["redacted"], bool):
        return "redacted must be true or false"
    for call in script.get("tool_use") or []:
        if not isinstance(call, dict) or "name" not in call:
            return "each tool_use entry needs a name"
    return None


def handle(handler, body):
    """Serve one /_standin/ request on ``handler``."""
    path = handler.path.split("?", 1)[0]
    state = handler.server.state
    if path == "/_standin/health" and handler.command == "GET":
        handler._send_bytes(200, b"ok", [("Content-Type", "text/plain")])
    elif path == "/_standin/requests" and handler.command == "GET":
        handler._send_json(200, state.requests())
    elif path == "/_standin/reset" and handler.command == "POST":
        state.reset()
        handler._send_json(200, {"ok": True})
    elif path == "/_standin/inference-profiles" and handler.command == "POST":
        # Creating an application inference profile (or provisioned model) in this "account".
        try:
            entry = json.loads(body)
            models.register(entry["arn"], entry["model"])
        except (ValueError, KeyError, TypeError) as exc:
            handler._send_json(400, {"message": f"bad inference profile: {exc}"})
            return
        handler._send_json(200, {"ok": True})
    elif path == "/_standin/bearer-tokens" and handler.command == "POST":
        # A long-term Bedrock API key this "account" has (or had: "expired": true).
        try:
            entry = json.loads(body)
            bearer.register(entry["token"], entry.get("expired", False))
        except (ValueError, KeyError, TypeError) as exc:
            handler._send_json(400, {"message": f"bad bearer token: {exc}"})
            return
        handler._send_json(200, {"ok": True})
    elif path == "/_standin/bearer-tokens" and handler.command == "DELETE":
        bearer.forget_registered()
        handler._send_json(200, {"ok": True})
    elif path == "/_standin/cache" and handler.command == "GET":
        handler._send_json(200, state.cache.entries())
    elif path == "/_standin/cache" and handler.command == "DELETE":
        state.cache.clear()
        handler._send_json(200, {"ok": True})
    elif path == "/_standin/script" and handler.command == "POST":
        try:
            script = json.loads(body)
        except ValueError:
            script = None
        problem = check_script(script)
        if problem:
            handler._send_json(400, {"message": problem})
            return
        state.push_script(script)
        handler._send_json(200, {"ok": True})
    else:
        handler._send_json(404, {"message": f"no such control endpoint: {handler.command} {path}"})
