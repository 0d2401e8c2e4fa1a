"""The schema migrates on both backends and round-trips aware UTC datetimes and JSON."""

from datetime import datetime, timedelta, timezone

from sqlalchemy import inspect, insert, select

from bot.storage.schema import items, sources


def test_schema_and_types_round_trip(engine):
    now = datetime(2026, 11, 22, 6, 0, tzinfo=timezone(timedelta(hours=1)))
    with engine.begin() as conn:
        conn.execute(insert(sources).values(id="s", url="https://a.org/", status="ok", error_count=0,
                                            items_seen=0, backlog_done=False, created_at=now))
        conn.execute(insert(items).values(source_id="s", guid="g", url="https://a.org/1", title="Ελλάδα",
                                          summary="", text="", categories=["x"], tags=["ngo"], countries=["GR"],
                                          regions=["Europe"], first_seen_at=now, is_backlog=False))
    with engine.connect() as conn:
        row = conn.execute(select(items)).one()
    assert row.first_seen_at == now and row.first_seen_at.tzinfo is not None
    assert row.first_seen_at.utcoffset() == timedelta(0)
    assert row.countries == ["GR"] and row.title == "Ελλάδα"
    assert {"items", "hits", "deliveries", "destinations"} <= set(inspect(engine).get_table_names())
