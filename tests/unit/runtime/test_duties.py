"""The daemon's duties (bot/runtime/duties.py): what one round of a duty does.

The whole daemon runs in tests/integration/runtime/ (a rejected edit reaching the admins
included); here, one property of the reload duty that the end-to-end run cannot show: it
loads the configuration off the event loop, so a large sources.yaml never stalls polls,
sends or chat commands."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

from bot.runtime.clock import Clock
from bot.runtime.duties import Duties
from bot.runtime.waits import Waits


class SlowWatcher:
    """A configuration check that finishes only once the event loop has run something else
    meanwhile: on the loop's own thread it would wait in vain (and report that it did)."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.loop_ran = threading.Event()
        self.loop_was_free: bool | None = None
        self.thread: threading.Thread | None = None

    def check(self) -> None:
        if self.thread is None:              # the first check is the one that counts
            self.thread = threading.current_thread()
            self.started.set()
            self.loop_was_free = self.loop_ran.wait(timeout=5)
        return None


@dataclass
class DaemonSide:
    """What the reload duty reads of its daemon."""

    watcher: SlowWatcher
    waits: Waits
    reload_interval: float = 0.001
    applied: list[object] = field(default_factory=list)

    async def apply(self, snapshot: object) -> None:
        self.applied.append(snapshot)


async def test_a_reload_loads_the_configuration_off_the_event_loop() -> None:
    watcher = SlowWatcher()
    daemon = DaemonSide(watcher, Waits(Clock()))
    duty = asyncio.create_task(Duties(daemon).reload())  # type: ignore[arg-type]  # the daemon's reload side
    while not watcher.started.is_set():      # the loop is free to run this while check() waits
        await asyncio.sleep(0.001)
    watcher.loop_ran.set()
    daemon.waits.stop.set()
    await asyncio.wait_for(duty, timeout=10)
    assert watcher.thread is not threading.main_thread()
    assert watcher.loop_was_free is True
    assert daemon.applied == []              # nothing changed, nothing applied
