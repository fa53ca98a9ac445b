"""The typed results of `make bench`, and their JSON form (bench/out/results.json).

One dataclass per figure the parts measure; `Results` holds a whole run. The
JSON keys are the field names unless `key()` names another (the percentiles'
"50", "99.9"), so results.json reads as it always has for bench/plot.py and
anything else that reads it. `Results.from_json` loads an older file too: a
key it lacks reads as the field's default or None (and stays out when written
back unless set since), a key this version does not know is kept and written
back unchanged.

A part that failed for one case is a `Failed` ({"error": ...}) in its place.
"""

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import NamedTuple


def key(name, **kw):
    """A field whose JSON key is `name` (percentiles: "50", "99.9")."""
    return field(metadata={"key": name}, **kw)


def optional():
    """A field left out of the JSON while None, as the old result dict left the key out."""
    return field(default=None, metadata={"omit_none": True})


class Record:
    """A dataclass with to_json() / from_json() (see the module docstring)."""

    def to_json(self):
        absent = getattr(self, "_absent", ())
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if (value is None and f.metadata.get("omit_none")) or (f.name in absent and value == _default(f)):
                continue
            out[f.metadata.get("key", f.name)] = dump(value)
        out.update(getattr(self, "_unknown", {}))
        return out

    @classmethod
    def from_json(cls, d):
        hints = typing.get_type_hints(cls)
        kw, known, absent = {}, set(), set()
        for f in dataclasses.fields(cls):
            k = f.metadata.get("key", f.name)
            known.add(k)
            if k in d:
                kw[f.name] = load(hints[f.name], d[k])
            else:
                kw[f.name] = _default(f)
                absent.add(f.name)
        obj = cls(**kw)
        obj._absent = absent
        obj._unknown = {k: v for k, v in d.items() if k not in known}
        return obj


def _default(f):
    """A field's default value (None for a field without one: what an older file's missing key reads as)."""
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None if f.default is dataclasses.MISSING else f.default


class Failure(Record):
    """A result whose JSON carries "error": what a union of it and a measurement is told apart by."""


def dump(value):
    if isinstance(value, Record):
        return value.to_json()
    if isinstance(value, (list, tuple)):
        return [dump(x) for x in value]
    if isinstance(value, dict):
        return {k: dump(v) for k, v in value.items()}
    return value


def load(tp, value):
    """`value` (from JSON) as type `tp`: records, unions of them, lists, dicts, named tuples."""
    if value is None:
        return None
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in args if a is not type(None)]
        records = [a for a in args if isinstance(a, type) and issubclass(a, Record)]
        if records and isinstance(value, dict):
            failures = [a for a in records if issubclass(a, Failure)]
            others = [a for a in records if a not in failures]
            pick = failures[0] if failures and ("error" in value or not others) else others[0]
            return pick.from_json(value)
        return load(args[0], value) if len(args) == 1 else value
    if origin is list:
        return [load(args[0], x) for x in value]
    if origin is dict:
        return {k: load(args[1], x) for k, x in value.items()}
    if origin is tuple:
        return tuple(value)
    if isinstance(tp, type) and issubclass(tp, Record):
        return tp.from_json(value)
    if isinstance(tp, type) and issubclass(tp, tuple) and hasattr(tp, "_fields"):
        return tp(*value) if len(value) == len(tp._fields) else list(value)
    return value


@dataclass
class Failed(Failure):
    """A case or part that did not give its figures, and why."""
    error: str


# ---------------------------------------------------------------- the machine

@dataclass
class Machine(Record):
    cpus: int
    cpu: str
    kernel: str
    load_before: tuple[float, float, float]  # os.getloadavg() when the run started


# ---------------------------------------------------------------- load (wrk)

@dataclass
class WrkLatency(Record):
    """wrk's latency figures of one run (bench/post.lua), µs."""
    min: float
    max: float
    mean: float
    p50: float = key("50")
    p90: float = key("90")
    p99: float = key("99")
    p999: float = key("99.9")


@dataclass
class WrkErrors(Record):
    connect: int
    read: int
    write: int
    status: int
    timeout: int

    def total(self):
        return self.connect + self.read + self.write + self.status + self.timeout


@dataclass
class WrkRun(Record):
    """One wrk run (bench/post.lua's WRK_JSON) with its req/s and error count; also a streaming load result."""
    requests: int
    duration_us: int
    bytes: int
    errors: WrkErrors
    latency_us: WrkLatency
    rps: float
    error_count: int


@dataclass
class LoadRound(Record):
    """One interleaved round of one case: its req/s, wrk's latency figures, and the CPU time the case's
    Envoy spent per request served (every thread, /proc/<pid>/task/*/schedstat; None for a case that is not
    an Envoy of ours: the upstream, the peers)."""
    rps: float
    latency_us: WrkLatency
    cpu_us_per_request: float | None = optional()


