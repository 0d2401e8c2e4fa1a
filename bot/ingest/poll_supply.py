"""How one poll cycle hands its sources to the crew of threads: in runs of one host.

Must not fetch, parse or store: bot.ingest.pipeline does, with what this hands out.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Callable

from bot.config.sources import Source


class RunSupply:
    """The sources of one cycle, handed to the crew a run at a time: a fixed list, or batches
    claimed from the database (`refill`, leases) until none is left. A run is sources of one
    host, polled one after another by one thread on one kept-alive connection (no new TCP
    connection, no new TLS handshake); a host's sources are dealt into at most `per_host`
    runs, so that many threads may work on it at once, as the Fetcher allows."""

    def __init__(self, todo: list[Source], refill: Callable[[], list[Source] | None] | None,
                 host_of: Callable[[Source], str], per_host: int):
        self._host_of, self._per_host = host_of, max(1, per_host)
        self._queue: deque[list[Source]] = deque(self._runs(todo))
        self._refill = refill
        self._lock = threading.Lock()
        self._dry = False

    def _runs(self, sources: list[Source]) -> list[list[Source]]:
        by_host: dict[str, list[Source]] = {}
        for source in sources:
            by_host.setdefault(self._host_of(source), []).append(source)
        runs: list[list[Source]] = []
        for group in by_host.values():
            k = min(self._per_host, len(group))
            runs.extend(group[i::k] for i in range(k))
        return runs

    def next(self) -> list[Source] | None:
        with self._lock:
            while not self._queue:
                if self._refill is None or self._dry:
                    return None
                batch = self._refill()   # None: nothing left to claim
                if batch is None:
                    self._dry = True
                else:
                    self._queue.extend(self._runs(batch))
            return self._queue.popleft()
