"""Random fault injection for soak runs: ``python -m standin --fault-rate F [--seed S]``.

A fraction ``rate`` of the valid model requests that have no queued script
misbehave; the kind is drawn uniformly among those that apply to the
operation, and becomes that request's script:

  throttling         a ThrottlingException error (429)
  internal           an InternalServerException error (500)
  reset              the connection is reset before any response
  stream_throttling  ConverseStream only: a throttlingException frame after the first delta

The record of a faulted request carries ``"injected_fault": "<kind>"``.
Off by default (rate 0).
"""

import random
import threading

KINDS = {
    "throttling": {"error": "ThrottlingException"},
    "internal": {"error": "InternalServerException"},
    "reset": {"reset_connection": "before_response"},
    "stream_throttling": {"exception": "throttlingException"},
}
STREAM_ONLY = {"stream_throttling"}


class Faults:
    """Draws faults with a private RNG (``seed`` makes the sequence reproducible); thread-safe."""

    def __init__(self, rate=0.0, seed=None):
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault rate must be within [0, 1], got {rate}")
        self.rate = rate
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def draw(self, operation):
        """``(kind, script)`` for a faulted request, or ``(None, {})``."""
        if self.rate <= 0:
            return None, {}
        kinds = [k for k in KINDS if operation == "ConverseStream" or k not in STREAM_ONLY]
        with self._lock:
            if self._rng.random() >= self.rate:
                return None, {}
            kind = self._rng.choice(kinds)
        return kind, dict(KINDS[kind])
