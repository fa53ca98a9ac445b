"""The HTTP server: /model/{id}/converse[-stream], /model/{id}/invoke (embedding models,
embeddings.py), the OpenAI-compatible paths of bedrock-runtime and bedrock-mantle
(openai_compat.py), and the /_standin/ control API."""

import json
import os
import re
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import (
    answers,
    bearer,
    control,
    embeddings,
    httpio,
    models,
    openai_compat,
    rules,
    sigv4check,
    streaming,
    validation,
)
from .errors import STATUS, StandinError
from .faults import Faults
from .recorder import State

_ROUTE = re.compile(r"^/model/([^/]+)/(converse|converse-stream|invoke)$")
_OPERATIONS = {"converse": "Converse", "converse-stream": "ConverseStream", "invoke": "InvokeModel"}


class _Abort(Exception):
    """The connection was reset on purpose; nothing more to write."""


class Handler(BaseHTTPRequestHandler):
    """Request handler; ``self.server.state`` is the shared :class:`State`."""

    protocol_version = "HTTP/1.1"
    server_version = "BedrockStandin/1.0"

    def version_string(self):
        """Server header value (no Python version suffix)."""
        return self.server_version

    def log_message(self, fmt, *args):  # noqa: D102 - quiet unless asked
        if os.environ.get("STANDIN_VERBOSE"):
            super().log_message(fmt, *args)

    def do_POST(self):  # noqa: N802
        self._dispatch()

    do_GET = do_PUT = do_DELETE = do_PATCH = do_POST  # noqa: N815

    def _dispatch(self):
        try:
            body = httpio.read_body(self.rfile, self.headers)
        except httpio.BadRequestBody as exc:
            self.close_connection = True
            self._send_json(400, {"message": f"Bad request body: {exc}"})
            return
        try:
            path = self.path.split("?", 1)[0]
            if path.startswith("/_standin/"):
                control.handle(self, body)
            elif self.server.surface == "mantle":
                openai_compat.handle(self, body, "mantle")
            elif path.startswith("/openai/") or path in openai_compat.RUNTIME_TRAPS:
                openai_compat.handle(self, body, "runtime")
            else:
                self._model_request(body)
        except _Abort:
            pass

    # -- responses -----------------------------------------------------------------

    def _send_json(self, status, obj, headers=()):
        data = json.dumps(obj).encode()
        self._send_bytes(status, data, [("Content-Type", "application/json"), *headers])

    def _send_bytes(self, status, data, headers):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if not any(n.lower() == "content-length" for n, _ in headers):
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_error(self, error, request_id):
        self._send_bytes(error.status, error.body(), [
            ("Content-Type", "application/json"),
            ("x-amzn-RequestId", request_id),
            ("x-amzn-ErrorType", error.header_value()),
        ])

    def reset_connection(self):
        """Drop the connection with an RST and stop handling this request."""
        self.close_connection = True
        try:
            self.rfile.close()
        finally:
            httpio.reset(self.connection)
        raise _Abort()

    def _record(self, entry, note=""):
        """Record a model request and log one line about it (the e2e tests keep this log)."""
        self.server.state.record(entry, self._generation)
        if entry.get("injected_fault"):
            note = f"{note} injected_fault={entry['injected_fault']}".strip()
        sys.stderr.write(f"standin: {entry['method']} {entry['path']} -> {entry['status']} "
                         f"{entry['error_type'] or ''} {note}\n")
        sys.stderr.flush()

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass

    # -- model requests ------------------------------------------------------------

    def _model_request(self, body):
        started = time.monotonic()
        self._generation = self.server.state.generation
        raw_path = self.path
        route = _ROUTE.match(raw_path.split("?", 1)[0])
        model_id = urllib.parse.unquote(route.group(1)) if route else None
        operation = _OPERATIONS[route.group(2)] if route else None
        try:
            parsed = json.loads(body) if body else None
        except (ValueError, UnicodeDecodeError):
            parsed = None
        entry = {
            "method": self.command, "path": raw_path, "model_id": model_id,
            "operation": operation, "headers": [[k, v] for k, v in self.headers.items()],
            "body": body.decode("utf-8", "replace"), "json": parsed,
            "status": None, "error_type": None, "auth": None,
        }
        request_id = str(uuid.uuid4())
        try:
            params, caps = self._check(body, entry, route)
        except StandinError as error:
            entry.update(status=error.status, error_type=error.name)
            self._record(entry, error.message)
            self._send_error(error, request_id)
            return
        self._answer(params, caps, entry, request_id, started)

    def _authenticate(self, headers, body, entry):
        """SigV4 or a Bedrock API key, by the Authorization header's scheme; returns the Region.

        Several Authorization headers count as one value joined by ", " (RFC 9110 §5.3),
        so a bearer key followed by a signature is a malformed key. SigV4 headers beside
        a bearer key (X-Amz-Date, X-Amz-Security-Token, ...) play no part: no public source
        says what AWS does with both, and the scheme decides which credential is checked.
        The record keeps the kind of credential, never a key (bearer.py).
        """
        values = [v for k, v in headers if k.lower() == "authorization"]
        scheme, _, token = ", ".join(values).strip().partition(" ")
        if scheme.lower() != "bearer":
            entry["auth"] = {"kind": "sigv4" if values else "none", "access_key_id": None}
            access_key_id, region = sigv4check.verify(self.command, self.path, headers, body)
            entry["auth"] = {"kind": "sigv4", "access_key_id": access_key_id}
            return region
        record, region, error = bearer.verify(token.strip(), headers)
        ignored = sorted({k.lower() for k, _ in headers if k.lower() in bearer.SIGV4_HEADERS})
        if ignored:
            record["ignored_sigv4_headers"] = ignored
        entry["auth"] = record
        shown = f"Bearer <sha256:{record['token_sha256']}>"
        entry["headers"] = [[k, shown if k.lower() == "authorization" else v] for k, v in entry["headers"]]
        if error:
            raise error
        return region

    def _check(self, body, entry, route):
        headers = list(self.headers.items())
        region = self._authenticate(headers, body, entry)
        if route is None or self.command != "POST":
            raise StandinError("UnknownOperationException", "UnknownOperationException")
        if entry["operation"] == "InvokeModel":
            return self._check_invoke(entry, region), None
        caps = models.resolve(entry["model_id"], region)
        if entry["json"] is None:
            raise StandinError("ValidationException",
                               "Malformed input request, please reformat your input and try again.")
        params = validation.validate_body(entry["json"], entry["operation"], entry["model_id"])
        if "requestMetadata" in params:
            entry["request_metadata"] = params["requestMetadata"]
        rules.check_converse(params, caps, streaming=entry["operation"] == "ConverseStream")
        return params, caps

    def _check_invoke(self, entry, region):
        """InvokeModel: only the embedding models (embeddings.py) are served here."""
        if not embeddings.is_embedding(entry["model_id"] or ""):
            raise StandinError("ValidationException", models.INVALID_ID)
        base, family = embeddings.resolve(entry["model_id"], region)
        if entry["json"] is None:
            raise StandinError("ValidationException",
                               "Malformed input request, please reformat your input and try again.")
        texts, dims = embeddings.check(entry["json"], family)
        entry["embedding"] = {"base": base, "family": family, "texts": len(texts), "dimensions": dims}
        return base, family, texts, dims

    def _answer_invoke(self, params, entry, request_id, started):
        base, family, texts, dims = params
        body, counted = embeddings.answer(base, family, texts, dims)
        latency = max(1, int((time.monotonic() - started) * 1000))
        entry.update(status=200)
        self._record(entry)
        self._send_json(200, body, [("x-amzn-RequestId", request_id),
                                    ("X-Amzn-Bedrock-Invocation-Latency", str(latency)),
                                    ("X-Amzn-Bedrock-Input-Token-Count", str(counted))])

    def _answer(self, params, caps, entry, request_id, started):
        script = self.server.state.pop_script()
        if not script:  # --fault-rate: queued scripts take precedence
            kind, script = self.server.faults.draw(entry["operation"])
            if kind:
                entry["injected_fault"] = kind
        if script.get("delay_ms"):
            time.sleep(float(script["delay_ms"]) / 1000.0)
        if script.get("reset_connection") == "before_response":
            self._record(entry)
            self.reset_connection()
        if "raw" in script:
            self._answer_raw(script["raw"], entry)
            return
        if script.get("error"):
            error = StandinError(script["error"], script.get("message"), STATUS.get(script["error"], 400))
            entry.update(status=error.status, error_type=error.name)
            self._record(entry)
            self._send_error(error, request_id)
            return
        if entry["operation"] == "InvokeModel":
            self._answer_invoke(params, entry, request_id, started)
            return
        answer = answers.build(params, entry["model_id"], script, caps.row, self.server.state.cache)
        if "cacheReadInputTokens" in answer["usage"]:
            entry["cache"] = {k: answer["usage"].get(k) for k in ("cacheReadInputTokens", "cacheWriteInputTokens")}
        latency = max(1, int((time.monotonic() - started) * 1000))
        entry.update(status=200)
        self._record(entry)
        if entry["operation"] == "ConverseStream":
            streaming.write(self, answer, script, latency, request_id)
        else:
            self._send_json(200, answers.converse_json(answer, latency), [("x-amzn-RequestId", request_id)])

    def _answer_raw(self, raw, entry):
        status = int(raw.get("status", 200))
        headers = list((raw.get("headers") or {}).items())
        error_type = next((v for k, v in headers if k.lower() == "x-amzn-errortype"), None)
        entry.update(status=status, error_type=error_type.split(":", 1)[0] if error_type else None)
        self._record(entry)
        body = raw.get("body", "")
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self._send_bytes(status, data, headers)


class StandinServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with daemon threads and a shared :class:`State`.

    ``surface`` is ``runtime`` (bedrock-runtime: Converse and its OpenAI-compatible
    paths) or ``mantle`` (bedrock-mantle's OpenAI-compatible paths); a mantle server
    made with ``state=`` of a runtime one records into the same log.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, faults=None, surface="runtime", state=None):
        super().__init__(address, Handler)
        self.surface = surface
        self.state = state or State()
        self.faults = faults or Faults()  # random fault injection (--fault-rate), off by default

    @property
    def url(self):
        """Base URL, e.g. ``http://127.0.0.1:9099``."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


def start_in_thread(host="127.0.0.1", port=0, faults=None, surface="runtime", state=None):
    """Start a stand-in in a daemon thread; returns the server (``.url``, ``.shutdown()``)."""
    server = StandinServer((host, port), faults, surface, state)
    threading.Thread(target=server.serve_forever, name="standin", daemon=True).start()
    return server
