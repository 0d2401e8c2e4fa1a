"""A counter of how many threads are inside a block at once, and the most there ever were:
for tests that check a concurrency limit (the crew gate, the poll crew against a server)."""

from __future__ import annotations

import threading


class InFlight:
    """`with counter:` around the work; `counter.most` is the peak."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0
        self._lock = threading.Lock()

    def __enter__(self) -> "InFlight":
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.now -= 1