@dataclass
class Latency(Record):
    """Latency percentiles, µs (of a load case: each the median across rounds)."""
    p50: float = key("50")
    p90: float = key("90")
    p99: float = key("99")


@dataclass
class LoadResult(Record):
    """One load case at one concurrency: the median round's req/s, the median of each percentile across
    rounds, requests and errors summed over the rounds, the median round's Envoy CPU per request."""
    rps: float
    latency_us: Latency
    requests: int
    error_count: int
    rounds: list[LoadRound]
    cpu_us_per_request: float | None = optional()


def load_key(case, c):
    """The key of `case` at concurrency `c` in Results.load and Results.stream_load: "filter/64"."""
    return f"{case}/{c}"


# ---------------------------------------------------------------- streaming (one stream)

class RssSample(NamedTuple):
    seconds: float       # since the sampler started
    rss_kb: int          # Envoy's VmRSS
    client_bytes: int    # body bytes the client had read by then


@dataclass
class RssRun(Record):
    """One client reading the big answer through one Envoy."""
    first_sample: int    # index of the run's first sample in RssResult.samples
    bytes: int
    seconds: float
    upstream_seconds: float  # from the request until the upstream had written the whole answer
    tail: str


@dataclass
class RssResult(RssRun):
    """Envoy's VmRSS while one client reads the big answer twice: the first run's figures, the samples and
    growths (kB), and the second run."""
    samples: list[RssSample]
    start_kb: int
    max_kb: int
    end_kb: int
    growth_kb: int
    late_growth_kb: int    # after the first fifth of the first answer
    second_growth_kb: int  # what the second answer adds to the maximum
    second: RssRun


# ---------------------------------------------------------------- many long streams

@dataclass
class Percentiles(Record):
    p50: float | None = key("50")
    p90: float | None = key("90")
    p99: float | None = key("99")
    p999: float | None = key("99.9")


@dataclass
class Delays(Percentiles):
    """The client's per-chunk delays (many_streams.py), µs, with the largest."""
    max: float | None = None


@dataclass
class Lag(Record):
    p50: float | None = key("50")
    p99: float | None = key("99")


@dataclass
class FirstByte(Record):
    p50: float | None = key("50")
    max: float | None = None


@dataclass
class Histogram(Record):
    edges_us: list[float]
    counts: list[int]


@dataclass
class ManyStreams(Record):
    """What bench/many_streams.py reports (its MANY_STREAMS line)."""
    streams: int
    ok: int
    errors: dict[str, int]  # by kind
    error_examples: list[str]
    chunks: int
    window_chunks: int
    window_open_min: int
    cpu_s: float
    coalesced: int
    delay_us: Delays
    read_lag_us: Lag
    hist: Histogram
    first_byte_s: FirstByte


@dataclass
class Quiet(Record):
    """The delays of the chunks read outside the moments the hypervisor stole CPU."""
    quiet_delay_us: Percentiles
    quiet_chunks: int
    quiet_share: float  # of the window's time


@dataclass
class PerProcess(Record):
    envoy: float
    client: float
    upstream: float


class WasmMemory(NamedTuple):
    size_kb: int
    resident_kb: int


class RssPoint(NamedTuple):
    t_ns: int  # since the steady window began
    rss_kb: int


@dataclass
class StreamsTrial(Record):
    """One fresh Envoy (bare, floor or filter) carrying N streams: its figures over the steady window."""
    case: str
    n: int
    round: int
    window_s: float
    idle_rss_kb: float
    steady_rss_kb: float
    max_rss_kb: int
    rss_per_stream_kb: float
    heap_idle_kb: int | None
    heap_steady_kb: int | None
    heap_per_stream_kb: float | None
    wasm_idle_kb: list[WasmMemory]
    wasm_steady_kb: list[WasmMemory]
    wasm_per_stream_kb: float | None
    cpu_s: PerProcess
    cpu_pct: PerProcess
    cpu_per_chunk_us: float | None
    chunks_per_s: float
    errors_total: int
    envoy_stats: dict[str, int]
    rss_samples: list[RssPoint]
    worker_wait_ms_per_s: float
    worker_wait_us_per_slice: float
    steal_pct: float
    upstream_slow_writes: int
    upstream_max_write_us: float
    softirqd_pct: float
    # from the client (ManyStreams) and its steal-free delays (Quiet)
    ok: int
    errors: dict[str, int]
    error_examples: list[str]
    chunks: int
    window_chunks: int
    read_lag_us: Lag
    coalesced: int
    quiet_delay_us: Percentiles
    quiet_chunks: int
    quiet_share: float
    window_open_min: int
    delay_us: Delays
    hist: Histogram
    first_byte_s: FirstByte


@dataclass
class TrialFailed(Failure):
    case: str
    n: int
    round: int
    error: str


