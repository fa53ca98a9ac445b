#!/usr/bin/env python3
"""A slow ConverseStream upstream for the `streams` part of bench/run.py: many long answers at once.

    python bench/slow_upstream.py --port N [--seconds 30] [--gap-ms 50,200] [--seed 1]

Every POST /model/<id>/converse-stream is answered like a Bedrock chat answer
that takes tens of seconds: the response headers (chunked
application/vnd.amazon.eventstream), `messageStart` at once, then one
`contentBlockDelta` text event every --gap-ms (uniformly jittered between the
two bounds, per stream) until --seconds have passed since the request
arrived, then `contentBlockStop`, `messageStop` and `metadata` and the last
chunk. SigV4 is not checked (the frames are made as the stand-in's encoder
makes them, tests/standin/eventstream.py).

Each delta's text carries `~<seq>:<t_ns>~`: its number in the stream (0, 1,
...) and time.time_ns() taken right before the write that sends it. That is
CLOCK_REALTIME, the clock of the kernel's receive timestamps (SO_TIMESTAMPNS),
one clock for every process on the machine: the client (bench/many_streams.py)
subtracts it from the time its socket received the bytes to get the delay the
chunk gained between the upstream's write and the client's socket, whether the
bytes come through bare Envoy (event-stream frames untouched) or through the
filter (each event turned into an SSE chunk).

It holds thousands of answers cheaply: one asyncio Protocol per connection,
one loop timer per open answer, one prebuilt frame template (two CRC-32s and a
write per event). HTTP/1.1 keep-alive (Envoy reuses its upstream
connections).

Control (for bench/cases/streams.py):
  GET  /_health   "ok"
  GET  /_stats    {"open", "started", "finished", "events", "write_errors", "slow_writes",
                  "max_write_us"}: the last two since the last /_config, the time from a
                  delta's stamp to its write's return (part of the delay the client sees)
  POST /_config   JSON {"seconds": s, "gap_ms": [lo, hi]}: for answers that start later

Listens on 127.0.0.1 only; stops on SIGTERM.
"""

import argparse
import asyncio
import json
import os
import random
import struct
import sys
import time
import uuid
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
from standin import eventstream  # noqa: E402

STATS = {"open": 0, "started": 0, "finished": 0, "events": 0, "write_errors": 0,
         "slow_writes": 0, "max_write_us": 0}  # since the last /_config: stamp → write returned > 1 ms


def chunk(data):
    return b"%x\r\n" % len(data) + data + b"\r\n"


def _headers_block(event_type):
    out = b""
    for name, value in ((":event-type", event_type), (":content-type", "application/json"),
                        (":message-type", "event")):
        n, v = name.encode(), value.encode()
        out += struct.pack(">B", len(n)) + n + b"\x07" + struct.pack(">H", len(v)) + v
    return out


DELTA_HEADERS = _headers_block("contentBlockDelta")
WORDS = (b"lorem ", b"ipsum ", b"dolor ", b"sit ", b"amet ", b"consectetur ", b"adipiscing ")
# The text after each stamp: 1 to 4 words (a few tokens, as a delta carries), cycled.
PADS = [b"".join(WORDS[(i * 3 + k) % len(WORDS)] for k in range(1 + i % 4)) for i in range(16)]


def delta_chunk(seq, pad):
    """One contentBlockDelta frame, as an HTTP chunk, stamped now: (bytes, t_ns)."""
    t_ns = time.time_ns()
    payload = (b'{"contentBlockIndex":0,"delta":{"text":"~%d:%d~ ' % (seq, t_ns) + pad
               + b'"},"p":"abcdefgh"}')
    total = 12 + len(DELTA_HEADERS) + len(payload) + 4
    prelude = struct.pack(">II", total, len(DELTA_HEADERS))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + DELTA_HEADERS + payload
    frame = body + struct.pack(">I", zlib.crc32(body))
    return b"%x\r\n" % len(frame) + frame + b"\r\n", t_ns


