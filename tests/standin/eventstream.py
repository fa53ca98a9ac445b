"""application/vnd.amazon.eventstream frames, as ConverseStream sends them."""

import json
import random
import string
import struct
import zlib

_PAD_ALPHABET = string.ascii_letters + string.digits


def _header(name, value):
    name_b, value_b = name.encode(), value.encode()
    return struct.pack(">B", len(name_b)) + name_b + b"\x07" + struct.pack(">H", len(value_b)) + value_b


def frame(headers, payload):
    """Encode one frame: prelude (+CRC), string headers, payload, message CRC32."""
    head = b"".join(_header(k, v) for k, v in headers)
    total = 12 + len(head) + len(payload) + 4
    prelude = struct.pack(">II", total, len(head))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + head + payload
    return body + struct.pack(">I", zlib.crc32(body))


def padding():
    """A random-length alphanumeric ``p`` value, like AWS's padding field."""
    return "".join(random.choice(_PAD_ALPHABET) for _ in range(random.randint(1, 60)))


def event(event_type, body):
    """An event frame whose payload is ``body`` plus a ``p`` padding field."""
    payload = json.dumps(dict(body, p=padding()), separators=(",", ":")).encode()
    return frame([(":event-type", event_type), (":content-type", "application/json"),
                  (":message-type", "event")], payload)


def exception(exception_type, message):
    """An exception frame, e.g. ``exception("throttlingException", "...")``."""
    payload = json.dumps({"message": message}).encode()
    return frame([(":exception-type", exception_type), (":content-type", "application/json"),
                  (":message-type", "exception")], payload)


def corrupt_crc(encoded):
    """Return ``encoded`` with its message CRC flipped."""
    return encoded[:-4] + bytes(b ^ 0xFF for b in encoded[-4:])


def _split(text, parts):
    words = text.split(" ")
    size = max(1, -(-len(words) // parts))
    chunks = [" ".join(words[i:i + size]) for i in range(0, len(words), size)]
    pieces = [c + (" " if i < len(chunks) - 1 else "") for i, c in enumerate(chunks)]
    return [p for p in pieces if p] or [""]  # a trailing space leaves no empty delta


def _split_json(text):
    cut = sorted({max(1, len(text) // 3), max(1, 2 * len(text) // 3)})
    bounds = [0] + [c for c in cut if 0 < c < len(text)] + [len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def _reasoning_deltas(content):
    """A reasoning block's deltas (realdata s09, s10, s11): its text in pieces, then the
    signature in one delta; a redacted block as one delta (the blob in base64, as JSON
    carries blobs). A block with empty text (Claude's display "omitted") sends only
    its signature."""
    if "redactedContent" in content:
        return [{"redactedContent": content["redactedContent"]}]
    reasoning_text = content["reasoningText"]
    text = reasoning_text["text"]
    deltas = [{"text": piece} for piece in _split(text, 4)] if text else []
    if "signature" in reasoning_text:
        deltas.append({"signature": reasoning_text["signature"]})
    return deltas or [{"text": ""}]


def answer_events(answer, latency_ms):
    """Yield ``(kind, frame_bytes)`` for an answer, in ConverseStream's order.

    ``kind`` is "messageStart", "delta" (text, reasoning or tool input fragment),
    "blockStart", "blockStop", "messageStop" or "metadata", so callers can
    inject exceptions or drop frames.
    """
    yield "messageStart", event("messageStart", {"role": "assistant"})
    for index, block in enumerate(answer["content"]):
        if "text" in block:
            for piece in _split(block["text"], 3):
                yield "delta", event("contentBlockDelta", {"delta": {"text": piece},
                                                           "contentBlockIndex": index})
        elif "reasoningContent" in block:
            for delta in _reasoning_deltas(block["reasoningContent"]):
                yield "delta", event("contentBlockDelta", {"delta": {"reasoningContent": delta},
                                                           "contentBlockIndex": index})
        elif "citationsContent" in block:
            # realdata s13: the citation first (botocore CitationsDelta), then the cited text.
            cited = block["citationsContent"]
            for citation in cited["citations"]:
                yield "delta", event("contentBlockDelta", {"delta": {"citation": citation},
                                                           "contentBlockIndex": index})
            for part in cited["content"]:
                for piece in _split(part["text"], 3):
                    yield "delta", event("contentBlockDelta", {"delta": {"text": piece},
                                                               "contentBlockIndex": index})
        else:
            use = block["toolUse"]
            yield "blockStart", event("contentBlockStart", {
                "start": {"toolUse": {"toolUseId": use["toolUseId"], "name": use["name"]}},
                "contentBlockIndex": index})
            for piece in _split_json(json.dumps(use["input"], separators=(",", ":"))):
                yield "delta", event("contentBlockDelta", {"delta": {"toolUse": {"input": piece}},
                                                           "contentBlockIndex": index})
        yield "blockStop", event("contentBlockStop", {"contentBlockIndex": index})
    yield "messageStop", event("messageStop", {"stopReason": answer["stop_reason"]})
    # ConverseStreamMetadataEvent also carries serviceTier and performanceConfig (botocore).
    yield "metadata", event("metadata", {"usage": answer["usage"], "metrics": {"latencyMs": latency_ms},
                                         **answer.get("served", {})})
