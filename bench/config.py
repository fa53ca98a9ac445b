"""What one `make bench` run measures with: the BENCH_* settings (documented in bench/run.py), the fixed
figures and requests every part shares, the paths, and two helpers (say, write).
"""

import os
import sys
from dataclasses import dataclass

from harness import BENCH, OUT, PERMANENT, REGION, ROOT

VENVS = os.path.join(BENCH, ".venvs")
FLOOR_WASM = os.path.join(ROOT, "target", "floor", "wasm32-wasip1", "release", "floor_filter.wasm")
WASM_HOST = os.path.join(BENCH, "wasm_host.mjs")
LUA = os.path.join(BENCH, "post.lua")
RESULTS_MD = os.path.join(BENCH, "RESULTS.md")
RESULTS_JSON = os.path.join(OUT, "results.json")
CHAT_PATH = "/v1/amazon-bedrock/chat/completions"

WARMUP = 2  # seconds of wrk before each load case's measured rounds
MODEL = "meta.llama3-8b-instruct-v1:0"
BIG_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"  # the stream upstream answers 50 MiB for it
PROJECT_KEY = "sk-bench-0000000000000000000000001"
LITELLM_KEY = "sk-bench-litellm-5f1c0a9d3e7b4c2a8f6e1d0b9a7c5e3f"
BIG_MIB = 50
TTFB_TRIALS = 100
STREAM_READ_BPS = 10 * 1024 * 1024  # the client's read pace for the big answer

# the `streams` part (many long, slow streams at once)
STREAM_GAP_MS = (50, 200)   # between two text deltas of one stream, uniform
STREAM_OPEN_RATE = 400      # new streams per second while the N open
STREAM_WARMUP = 16          # short streams through each fresh Envoy before its idle RSS

# The streamed answer bench/wasm_host.mjs replays event by event: a chat answer's length in deltas
# of a few words each, padded with `p` as Bedrock pads its events.
WASM_STREAM_DELTAS = 120

# `filter` is our filter as the .wasm, `native` the same filter as an Envoy dynamic module (the .so).
ALL_CASES = ["upstream", "bare", "floor", "filter", "native", "litellm", "bag"]

OPENAI_BODY = {
    "model": MODEL,
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Hello!"},
    ],
    "stream": False,
}


@dataclass(frozen=True)
class Settings:
    """The BENCH_* environment of one run (bench/run.py's docstring says what each does)."""

    duration: int                 # BENCH_DURATION
    rounds: int                   # BENCH_ROUNDS
    concurrencies: list[int]      # BENCH_CONCURRENCY
    envoy_concurrency: int        # BENCH_ENVOY_CONCURRENCY
    cases: list[str]              # BENCH_CASES
    skip: frozenset[str]          # BENCH_SKIP
    baseline_wasm: str            # BENCH_WASM_BASELINE: measured by the wasm host part interleaved with ours
    streams: list[int]            # BENCH_STREAMS
    stream_seconds: float         # BENCH_STREAM_SECONDS
    stream_rounds: int            # BENCH_STREAM_ROUNDS
    stream_cases: list[str]       # BENCH_STREAM_CASES
    stream_pin: bool              # BENCH_STREAM_PIN: Envoy and the harness on CPUs of their own
    stream_idle: bool             # BENCH_STREAM_IDLE: the client and upstream under SCHED_IDLE

    @classmethod
    def from_env(cls, env):
        skip = frozenset(filter(None, env.get("BENCH_SKIP", "").split(",")))
        return cls(
            duration=int(env.get("BENCH_DURATION", "10")),
            rounds=int(env.get("BENCH_ROUNDS", "5")),
            concurrencies=[int(c) for c in env.get("BENCH_CONCURRENCY", "1,64").split(",")],
            envoy_concurrency=int(env.get("BENCH_ENVOY_CONCURRENCY", "1")),
            cases=[c for c in env.get("BENCH_CASES", ",".join(ALL_CASES)).split(",") if c],
            skip=skip,
            baseline_wasm=env.get("BENCH_WASM_BASELINE", ""),
            streams=[int(n) for n in env.get("BENCH_STREAMS", "250,1000,2000").split(",") if n],
            stream_seconds=float(env.get("BENCH_STREAM_SECONDS", "30")),
            stream_rounds=int(env.get("BENCH_STREAM_ROUNDS", "1")),
            stream_cases=[c for c in env.get("BENCH_STREAM_CASES", "bare,filter,native,floor").split(",") if c],
            stream_pin=env.get("BENCH_STREAM_PIN", "0") == "1",
            stream_idle=env.get("BENCH_STREAM_IDLE", "1") != "0",
        )

    def runs(self, part):
        """Whether the part (load, stream, streams, size, wasmhost, micro, plot) is not in BENCH_SKIP."""
        return part not in self.skip

    @property
    def streams_only(self):
        """Only the many-streams part runs: it updates its own section of RESULTS.md and leaves the rest."""
        return "streams" not in self.skip and self.skip >= {"load", "stream", "size", "wasmhost", "micro"}

    @property
    def slice_s(self):
        """Seconds of one interleaved load round."""
        return max(1, self.duration // self.rounds)


def openai_headers():
    """The headers of the OpenAI request every gateway with the filter gets (project key, AWS credentials)."""
    return {"content-type": "application/json", "project-api-key": PROJECT_KEY,
            "aws-access-key-id": PERMANENT["access_key_id"],
            "aws-secret-access-key": PERMANENT["secret_access_key"],
            "aws-region-name": REGION}


def say(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def write(name, data):
    """bench/out/<name> with `data` (bytes or text); returns its path."""
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    return path