class Answer:
    """One streamed answer on a connection: a timer per event."""

    def __init__(self, conn, seconds, gap_ms, rng):
        self.conn, self.rng = conn, rng
        self.lo, self.hi = gap_ms[0] / 1000, gap_ms[1] / 1000
        self.loop = asyncio.get_running_loop()
        self.end = self.loop.time() + seconds
        self.seq = 0
        self.timer = None
        STATS["open"] += 1
        STATS["started"] += 1
        conn.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/vnd.amazon.eventstream\r\n"
                   b"transfer-encoding: chunked\r\nx-amzn-requestid: "
                   + str(uuid.uuid4()).encode() + b"\r\n\r\n"
                   + chunk(eventstream.event("messageStart", {"role": "assistant"})))
        self.schedule()

    def schedule(self):
        self.timer = self.loop.call_later(self.rng.uniform(self.lo, self.hi), self.tick)

    def tick(self):
        if self.conn.closed:
            return
        if self.loop.time() >= self.end:
            self.finish()
            return
        data, t_ns = delta_chunk(self.seq, PADS[self.seq % len(PADS)])
        self.conn.write(data)
        took = time.time_ns() - t_ns  # counted in the chunk's delay: this process's own share
        if took > 1_000_000:
            STATS["slow_writes"] += 1
        if took > STATS["max_write_us"] * 1000:
            STATS["max_write_us"] = took // 1000
        self.seq += 1
        STATS["events"] += 1
        self.schedule()

    def finish(self):
        tail = b"".join([
            eventstream.event("contentBlockStop", {"contentBlockIndex": 0}),
            eventstream.event("messageStop", {"stopReason": "end_turn"}),
            eventstream.event("metadata", {
                "usage": {"inputTokens": 25, "outputTokens": self.seq, "totalTokens": 25 + self.seq},
                "metrics": {"latencyMs": 1}}),
        ])
        self.conn.write(chunk(tail) + b"0\r\n\r\n")
        self.close()
        STATS["finished"] += 1
        self.conn.answer_done()

    def close(self):
        if self.timer:
            self.timer.cancel()
            self.timer = None
        if self.conn.answer is self:
            STATS["open"] -= 1


class Conn(asyncio.Protocol):
    def __init__(self, settings):
        self.settings = settings
        self.buf = b""
        self.answer = None
        self.closed = False
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def write(self, data):
        try:
            self.transport.write(data)
        except (ConnectionError, RuntimeError):
            STATS["write_errors"] += 1

    def connection_lost(self, exc):
        self.closed = True
        if self.answer:
            self.answer.close()
            self.answer = None

    def answer_done(self):
        self.answer = None
        self.data_received(b"")  # a request that came in meanwhile (none expected)

    def data_received(self, data):
        self.buf += data
        while self.answer is None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1").split("\r\n")
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4:end + 4 + length]
            self.buf = self.buf[end + 4 + length:]
            method, path, _ = head[0].split(" ", 2)
            self.request(method, path, body)

    def reply(self, status, body):
        self.write(b"HTTP/1.1 %d X\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
                   % (status, len(body)) + body)

    def request(self, method, path, body):
        if path == "/_health":
            self.reply(200, b"ok")
        elif path == "/_stats":
            self.reply(200, json.dumps(STATS).encode())
        elif path == "/_config" and method == "POST":
            self.settings.update(json.loads(body))
            STATS["slow_writes"] = STATS["max_write_us"] = 0
            self.reply(200, json.dumps(self.settings).encode())
        elif method == "POST" and path.startswith("/model/") and path.endswith("/converse-stream"):
            s = self.settings
            rng = random.Random(s["seed"] * 1_000_003 + STATS["started"])
            self.answer = Answer(self, s["seconds"], s["gap_ms"], rng)
        else:
            self.reply(404, b"{}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--gap-ms", default="50,200", help="lo,hi: uniform gap between two deltas")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    lo, hi = (float(x) for x in args.gap_ms.split(","))
    settings = {"seconds": args.seconds, "gap_ms": [lo, hi], "seed": args.seed}

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: Conn(settings), "127.0.0.1", args.port, backlog=4096)
        print(f"slow upstream on 127.0.0.1:{args.port}", flush=True)
        async with server:
            await server.serve_forever()

    try:
        import resource
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, ValueError, OSError):
        pass
    asyncio.run(serve())


if __name__ == "__main__":
    main()
