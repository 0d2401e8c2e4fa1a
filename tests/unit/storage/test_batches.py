"""IN lists in slices (bot/storage/batches.py)."""

from __future__ import annotations

from bot.storage.batches import IN_LIST_SIZE, in_slices


def test_slices_keep_order_and_cover_every_value_once() -> None:
    values = list(range(IN_LIST_SIZE * 2 + 7))
    slices = list(in_slices(values))
    assert [len(s) for s in slices] == [IN_LIST_SIZE, IN_LIST_SIZE, 7]
    assert [v for s in slices for v in s] == values


def test_any_iterable_and_nothing() -> None:
    assert list(in_slices(x for x in "abcde")) == [["a", "b", "c", "d", "e"]]
    assert list(in_slices(iter(range(5)), size=2)) == [[0, 1], [2, 3], [4]]
    assert list(in_slices([])) == []
