"""Thread-safe record of received model requests and the queue of scripted answers."""

import collections
import threading

from .caching import Cache


class State:
    """Shared server state: recorded requests and queued scripts."""

    def __init__(self):
        self._lock = threading.Lock()
        self._requests = []
        self._scripts = collections.deque()
        self._generation = 0
        self.cache = Cache()  # the simulated prompt cache (caching.py)

    @property
    def generation(self):
        """How many resets happened: a request remembers it when it arrives."""
        with self._lock:
            return self._generation

    def record(self, entry, generation):
        """Append one request record (a JSON-able dict).

        A request that arrived before the last reset (say, one still sleeping
        in a scripted delay when its test ended) is not recorded, so it cannot
        show up among the next test's requests.
        """
        with self._lock:
            if generation == self._generation:
                self._requests.append(entry)

    def requests(self):
        """Copy of all records, oldest first."""
        with self._lock:
            return list(self._requests)

    def push_script(self, script):
        """Queue a script for the next valid model request."""
        with self._lock:
            self._scripts.append(script)

    def pop_script(self):
        """Take the oldest queued script, or an empty dict if none."""
        with self._lock:
            return self._scripts.popleft() if self._scripts else {}

    def reset(self):
        """Forget recorded requests, queued scripts and the prompt cache."""
        with self._lock:
            self._requests.clear()
            self._scripts.clear()
            self._generation += 1
        self.cache.clear()