@dataclass
class StreamsSummary(Record):
    """One case at one N: the medians of its trials across rounds (counts summed)."""
    rounds: int
    failed_rounds: int
    rss_per_stream_kb: float | None
    heap_per_stream_kb: float | None
    wasm_per_stream_kb: float | None
    idle_rss_kb: float | None
    steady_rss_kb: float | None
    cpu_per_chunk_us: float | None
    envoy_cpu_pct: float | None
    client_cpu_pct: float | None
    upstream_cpu_pct: float | None
    chunks_per_s: float | None
    window_chunks: int
    window_open_min: int
    delay_us: Percentiles
    delay_max_us: float
    errors: int
    error_examples: list[str]
    worker_wait_ms_per_s: float | None
    worker_wait_us_per_slice: float | None
    steal_pct: float | None
    upstream_slow_writes: int
    coalesced: int
    read_lag_us: Lag
    quiet_delay_us: Percentiles
    quiet_share: float | None
    softirqd_pct: float | None

    def memory_kb(self):
        """What one open stream costs in memory, exactly: Envoy's heap in use + the wasm memory it touched."""
        if self.heap_per_stream_kb is None:
            return None
        return self.heap_per_stream_kb + (self.wasm_per_stream_kb or 0)


@dataclass
class StreamsPart(Record):
    """The `streams` part: its settings, every trial, and the summary by str(N) and case."""
    seconds: float
    gap_ms: list[int]
    rounds: int
    open_rate: int
    warmup: int
    ns: list[int]
    envoy_cpus: list[int] | None
    harness_cpus: list[int] | None
    sched_idle: bool
    skipped: list[str]
    trials: list[StreamsTrial | TrialFailed]
    summary: dict[str, dict[str, StreamsSummary | Failed]]

    def case(self, n, case):
        """The summary of `case` at N = n, or None if it did not run."""
        return self.summary.get(str(n), {}).get(case)


# ---------------------------------------------------------------- size, wasm host, micro

@dataclass
class Size(Record):
    before: int
    after: int
    opt_path: str
    wasm_opt: str
    argv: str
    after_gzip: int
    opt_check: str | None = optional()  # the optimized .wasm's answer in Envoy


@dataclass
class WasmHostRow(Record):
    """One module under bench/wasm_host.mjs (its WASM_HOST line) and its label."""
    wasm: str
    requests: int
    median_us: float
    min_us: float
    host_calls: float
    calls: dict[str, float]
    memory_bytes: int
    upstream_path: str | None
    events: int | None = optional()  # these three: the streamed answer only
    per_event_median_us: float | None = optional()
    per_event_min_us: float | None = optional()
    upstream_calls: int | None = optional()  # these three: embeddings only
    per_call_median_us: float | None = optional()
    per_call_min_us: float | None = optional()
    module: str = ""


@dataclass
class WasmHostRun(Record):
    node: str
    modules: list[WasmHostRow]


@dataclass
class WasmHost(Record):
    """The wasm host runs: the plain request, the same with the features on, a streamed answer; the
    Responses API's plain request and streamed answer; embeddings of one input and of a batch."""
    plain: WasmHostRun
    features: WasmHostRun
    stream: WasmHostRun
    responses: WasmHostRun | None = optional()
    responses_stream: WasmHostRun | None = optional()
    embeddings: WasmHostRun | None = optional()
    embeddings_batch: WasmHostRun | None = optional()

    def parts(self):
        extra = [("responses", self.responses), ("responses_stream", self.responses_stream),
                 ("embeddings", self.embeddings), ("embeddings_batch", self.embeddings_batch)]
        return [("plain", self.plain), ("features", self.features), ("stream", self.stream)] + \
            [(k, v) for k, v in extra if v is not None]


@dataclass
class MicroRow(Record):
    """One step of `cargo bench --bench micro` (its MICRO line; serde_json prints the keys sorted)."""
    iters: int
    mean_ns: float
    median_ns: float
    name: str


# ---------------------------------------------------------------- the run

class TargetRow(NamedTuple):
    target: str
    measured: str
    result: str


@dataclass
class Results(Record):
    """A whole run, as bench/out/results.json holds it. The optional parts are absent when skipped."""
    date: str
    machine: Machine
    skipped: dict[str, str] = field(default_factory=dict)  # part or case → why
    load: dict[str, LoadResult | Failed] = field(default_factory=dict)  # by load_key(case, c)
    stream_load: dict[str, WrkRun | Failed] = field(default_factory=dict)
    versions: str = ""
    ttfb: dict[str, list[float]] | None = optional()  # case → first event → first client byte, µs
    rss: dict[str, RssResult | Failed] | None = optional()
    streams: StreamsPart | None = optional()
    size: Size | None = optional()
    wasm_host: WasmHost | None = optional()
    micro: list[MicroRow] | None = optional()
    targets: list[TargetRow] = field(default_factory=list)
    runtime_s: float = 0.0

    def measured(self, case, c):
        """The load result of `case` at concurrency `c` if it has figures, else None."""
        r = self.load.get(load_key(case, c))
        return r if isinstance(r, LoadResult) else None
