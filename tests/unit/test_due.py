"""When the daemon's next work is due: digest slots across time zones and DST, the next poll."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert

from bot.runtime.due import next_slot, seconds_to_next_poll
from bot.storage.db import open_database
from bot.storage.schema import sources

UTC = timezone.utc


@pytest.mark.parametrize("spec,tz,now,expected", [
    ("daily 08:00", "UTC", datetime(2026, 11, 22, 7, 0, tzinfo=UTC), datetime(2026, 11, 22, 8, 0, tzinfo=UTC)),
    ("daily 08:00", "UTC", datetime(2026, 11, 22, 8, 0, tzinfo=UTC), datetime(2026, 11, 23, 8, 0, tzinfo=UTC)),
    # 08:00 in Brussels is 07:00 UTC in winter and 06:00 UTC in summer; the DST switch is respected.
    ("daily 08:00", "Europe/Brussels", datetime(2026, 3, 28, 12, 0, tzinfo=UTC),
     datetime(2026, 3, 29, 6, 0, tzinfo=UTC)),
    ("daily 08:00", "Europe/Brussels", datetime(2026, 11, 22, 12, 0, tzinfo=UTC),
     datetime(2026, 11, 23, 7, 0, tzinfo=UTC)),
    ("weekly monday 09:30", "UTC", datetime(2026, 11, 22, 12, 0, tzinfo=UTC),   # a Sunday
     datetime(2026, 11, 23, 9, 30, tzinfo=UTC)),
    ("off", "UTC", datetime(2026, 11, 22, tzinfo=UTC), None),
    ("sometimes", "UTC", datetime(2026, 11, 22, tzinfo=UTC), None),
])
def test_next_slot(spec, tz, now, expected):
    assert next_slot(spec, tz, now) == expected


def test_seconds_to_next_poll(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'd.db'}")
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    with engine.begin() as conn:
        for sid, status, nxt in (("a", "ok", now + timedelta(minutes=10)), ("b", "ok", now + timedelta(minutes=3)),
                                 ("c", "paused", now - timedelta(hours=1))):
            conn.execute(insert(sources).values(id=sid, url="https://x.example/", status=status, error_count=0,
                                                items_seen=0, backlog_done=True, next_poll_at=nxt, created_at=now))
    assert seconds_to_next_poll(engine, ["a", "b", "c"], now, 300) == 180, "paused sources wait"
    assert seconds_to_next_poll(engine, ["a"], now, 300) == 300, "capped"
    assert seconds_to_next_poll(engine, ["a", "new"], now, 300) == 0, "a source never polled is due now"
    assert seconds_to_next_poll(engine, [], now, 300) == 300
    engine.dispose()
