"""bot.ingest.poll_supply: how a cycle's sources reach the crew, in runs of one host."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

from bot.config.sources import Source
from bot.ingest.poll_supply import RunSupply


def src(sid: str, host: str) -> Source:
    return Source(id=sid, url=f"https://{host}/{sid}.xml")


def host_of(source: Source) -> str:
    return urlsplit(source.url).hostname or ""


def drain(supply: RunSupply) -> list[list[str]]:
    runs = []
    while (run := supply.next()) is not None:
        runs.append([s.id for s in run])
    return runs


def test_a_hosts_sources_are_dealt_into_at_most_per_host_runs_in_order():
    todo = [src("a1", "a.org"), src("b1", "b.org"), src("a2", "a.org"), src("a3", "a.org"),
            src("b2", "b.org"), src("c1", "c.org")]
    assert drain(RunSupply(todo, None, host_of, per_host=2)) == [["a1", "a3"], ["a2"], ["b1"], ["b2"], ["c1"]]
    assert drain(RunSupply(todo, None, host_of, per_host=1)) == [["a1", "a2", "a3"], ["b1", "b2"], ["c1"]]


def test_claimed_batches_are_taken_until_the_refill_says_none_is_left():
    batches = [[src("x1", "x.org"), src("x2", "x.org")], [], [src("y1", "y.org")]]
    calls = []

    def refill():
        calls.append(1)
        return batches.pop(0) if batches else None

    supply = RunSupply([], refill, host_of, per_host=1)
    # an empty batch (all claimed ids unknown here) is not the end; None is, and is final
    assert drain(supply) == [["x1", "x2"], ["y1"]]
    assert supply.next() is None and len(calls) == 4


def test_each_source_goes_to_exactly_one_thread():
    todo = [src(f"s{i}", f"h{i % 7}.org") for i in range(500)]
    supply = RunSupply(todo, None, host_of, per_host=2)
    taken: list[str] = []
    lock = threading.Lock()

    def member():
        while (run := supply.next()) is not None:
            with lock:
                taken.extend(s.id for s in run)

    threads = [threading.Thread(target=member) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == sorted(s.id for s in todo)
