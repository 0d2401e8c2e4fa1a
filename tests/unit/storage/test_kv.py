"""bot.storage.kv: the compare-and-set records behind the daemon lock and the weekly report,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.storage import kv

T = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


def test_insert_new_creates_once(engine):
    with engine.begin() as conn:
        assert kv.read(conn, "k") is None
        assert kv.insert_new(conn, "k", "first", T) is True
        assert kv.insert_new(conn, "k", "second") is False
        assert kv.read(conn, "k") == kv.Record("first", T)


def test_a_lost_insert_leaves_the_transaction_usable(engine):
    """Another process inserted first: the caller goes on in the same transaction (a caught
    IntegrityError would have aborted it on PostgreSQL)."""
    with engine.begin() as conn:
        kv.insert_new(conn, "k", "theirs")
    with engine.begin() as conn:
        assert kv.insert_new(conn, "k", "mine") is False
        assert kv.replace(conn, "k", "theirs", value="mine") is True
    with engine.connect() as conn:
        assert kv.read(conn, "k") == kv.Record("mine", None)


def test_replace_is_a_compare_and_set(engine):
    with engine.begin() as conn:
        kv.insert_new(conn, "k", "a", T)
        assert kv.replace(conn, "k", "stale", value="b") is False
        assert kv.replace(conn, "missing", "a", value="b") is False
        assert kv.read(conn, "k") == kv.Record("a", T)
        assert kv.replace(conn, "k", "a", expires_at=T + timedelta(minutes=1)) is True   # value kept
        assert kv.read(conn, "k") == kv.Record("a", T + timedelta(minutes=1))
        assert kv.replace(conn, "k", "a", value="b") is True                             # expiry kept
        assert kv.read(conn, "k") == kv.Record("b", T + timedelta(minutes=1))
        with pytest.raises(ValueError):
            kv.replace(conn, "k", "b")


def test_delete_if_only_removes_the_expected_value(engine):
    with engine.begin() as conn:
        kv.insert_new(conn, "k", "a")
        kv.insert_new(conn, "other", "a")
        assert kv.delete_if(conn, "k", "b") is False
        assert kv.delete_if(conn, "k", "a") is True
        assert kv.read(conn, "k") is None
        assert kv.read(conn, "other") == kv.Record("a", None)
