#!/usr/bin/env python3
"""Many concurrent streamed requests, each read chunk by chunk: the client of bench/run.py's `streams` part.

    python bench/many_streams.py SPEC.json      prints one line: MANY_STREAMS <json>

SPEC (JSON): port, path, headers {name: value}, body (text), streams (N),
start_ns (time.monotonic_ns() at which the first connection opens), ramp_s
(the N connections open evenly over this many seconds), window_ns [t0, t1]
(monotonic: the steady window; the chunks read in it are counted and their
delays kept), deadline_s (after start_ns: whatever is still open then is an
error), samples_path (optional: where to write each window chunk's read time
and delay, int64 pairs [monotonic ns, delay ns], for bench/cases/procfs.py to leave out the
moments the hypervisor stole the CPU).

One non-blocking socket per stream, one HTTP/1.1 POST each (Connection:
close), all in one epoll loop. The answer's body is de-chunked and scanned for
the upstream's stamps `~<seq>:<t_ns>~` (bench/slow_upstream.py: t_ns is
time.time_ns() right before its write), whether it carries event-stream frames
(bare Envoy) or SSE chunks (the filter): a stamp is one delivered chunk.

Its delay is measured without this client's own lag: every socket has
SO_TIMESTAMPNS on, so each recvmsg() returns the kernel's receive time of the
last segment it read (CLOCK_REALTIME, the upstream's clock), and delay =
that time − t_ns: the upstream's send, loopback and the proxy, not how late
this loop got round to the socket. When one read holds several stamps they
all get the read's time (the last segment's), an overestimate for all but the
last; `coalesced` counts them. `read_lag_us` (wall time after the read −
kernel time) shows the lag that was left out.

A stream is an error if its status is not 200, it closes early or resets, a
seq is missing or repeated, it does not end as its kind ends (`messageStop`
in the event stream, `data: [DONE]` in SSE) or it is still open at the
deadline.

Output: streams, ok, errors {kind: n} (and a few examples), chunks (all),
window_chunks, window_open_min (streams open at the window's start and end:
the lesser), delay_us quantiles of the window's chunks {50, 90, 99, 99.9,
max}, hist (log-spaced delay histogram: edges_us, counts), read_lag_us {50,
99}, coalesced, first_byte_s (connection opened → first chunk: p50, max) and
cpu_s (this process's user+system CPU in the window).
"""

import array
import bisect
import errno
import json
import re
import resource
import select
import socket
import struct
import sys
import time

STAMP = re.compile(rb"~(\d+):(\d+)~")
EDGES_US = [round(10 ** (k / 10)) for k in range(10, 61)]  # 10 µs .. 1 s, 10 bins a decade
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux (x86-64, arm64) value; Python lacks the name
ANC = socket.CMSG_SPACE(16)  # one struct timespec


