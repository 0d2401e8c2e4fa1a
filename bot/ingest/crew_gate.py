"""How many threads of the poll crew may poll at once: as many as keep the network busy,
no more than the process's one interpreter can serve.

Owns the limit and its adjustment. Must not fetch, store or know about sources: bot.ingest.pipeline
wraps each source's poll in the gate.

Why: the crew polls with blocking httpx calls, and every thread switches the GIL at each
socket call. When the servers answer fast (a local mirror, a feed farm, most 304s from
nearby CDNs) the work is CPU-bound and extra threads only add switching: threads calling the
Fetcher's transport against nginx on loopback (2,000 feeds, all 304) cost 0.73 ms of CPU a
request with one thread and 1.5 ms with sixteen, and the sixteen finish later. When the servers are far away, the threads
mostly wait and a cycle needs many of them in flight. So the limit follows the process's own
CPU use, measured over short windows: above `BUSY` of a core (the GIL's ceiling) another
thread cannot help and one fewer may poll; below `IDLE` the threads mostly wait on the
network and twice as many may poll, up to the crew's size.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

BUSY = 0.75    # process CPU seconds per wall second above which the crew shrinks
IDLE = 0.5     # ... below which it grows
WINDOW = 0.25  # seconds of wall time between two adjustments


class CrewGate:
    """`with gate:` around one unit of work (a source's poll). At most `limit` threads are
    inside at once; the limit moves between 1 and `most` (see the module docstring). The
    clocks are injectable for tests: `clock` wall seconds, `cpu_clock` process CPU seconds."""

    def __init__(self, most: int, start: int, *, window: float = WINDOW,
                 clock: Callable[[], float] = time.monotonic,
                 cpu_clock: Callable[[], float] = time.process_time):
        self.most = max(1, most)
        self.limit = min(self.most, max(1, start))
        self.window = window
        self._clock, self._cpu_clock = clock, cpu_clock
        self._cond = threading.Condition()
        self._inside = 0
        self._since, self._cpu_since = clock(), cpu_clock()

    def __enter__(self) -> "CrewGate":
        with self._cond:
            while self._inside >= self.limit:
                # Waiters adjust too: while the threads inside wait on a slow server, nobody
                # leaves, and the CPU they do not use is what lets more in.
                self._cond.wait(self.window)
                self._cond.notify(self._adjust())
            self._inside += 1
        return self

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._inside -= 1
            self._cond.notify(1 + self._adjust())

    def _adjust(self) -> int:
        """At the end of a window: the new limit from the window's CPU use. Returns how many
        more threads may now enter."""
        now = self._clock()
        wall = now - self._since
        if wall < self.window:
            return 0
        cpu_now = self._cpu_clock()
        use = (cpu_now - self._cpu_since) / wall
        self._since, self._cpu_since = now, cpu_now
        before = self.limit
        if use > BUSY:
            self.limit = max(1, before - 1)
        elif use < IDLE:
            self.limit = min(self.most, before * 2)
        return max(0, self.limit - before)
