"""CrewGate: how many crew threads poll at once, from the process's CPU use per window."""

from __future__ import annotations

import threading
import time

import pytest

from bot.ingest.crew_gate import BUSY, IDLE, CrewGate
from support.inflight import InFlight


class Clocks:
    """Wall and CPU seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0

    def spend(self, wall: float, cpu: float) -> None:
        self.wall += wall
        self.cpu += cpu


def gate_with(clocks: Clocks, most: int, start: int) -> CrewGate:
    return CrewGate(most, start, window=1.0, clock=lambda: clocks.wall, cpu_clock=lambda: clocks.cpu)


@pytest.mark.parametrize("most, start, wall, cpu, expected", [
    (16, 4, 1.0, 0.95, 3),       # the interpreter is saturated: one thread fewer
    (16, 1, 1.0, 0.95, 1),       # never below one
    (16, 4, 1.0, 0.10, 8),       # the threads mostly wait on the network: twice as many
    (16, 12, 1.0, 0.10, 16),     # never above the crew
    (16, 4, 1.0, 0.60, 4),       # between IDLE and BUSY: stay
    (16, 4, 0.5, 0.01, 4),       # the window has not ended: no decision yet
    (16, 4, 2.0, 1.0, 4),        # the use is per wall second (0.5)
    (16, 4, 2.0, 1.9, 3),
])
def test_limit_follows_cpu_use_per_window(most, start, wall, cpu, expected):
    clocks = Clocks()
    gate = gate_with(clocks, most, start)
    with gate:
        clocks.spend(wall, cpu)
    assert gate.limit == expected


def test_thresholds_leave_room_between_them():
    assert 0 < IDLE < BUSY < 1


def test_each_window_is_judged_on_its_own():
    clocks = Clocks()
    gate = gate_with(clocks, 16, 2)
    for cpu, expected in [(0.1, 4), (0.1, 8), (0.9, 7), (0.9, 6), (0.6, 6), (0.2, 12)]:
        with gate:
            clocks.spend(1.0, cpu)
        assert gate.limit == expected


def test_at_most_limit_threads_are_inside_at_once():
    clocks = Clocks()   # frozen: no window ever ends, the limit stays 3
    gate = gate_with(clocks, 8, 3)
    inside = InFlight()

    def work() -> None:
        for _ in range(20):
            with gate, inside:
                time.sleep(0.001)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    assert inside.most == 3 and gate.limit == 3


def test_a_thread_stuck_inside_does_not_hold_back_the_others():
    """Limit 1 and its thread waiting on a slow server: no one leaves, but the process is
    idle, so a waiting thread widens the gate itself and goes in."""
    gate = CrewGate(4, 1, window=0.05, cpu_clock=lambda: 0.0)   # real wall clock, no CPU used
    release = threading.Event()
    entered = threading.Event()

    def stuck() -> None:
        with gate:
            release.wait(10)

    def other() -> None:
        with gate:
            entered.set()

    first = threading.Thread(target=stuck)
    first.start()
    while gate._inside == 0:
        time.sleep(0.001)
    second = threading.Thread(target=other)
    second.start()
    try:
        assert entered.wait(5), "the second thread never got in while the first was stuck"
        assert gate.limit >= 2
    finally:
        release.set()
        first.join(5)
        second.join(5)
