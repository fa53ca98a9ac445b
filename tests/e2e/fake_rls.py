"""A fake Envoy rate-limit service (envoy.service.ratelimit.v3.RateLimitService) for tests.

grpcio serves raw bytes (a generic handler, no generated code); the few protobuf
fields involved are decoded by hand:

  RateLimitRequest     1 domain, 2 descriptors (repeated), 3 hits_addend (uint32)
  RateLimitDescriptor  1 entries (repeated Entry {1 key, 2 value}),
                       3 hits_addend (google.protobuf.UInt64Value {1 value})
  RateLimitResponse    1 overall_code (1 OK, 2 OVER_LIMIT),
                       2 statuses (repeated DescriptorStatus {1 code})

It counts like envoyproxy/ratelimit's fixed window: a descriptor's hits are its
own hits_addend when set (0 allowed: a check that adds nothing), else the
request's (0 meaning 1); the count always grows by the hits, and a descriptor is
OVER_LIMIT when its count after adding them is above its limit. Descriptors
without a limit are OK (and still counted, for the tests to read). reset()
starts a new window. Listens on 127.0.0.1 only.
"""

import threading
import time
from concurrent import futures
from dataclasses import dataclass

import grpc

OK, OVER_LIMIT = 1, 2
SERVICE = "envoy.service.ratelimit.v3.RateLimitService"


def _varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def _fields(buf):
    """(field number, value) for each field: an int (varint) or bytes (length-delimited)."""
    i = 0
    while i < len(buf):
        tag, i = _varint(buf, i)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = bytes(buf[i:i + n]), i + n
        elif wire == 1:
            value, i = bytes(buf[i:i + 8]), i + 8
        elif wire == 5:
            value, i = bytes(buf[i:i + 4]), i + 4
        else:
            raise ValueError(f"wire type {wire}")
        yield number, value


def _entry(buf):
    f = dict(_fields(buf))
    return f.get(1, b"").decode(), f.get(2, b"").decode()


def _descriptor(buf):
    """(entries as a tuple of (key, value), hits_addend or None when unset)."""
    entries, hits = [], None
    for number, value in _fields(buf):
        if number == 1:
            entries.append(_entry(value))
        elif number == 3:
            hits = dict(_fields(value)).get(1, 0)
    return tuple(entries), hits


def decode_request(buf):
    domain, descriptors, hits = "", [], 0
    for number, value in _fields(buf):
        if number == 1:
            domain = value.decode()
        elif number == 2:
            descriptors.append(_descriptor(value))
        elif number == 3:
            hits = value
    return domain, descriptors, hits


def encode_response(overall, codes):
    out = bytes([0x08, overall])
    for code in codes:
        out += bytes([0x12, 2, 0x08, code])
    return out


@dataclass
class Call:
    gateway: str          # the caller's x-gateway gRPC metadata (the tests set it per Envoy)
    domain: str
    descriptors: list     # [(entries, hits)], hits as counted
    code: int             # overall_code answered


class FakeRLS:
    def __init__(self, limits):
        """limits: {entries tuple: hits allowed per window}."""
        self.limits = dict(limits)
        self.calls = []
        self._counts = {}
        self._lock = threading.Lock()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        handler = grpc.unary_unary_rpc_method_handler(self._should_rate_limit)
        self._server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, {"ShouldRateLimit": handler}),))
        self.port = self._server.add_insecure_port("127.0.0.1:0")

    def __enter__(self):
        self._server.start()
        return self

    def __exit__(self, *exc):
        self._server.stop(grace=None)

    def _should_rate_limit(self, request, context):
        domain, descriptors, request_hits = decode_request(request)
        gateway = dict(context.invocation_metadata()).get("x-gateway", "")
        counted, codes = [], []
        with self._lock:
            for entries, hits in descriptors:
                hits = max(1, request_hits) if hits is None else hits
                key = (domain, entries)
                self._counts[key] = self._counts.get(key, 0) + hits
                limit = self.limits.get(entries)
                codes.append(OVER_LIMIT if limit is not None and self._counts[key] > limit else OK)
                counted.append((entries, hits))
            overall = OVER_LIMIT if OVER_LIMIT in codes else OK
            self.calls.append(Call(gateway, domain, counted, overall))
        return encode_response(overall, codes)

    def reset(self):
        """A new window: every count back to 0 (the record of calls stays)."""
        with self._lock:
            self._counts.clear()

    def count(self, domain, entries):
        with self._lock:
            return self._counts.get((domain, entries), 0)

    def wait_for_calls(self, n, timeout=5):
        """The calls once there are at least n (stream-done calls come after the answer)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.calls) >= n:
                    return list(self.calls)
            time.sleep(0.02)
        with self._lock:
            raise AssertionError(f"{len(self.calls)} RLS calls, wanted {n}: {self.calls}")
