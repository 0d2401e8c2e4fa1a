"""`newsbot db migrate` and `newsbot db copy`: a populated SQLite database to a real
PostgreSQL and back, nothing lost, ids kept, sequences and full-text indexes working."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from click.testing import CliRunner
from sqlalchemy import insert, select

from bot.cli import cli
from bot.storage import fulltext
from bot.storage.db import make_engine, open_database
from bot.storage.schema import (deliveries, destinations, email_lists, email_sends, feedback, items, kv, metadata,
                                reported_misses, sources, story_sigs)
from support.seed_hits import add_hit, add_item, add_source

T0 = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)


def populate(engine) -> None:
    """Rows in every table, as a few days of running would leave them."""
    with engine.begin() as conn:
        for n in range(3):
            add_source(conn, f"src{n}", T0, next_poll_at=T0 + timedelta(minutes=30), etag=f'"e{n}"',
                       error_count=n, items_seen=4, backlog_done=True, interval_seconds=1800)
        item_ids = []
        for n in range(12):
            src = f"src{n % 3}"
            title = ["Pushback at the Evros border", "Rétention des migrants à Calais",
                     "Asylum court ruling on detention", "Ελλάδα: νέα κράτηση"][n % 4] + f" #{n}"
            item_id, _story = add_item(conn, src, title, T0 + timedelta(minutes=n), summary="summary ü",
                                       text="body text", countries=["GR"], regions=["Europe"],
                                       tags=["ngo"], backlog=n < 2)
            item_ids.append(item_id)
        hit_ids = [add_hit(conn, i, "detention", ["detention-en"], T0, priority="high") for i in item_ids[::2]]
        dest = conn.execute(insert(destinations).values(
            chat_id="-1001", name="Alerts", origin="config", themes=["detention"], regions=None,
            languages=None, alerts="instant", digest="daily 08:00", active=True, created_at=T0)).inserted_primary_key[0]
        for k, hit_id in enumerate(hit_ids):
            conn.execute(insert(deliveries).values(
                destination_id=dest, hit_id=hit_id, kind="alert", dedupe_key=f"alert:item:{k}",
                status="sent" if k % 2 else "queued", attempts=k % 2, next_attempt_at=T0, created_at=T0,
                sent_at=T0 if k % 2 else None, message_id=100 + k if k % 2 else None))
        conn.execute(insert(email_lists).values(name="members", first_seen_at=T0))
        conn.execute(insert(email_sends).values(list_name="members", week="2026-W47", recipient="a@example.org",
                                                status="sent", attempts=1, created_at=T0, sent_at=T0))
        conn.execute(insert(feedback).values(hit_id=hit_ids[0], user_id="42", vote=1, created_at=T0))
        conn.execute(insert(reported_misses).values(
            url="https://x.example/r", title="Réfugiés", summary="", language="fr", theme="detention",
            matched=["asylum"], chat_id="42", user_id="42", reported_at=T0, status="accepted",
            decided_by="7", decided_at=T0, item_id=item_ids[0]))
        conn.execute(insert(kv).values(key="telegram:offset", value="1234"))
        conn.execute(insert(kv).values(key="daemon:lock", value="{}", expires_at=T0))


def snapshot(engine) -> dict[str, list[dict]]:
    out = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).mappings().all()
            out[table.name] = [dict(r) for r in rows if not (table is kv and r["key"] == "daemon:lock")]
    return out


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, list(args), env=env or {}, catch_exceptions=False)


def test_sqlite_to_postgresql_and_back(tmp_path, pg_server):
    src_url = f"sqlite:///{tmp_path / 'old.db'}"
    src = open_database(src_url)
    populate(src)
    before = snapshot(src)
    assert all(before[t.name] for t in metadata.sorted_tables), "every table has rows to copy"
    src.dispose()

    pg_url = pg_server.create_database()
    res = run("--config-dir", str(tmp_path), "db", "copy", "--from", src_url, "--to", pg_url,
              "--batch", "5", "--format", "json")
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    counts = {t["table"]: (t["source_rows"], t["target_rows"]) for t in report["tables"]}
    assert counts["items"] == (12, 12) and counts["kv"] == (1, 1)
    assert all(a == b for a, b in counts.values())
    assert "postgres" in report["to"]

    pg = make_engine(pg_url)
    try:
        assert snapshot(pg) == before                  # every row, every id, every value
        with pg.begin() as conn:
            # the sequences moved past the copied ids: a new row gets the next id
            new_id = conn.execute(insert(items).values(
                source_id="src0", guid="new", url="https://src0.example/new", title="Fresh", summary="",
                text="", categories=[], tags=[], countries=[], regions=[], first_seen_at=T0,
                is_backlog=False)).inserted_primary_key[0]
            assert new_id == max(r["id"] for r in before["items"]) + 1
            # the PostgreSQL full-text index covers the copied items, accents folded
            found = fulltext.search_item_ids(conn, ["retention"])
            assert {r["id"] for r in before["items"] if "Rétention" in r["title"]} == set(found)
            conn.rollback()
    finally:
        pg.dispose()

    # A target holding data is refused, unless --force.
    res = run("--config-dir", str(tmp_path), "db", "copy", "--from", src_url, "--to", pg_url)
    assert res.exit_code == 1 and "not empty" in res.output
    res = run("--config-dir", str(tmp_path), "db", "copy", "--from", src_url, "--to", pg_url, "--force")
    assert res.exit_code == 0 and "row counts verified" in res.output

    back_url = f"sqlite:///{tmp_path / 'back.db'}"
    res = run("--config-dir", str(tmp_path), "db", "copy", "--from", pg_url, "--to", back_url)
    assert res.exit_code == 0, res.output
    back = make_engine(back_url)
    try:
        assert snapshot(back) == before
        with back.connect() as conn:
            # SQLite's FTS5 index was filled by its triggers as the items arrived
            found = fulltext.search_item_ids(conn, ["detention"])
            assert {r["id"] for r in before["items"] if "detention" in r["title"]} == set(found)
            assert conn.execute(select(story_sigs.c.item_id)).first() is not None
            assert conn.execute(select(sources.c.etag).where(sources.c.id == "src1")).scalar() == '"e1"'
    finally:
        back.dispose()


def test_same_database_refused_and_migrate_prints_revision(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    env = {"DATABASE_URL": url}
    res = run("--config-dir", str(tmp_path), "db", "migrate", env=env)
    assert res.exit_code == 0 and "upgraded from empty to revision" in res.output
    res = run("--config-dir", str(tmp_path), "db", "migrate", "--format", "json", env=env)
    data = json.loads(res.output)
    assert data["revision"] == data["from"] and data["revision"] >= "0005"
    res = run("--config-dir", str(tmp_path), "db", "copy", "--to", url, env=env)
    assert res.exit_code == 1 and "same database" in res.output


def test_password_not_printed(tmp_path):
    open_database(f"sqlite:///{tmp_path / 'x.db'}").dispose()      # a source that exists
    res = run("--config-dir", str(tmp_path), "db", "copy", "--from", f"sqlite:///{tmp_path / 'x.db'}",
              "--to", "postgresql://user:s3cret-pw@127.0.0.1:1/nowhere")
    assert res.exit_code == 2 and "Connection refused" in res.output
    assert "s3cret-pw" not in res.output and "***" in res.output