def quantile(sorted_xs, p):
    """The p-th percentile of sorted_xs (nearest rank: the ceil(p·n/100)-th), or None.

    p·n is formed before the division, so that 99.9 % of 1,000 is rank 999
    (p / 100 · n gives 999.0000000000001 in floating point, rank 1,000)."""
    if not sorted_xs:
        return None
    return sorted_xs[min(len(sorted_xs) - 1, max(0, int(-(-p * len(sorted_xs) // 100)) - 1))]


class Stream:
    __slots__ = ("i", "sock", "sent", "head", "buf", "status", "chunk_left", "tail", "seq", "ended",
                 "kind_end", "done", "t_open", "t_first")

    def __init__(self, i, sock):
        self.i, self.sock = i, sock
        self.sent = False
        self.head = b""         # response bytes before the body starts
        self.buf = b""          # chunked body bytes not yet de-chunked
        self.status = None
        self.chunk_left = None  # bytes left in the current HTTP chunk; None: a size line is due; 0: its CRLF
        self.tail = b""         # de-chunked bytes after the last stamp (a stamp cut in two)
        self.seq = 0
        self.ended = False      # the last HTTP chunk (size 0) arrived
        self.kind_end = False
        self.done = False
        self.t_open = time.monotonic_ns()
        self.t_first = None


class Run:
    def __init__(self, spec):
        self.spec = spec
        body = spec["body"].encode()
        head = (f"POST {spec['path']} HTTP/1.1\r\nhost: 127.0.0.1:{spec['port']}\r\nconnection: close\r\n"
                f"content-length: {len(body)}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in spec["headers"].items()))
        self.request = head.encode() + b"\r\n" + body
        self.w0, self.w1 = spec["window_ns"]
        self.chunks = self.window_chunks = self.ok = self.coalesced = 0
        self.errors, self.examples = {}, []
        self.delays, self.hist = [], [0] * (len(EDGES_US) + 1)
        self.pairs = array.array("q")  # [read time (monotonic ns), delay (ns)] of each window chunk
        self.lags = []
        self.first_bytes = []
        self.by_fd = {}
        self.ep = select.epoll()
        self.cpu_marks = []

    # ------------------------------------------------------------ outcomes

    def error(self, s, why):
        if s.done:
            return
        kind = re.sub(r"\d+", "N", why)[:80]
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if len(self.examples) < 5:
            self.examples.append(f"stream {s.i}: {why}")
        self.close(s)

    def close(self, s):
        s.done = True
        if s.t_first is not None:
            self.first_bytes.append((s.t_first - s.t_open) / 1e9)
        fd = s.sock.fileno()
        if fd in self.by_fd:
            del self.by_fd[fd]
            self.ep.unregister(fd)
        s.sock.close()

    # ------------------------------------------------------------ reading

    def on_writable(self, s):
        err = s.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self.error(s, f"connect: {errno.errorcode.get(err, err)}")
            return
        try:
            s.sock.send(self.request)  # a few hundred bytes: fits the empty send buffer
        except OSError as e:
            self.error(s, f"send: {e.strerror}")
            return
        s.sent = True
        self.ep.modify(s.sock.fileno(), select.EPOLLIN)

    def on_readable(self, s):
        try:
            data, anc, _, _ = s.sock.recvmsg(65536, ANC)
        except BlockingIOError:
            return
        except OSError as e:
            self.error(s, f"connection lost: {e.strerror}")
            return
        wall = time.time_ns()
        mono = time.monotonic_ns()
        kernel = wall
        for level, kind, cdata in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(cdata) >= 16:
                sec, nsec = struct.unpack("qq", cdata[:16])
                kernel = sec * 1_000_000_000 + nsec
        if not data:
            if not s.done:
                if s.ended:
                    self.finish(s)
                else:
                    self.error(s, "closed before the answer's end" if s.status else "closed before any answer")
            return
        if self.w0 <= mono <= self.w1:
            self.lags.append((wall - kernel) / 1000)
        if s.status is None:
            s.head += data
            end = s.head.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = s.head[:end].split(b"\r\n")
            s.status = int(lines[0].split(b" ", 2)[1])
            data, s.head = s.head[end + 4:], b""
            if s.status != 200:
                self.error(s, f"status {s.status}")
                return
            if not any(h.lower().startswith(b"transfer-encoding:") and b"chunked" in h.lower() for h in lines):
                self.error(s, "answer not chunked")
                return
        self.dechunk(s, data, kernel, mono)

    def dechunk(self, s, data, kernel, mono):
        buf = s.buf + data
        body = []
        pos = 0
        while not s.ended:
            if s.chunk_left is None:  # a chunk-size line
                nl = buf.find(b"\r\n", pos)
                if nl < 0:
                    break
                size = int(buf[pos:nl].split(b";")[0], 16)
                pos = nl + 2
                if size == 0:
                    s.ended = True
                    break
                s.chunk_left = size
            elif s.chunk_left > 0:  # chunk data
                if pos >= len(buf):
                    break
                take = buf[pos:pos + s.chunk_left]
                body.append(take)
                pos += len(take)
                s.chunk_left -= len(take)
            else:  # the CRLF after a chunk's data
                if len(buf) - pos < 2:
                    break
                pos += 2
                s.chunk_left = None
        s.buf = buf[pos:]
        if body:
            self.scan(s, b"".join(body), kernel, mono)
        if s.ended and not s.done:
            self.finish(s)

    def scan(self, s, data, kernel, mono):
        text = s.tail + data
        last = 0
        stamps = list(STAMP.finditer(text))
        in_window = self.w0 <= mono <= self.w1
        if len(stamps) > 1:
            self.coalesced += len(stamps) - 1
        for m in stamps:
            seq = int(m.group(1))
            if seq != s.seq:
                self.error(s, f"chunk {seq} where {s.seq} was due")
                return
            s.seq += 1
            self.chunks += 1
            if s.t_first is None:
                s.t_first = mono
            if in_window:
                self.window_chunks += 1
                ns = kernel - int(m.group(2))
                us = ns / 1000
                self.delays.append(us)
                self.pairs.extend((mono, ns))
                self.hist[bisect.bisect_left(EDGES_US, us)] += 1
            last = m.end()
        if b"messageStop" in text or b"data: [DONE]" in text:
            s.kind_end = True
        s.tail = text[last:][-64:]

    def finish(self, s):
        if not s.kind_end:
            self.error(s, "ended without messageStop / [DONE]")
            return
        self.ok += 1
        self.close(s)

    # ------------------------------------------------------------ the loop

    def open(self, i):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s = Stream(i, sock)
        self.by_fd[sock.fileno()] = s
        self.ep.register(sock.fileno(), select.EPOLLOUT)
        err = sock.connect_ex(("127.0.0.1", self.spec["port"]))
        if err not in (0, errno.EINPROGRESS):
            self.error(s, f"connect: {errno.errorcode.get(err, err)}")

    def mark_cpu(self):
        ru = resource.getrusage(resource.RUSAGE_SELF)
        self.cpu_marks.append((ru.ru_utime + ru.ru_stime, len(self.by_fd)))

    def main(self):
        n, ramp = self.spec["streams"], self.spec["ramp_s"]
        start = self.spec["start_ns"]
        deadline = start + int(self.spec["deadline_s"] * 1e9)
        marks = [self.w0, self.w1]
        opened = 0
        while True:
            now = time.monotonic_ns()
            while opened < n and now >= start + int(ramp * 1e9 * opened / n):
                self.open(opened)
                opened += 1
            while marks and now >= marks[0]:
                marks.pop(0)
                self.mark_cpu()
            if opened == n and not self.by_fd and not marks:
                break
            if now >= deadline:
                for s in list(self.by_fd.values()):
                    self.error(s, "still open at the deadline")
                while marks:
                    marks.pop(0)
                    self.mark_cpu()
                break
            nxt = [deadline]
            if opened < n:
                nxt.append(start + int(ramp * 1e9 * opened / n))
            if marks:
                nxt.append(marks[0])
            timeout = max(0.0, min(0.05, (min(nxt) - now) / 1e9))
            for fd, _ in self.ep.poll(timeout):
                s = self.by_fd.get(fd)
                if s is None:
                    continue
                if not s.sent:
                    self.on_writable(s)
                else:
                    self.on_readable(s)

    def result(self):
        d = sorted(self.delays)
        lags = sorted(self.lags)
        fb = sorted(self.first_bytes)
        (c0, o0), (c1, o1) = self.cpu_marks[0], self.cpu_marks[-1]
        return {
            "streams": self.spec["streams"], "ok": self.ok, "errors": self.errors,
            "error_examples": self.examples, "chunks": self.chunks, "window_chunks": self.window_chunks,
            "window_open_min": min(o0, o1), "cpu_s": c1 - c0, "coalesced": self.coalesced,
            "delay_us": {"50": quantile(d, 50), "90": quantile(d, 90), "99": quantile(d, 99),
                         "99.9": quantile(d, 99.9), "max": d[-1] if d else None},
            "read_lag_us": {"50": quantile(lags, 50), "99": quantile(lags, 99)},
            "hist": {"edges_us": EDGES_US, "counts": self.hist},
            "first_byte_s": {"50": quantile(fb, 50), "max": fb[-1] if fb else None},
        }


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    run = Run(spec)
    run.main()
    if spec.get("samples_path"):
        with open(spec["samples_path"], "wb") as f:
            run.pairs.tofile(f)
    print("MANY_STREAMS " + json.dumps(run.result()), flush=True)


if __name__ == "__main__":
    main()
