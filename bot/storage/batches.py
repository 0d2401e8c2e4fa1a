"""IN lists cut into slices: one statement binds one parameter per value, and SQLite allows
32,766 of them per statement (999 before 3.32), PostgreSQL 65,535. Every query that takes an
open-ended list of ids goes through `in_slices`, so none can outgrow either limit."""

from __future__ import annotations

from typing import Iterable, Iterator, Sequence, TypeVar

T = TypeVar("T")

IN_LIST_SIZE = 500   # well below both limits, and still few round trips


def in_slices(values: Iterable[T], size: int = IN_LIST_SIZE) -> Iterator[Sequence[T]]:
    """`values` in order, `size` at a time (nothing for no values)."""
    listed = values if isinstance(values, Sequence) else list(values)
    for start in range(0, len(listed), size):
        yield listed[start:start + size]
