#!/usr/bin/env python3
"""A ConverseStream upstream for the streaming benchmarks (bench/run.py).

    python bench/stream_upstream.py --port N

Answers every POST /model/<id>/converse-stream with event-stream frames made
by the stand-in's encoder (tests/standin/eventstream.py); SigV4 is not checked.

- Model ids containing "haiku": a big answer of --big-mb MiB of text in
  8 KiB deltas, written as fast as the reader takes it (asyncio drain, so the
  gateway's flow control decides the pace).
- Any other model: the response headers, a --gap-ms pause, then the first
  event (messageStart) alone, whose send time is recorded; then the rest.
  GET /_last returns {"first_event_ns": <time.monotonic_ns() before that
  write>, "big_start_ns", "big_done_ns"} so a client on this machine can
  compute first-event → first-byte, and when the big answer was all written.

Listens on 127.0.0.1 only. HTTP/1.1 keep-alive, chunked answers.
"""

import argparse
import asyncio
import json
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
from standin import eventstream  # noqa: E402

STATE = {"first_event_ns": None}


def chunk(data):
    return b"%x\r\n" % len(data) + data + b"\r\n"


def small_answer():
    text = ["Hello ", "from the ", "benchmark upstream."]
    first = eventstream.event("messageStart", {"role": "assistant"})
    deltas = b"".join(
        eventstream.event("contentBlockDelta", {"delta": {"text": t}, "contentBlockIndex": 0})
        for t in text)
    tail = b"".join([
        eventstream.event("contentBlockStop", {"contentBlockIndex": 0}),
        eventstream.event("messageStop", {"stopReason": "end_turn"}),
        eventstream.event("metadata", {
            "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
            "metrics": {"latencyMs": 1}}),
    ])
    return first, deltas, tail


async def read_request(reader):
    """(method, path, body) or None at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    return method, path, body


async def handle(reader, writer, args, delta_frame, small):
    try:
        while True:
            req = await read_request(reader)
            if req is None:
                break
            method, path, _ = req
            if method == "GET" and path.startswith("/_"):
                body = json.dumps(STATE).encode() if path == "/_last" else b"ok"
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                             b"content-length: %d\r\n\r\n" % len(body) + body)
                await writer.drain()
                continue
            if not (method == "POST" and path.startswith("/model/") and path.endswith("/converse-stream")):
                writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
                continue
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/vnd.amazon.eventstream\r\n"
                         b"transfer-encoding: chunked\r\nx-amzn-requestid: "
                         + str(uuid.uuid4()).encode() + b"\r\n\r\n")
            await writer.drain()
            if "haiku" in path:
                STATE["big_start_ns"] = time.monotonic_ns()
                writer.write(chunk(eventstream.event("messageStart", {"role": "assistant"})))
                per_write = max(1, 65536 // len(delta_frame))
                batch = chunk(delta_frame * per_write)
                sent, target = 0, args.big_mb * 1024 * 1024
                while sent < target:
                    writer.write(batch)
                    await writer.drain()
                    sent += per_write * args.delta_bytes
                writer.write(chunk(small[2]))
            else:
                await asyncio.sleep(args.gap_ms / 1000)
                first, deltas, tail = small
                STATE["first_event_ns"] = time.monotonic_ns()
                writer.write(chunk(first))
                await writer.drain()
                await asyncio.sleep(args.gap_ms / 1000)
                writer.write(chunk(deltas + tail))
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            if "haiku" in path:
                STATE["big_done_ns"] = time.monotonic_ns()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--big-mb", type=int, default=50)
    p.add_argument("--delta-bytes", type=int, default=8192)
    p.add_argument("--gap-ms", type=float, default=20)
    args = p.parse_args()
    delta_frame = eventstream.frame(
        [(":event-type", "contentBlockDelta"), (":content-type", "application/json"),
         (":message-type", "event")],
        json.dumps({"delta": {"text": "x" * args.delta_bytes}, "contentBlockIndex": 0,
                    "p": "abc"}).encode())
    small = small_answer()

    async def serve():
        server = await asyncio.start_server(
            lambda r, w: handle(r, w, args, delta_frame, small), "127.0.0.1", args.port)
        print(f"stream upstream on 127.0.0.1:{args.port}", flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
