"""Writing a ConverseStream answer: frames, script-driven faults, chunking, delays."""

import time

from . import eventstream, httpio

_DEFAULT_EXCEPTION_MESSAGE = {
    "throttlingException": "Too many requests, please wait before trying again.",
    "modelStreamErrorException": "The model encountered an error while streaming.",
    "validationException": "The request is invalid.",
    "internalServerException": "The server encountered an internal error.",
    "serviceUnavailableException": "Bedrock is unable to process your request.",
}


def _lower_camel(name):
    return name[:1].lower() + name[1:]


def plan(answer, script, latency_ms):
    """Return ``(byte_stream, reset_after)``: the bytes to send and whether to RST afterwards.

    Applies the stream-only script keys: exception, truncate, bad_crc,
    no_message_stop and reset_connection == "mid_stream".
    """
    out = []
    seen_delta = False
    for kind, data in eventstream.answer_events(answer, latency_ms):
        if kind == "messageStop" and script.get("no_message_stop"):
            continue
        if seen_delta and script.get("exception"):
            name = _lower_camel(script["exception"])
            message = script.get("message") or _DEFAULT_EXCEPTION_MESSAGE.get(name, name)
            out.append(eventstream.exception(name, message))
            return b"".join(out), False
        if seen_delta and script.get("truncate"):
            out.append(data[: max(1, len(data) // 2)])
            return b"".join(out), False
        if seen_delta and script.get("reset_connection") == "mid_stream":
            return b"".join(out), True
        if kind == "delta" and not seen_delta:
            seen_delta = True
            if script.get("bad_crc"):
                data = eventstream.corrupt_crc(data)
        out.append(data)
    return b"".join(out), False


def pieces(stream, frames_hint, chunk_bytes):
    """Split the byte stream into HTTP chunks: ``chunk_bytes`` each, or one per frame."""
    if chunk_bytes:
        return [stream[i:i + chunk_bytes] for i in range(0, len(stream), chunk_bytes)]
    return frames_hint(stream)


def split_frames(stream):
    """Split a byte stream at frame boundaries (a trailing partial frame stays a piece)."""
    out, pos = [], 0
    while pos < len(stream):
        size = int.from_bytes(stream[pos:pos + 4], "big") if len(stream) - pos >= 4 else 0
        size = size if 16 <= size <= len(stream) - pos else len(stream) - pos
        out.append(stream[pos:pos + size])
        pos += size
    return out


def write(handler, answer, script, latency_ms, request_id):
    """Send the 200 event-stream answer on ``handler`` (a BaseHTTPRequestHandler)."""
    stream, reset_after = plan(answer, script, latency_ms)
    handler.send_response(200)
    handler.send_header("Content-Type", "application/vnd.amazon.eventstream")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.send_header("x-amzn-RequestId", request_id)
    handler.end_headers()
    delay = float(script.get("chunk_delay_ms") or 0) / 1000.0
    for piece in pieces(stream, split_frames, int(script.get("chunk_bytes") or 0)):
        httpio.write_chunk(handler.wfile, piece)
        if delay:
            time.sleep(delay)
    if reset_after:
        handler.reset_connection()
        return
    httpio.end_chunks(handler.wfile)
