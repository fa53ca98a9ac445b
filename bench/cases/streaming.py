"""The `stream` part: first upstream event → first client byte through bare Envoy and the filter, and
Envoy's VmRSS while one client reads a 50 MiB answer (bench/stream_upstream.py).
"""

import json
import os
import socket
import sys
import threading
import time

from cases.gateways import Gateway
from config import BIG_MIB, BIG_MODEL, CHAT_PATH, MODEL, OPENAI_BODY, STREAM_READ_BPS, TTFB_TRIALS, openai_headers, say
from harness import BENCH, STEP_TIMEOUT, free_port, request, spawn, vm_rss_kb, wait_ready
from results import Failed, RssResult, RssRun, RssSample


def raw_post(port, path, body, headers, on_body=None, limit_bps=None, deadline_s=STEP_TIMEOUT):
    """POST over a raw socket (Connection: close). Returns (status, t_first_body_ns, total body bytes, tail).

    t_first_body_ns is time.monotonic_ns() right after the recv() that first
    returned bytes beyond the response headers.
    """
    head = f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\n" \
           f"content-length: {len(body)}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(head.encode() + b"\r\n" + body)
    buf, t_first, status, got, tail = b"", None, None, 0, b""
    start = time.monotonic()
    try:
        while True:
            data = s.recv(65536)
            now = time.monotonic_ns()
            if not data:
                break
            if status is None:
                buf += data
                if b"\r\n\r\n" not in buf:
                    continue
                hdr, data = buf.split(b"\r\n\r\n", 1)
                status = int(hdr.split(b" ", 2)[1])
            if data:
                if t_first is None:
                    t_first = now
                got += len(data)
                tail = (tail + data)[-256:]
                if on_body:
                    on_body(got)
                if limit_bps:
                    ahead = got / limit_bps - (time.monotonic() - start)
                    if ahead > 0:
                        time.sleep(ahead)
            if time.monotonic() - start > deadline_s:
                raise RuntimeError(f"stream not finished after {deadline_s}s")
    finally:
        s.close()
    return status, t_first, got, tail


def ttfb_trials(stream_port, targets):
    """{name: [first upstream event → first client body byte, µs]} for alternating trials."""
    out = {t["name"]: [] for t in targets}
    for _ in range(TTFB_TRIALS):
        for t in targets:
            status, t_first, _, tail = raw_post(t["port"], t["path"], t["body"], t["headers"],
                                                deadline_s=10)
            if status != 200:
                raise RuntimeError(f"{t['name']}: stream answered {status}: {tail!r}")
            _, _, last = request(stream_port, "GET", "/_last")
            t0 = json.loads(last)["first_event_ns"]
            out[t["name"]].append((t_first - t0) / 1000)
    return out


def rss_during_stream(gw_pid, t, stream_port):
    """Sample Envoy's VmRSS every 100 ms while one client reads the big answer, twice."""
    samples, done, got = [], threading.Event(), [0]
    t0 = time.monotonic()

    def sampler():
        while not done.is_set():
            samples.append(RssSample(time.monotonic() - t0, vm_rss_kb(gw_pid), got[0]))
            done.wait(0.1)

    def progress(n):
        got[0] = n

    th = threading.Thread(target=sampler, daemon=True)
    th.start()
    time.sleep(0.5)  # baseline before the request
    runs = []
    try:
        for _ in range(2):  # the second answer shows whether the first one's memory is reused
            got[0] = 0
            first_sample = len(samples)
            t_req = time.monotonic_ns()
            status, _, total, tail = raw_post(t["port"], t["path"], t["body"], t["headers"],
                                              on_body=progress, limit_bps=STREAM_READ_BPS)
            t_end = time.monotonic_ns()
            if status != 200:
                raise RuntimeError(f"big stream answered {status}: {tail!r}")
            _, _, last = request(stream_port, "GET", "/_last")
            up = json.loads(last)
            runs.append(RssRun(first_sample=first_sample, bytes=total, seconds=(t_end - t_req) / 1e9,
                               upstream_seconds=(up["big_done_ns"] - t_req) / 1e9,
                               tail=tail.decode("latin-1")[-80:]))
            time.sleep(0.3)
    finally:
        time.sleep(0.3)
        done.set()
        th.join()
    rss = [s.rss_kb for s in samples]
    first, second = runs
    one = rss[:second.first_sample]
    two = rss[second.first_sample:]
    # Flat = once the first fifth of the first answer is through (buffers
    # filled), RSS grows no further; and the second answer adds nothing.
    early = [s.rss_kb for s in samples[:second.first_sample] if s.client_bytes <= first.bytes / 5] or one[:1]
    return RssResult(first_sample=first.first_sample, bytes=first.bytes, seconds=first.seconds,
                     upstream_seconds=first.upstream_seconds, tail=first.tail,
                     samples=samples, start_kb=rss[0], max_kb=max(one), end_kb=one[-1],
                     growth_kb=max(one) - rss[0], late_growth_kb=max(one) - max(early),
                     second_growth_kb=max(two) - max(one), second=second)


def streaming(captured, concurrency):
    """The `stream` part: (ttfb {case: [µs]}, rss {"filter"|"bare": RssResult or Failed})."""
    sport = free_port()
    say("streaming: first-event latency and RSS")
    sproc = spawn("stream-upstream", [sys.executable, os.path.join(BENCH, "stream_upstream.py"),
                                      "--port", str(sport), "--big-mb", str(BIG_MIB)])
    wait_ready(sproc, sport, "/_health", "stream upstream")
    gf = Gateway("stream-filter", sport, concurrency, with_filter=True)
    gb = Gateway("stream-bare", sport, concurrency, with_filter=False)
    small = json.dumps(dict(OPENAI_BODY, stream=True)).encode()
    stream = captured["stream"]
    targets = [
        {"name": "bare Envoy (event-stream bytes)", "port": gb.port,
         "path": stream.path, "body": stream.body, "headers": stream.headers},
        {"name": "Envoy + filter (SSE bytes)", "port": gf.port, "path": CHAT_PATH, "body": small,
         "headers": openai_headers()},
    ]
    ttfb = ttfb_trials(sport, targets)
    big_path = stream.path.replace(MODEL.replace(":", "%3A"), BIG_MODEL.replace(":", "%3A"))
    rss = {}
    for name, gw, t in (
            ("filter", gf, {"port": gf.port, "path": CHAT_PATH, "headers": openai_headers(),
                            "body": json.dumps(dict(OPENAI_BODY, model=BIG_MODEL, stream=True)).encode()}),
            ("bare", gb, {"port": gb.port, "path": big_path, "headers": stream.headers,
                          "body": stream.body})):
        try:
            rss[name] = rss_during_stream(gw.proc.pid, t, sport)
        except Exception as e:
            rss[name] = Failed(str(e))
    return ttfb, rss
