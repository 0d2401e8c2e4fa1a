"""Copy a whole newsbot database to another (SQLite to PostgreSQL, or back).

Owns `copy_database`: migrate the target, refuse a target that holds data (unless forced,
then empty it), copy every table of bot.storage.schema in foreign-key order in batches with
their ids, set PostgreSQL's sequences past the copied ids, and verify the row counts.
Indexes that live outside the tables follow by themselves: SQLite's FTS5 triggers fill
`items_fts` as items arrive, PostgreSQL's GIN index is an expression index.

The daemon's single-instance lock row (`kv` 'daemon:lock') is not copied: it names a process
of the old database. Stop the daemon before copying: rows written during the copy may be
missed (the counts check would then fail).

Must not: print or exit (bot/cli/db.py does), or know what the rows mean.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import Engine, Integer, Table, delete, func, insert, select, text

from bot.errors import NewsbotError
from bot.storage.db import migrate
from bot.storage.schema import kv, metadata

log = logging.getLogger(__name__)

SKIPPED_KV_KEYS = ("daemon:lock",)


class CopyError(NewsbotError):
    hint = "see `newsbot db copy --help`"


@dataclass
class TableCopy:
    table: str
    source_rows: int
    copied: int
    target_rows: int

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows


def _where(table: Table):  # noqa: ANN202
    return kv.c.key.not_in(SKIPPED_KV_KEYS) if table is kv else None


def _count(conn, table: Table) -> int:  # noqa: ANN001
    q = select(func.count()).select_from(table)
    cond = _where(table)
    return conn.execute(q if cond is None else q.where(cond)).scalar_one()


def target_rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: _count(conn, t) for t in metadata.sorted_tables}


def copy_database(source: Engine, target: Engine, *, force: bool = False, batch: int = 2000,
                  progress: Callable[[str, int, int], None] | None = None) -> list[TableCopy]:
    """Copy every table from `source` to `target` (both engines; the source is migrated to
    head too, so both have the same schema). Returns one TableCopy per table, in copy order.
    Raises CopyError when the target holds data and `force` is false, or when the counts
    differ at the end."""
    if source.url == target.url:
        raise CopyError("the source and the target are the same database")
    migrate(source)
    migrate(target)
    tables = list(metadata.sorted_tables)
    existing = {name: n for name, n in target_rows(target).items() if n}
    if existing and not force:
        shown = ", ".join(f"{name} ({n})" for name, n in existing.items())
        raise CopyError(f"the target database is not empty: {shown}",
                        hint="copy into a new, empty database, or pass --force to replace its rows")
    results: list[TableCopy] = []
    with source.connect() as src, target.begin() as dst:
        if existing:
            for table in reversed(tables):
                dst.execute(delete(table))
        for table in tables:
            total = _count(src, table)
            q = select(table)
            cond = _where(table)
            if cond is not None:
                q = q.where(cond)
            pk = list(table.primary_key.columns)
            if pk:
                q = q.order_by(*pk)
            copied = 0
            result = src.execution_options(stream_results=True, yield_per=batch).execute(q)
            for rows in result.partitions(batch):
                dst.execute(insert(table), [dict(r._mapping) for r in rows])
                copied += len(rows)
                if progress is not None:
                    progress(table.name, copied, total)
            results.append(TableCopy(table.name, total, copied, 0))
        if dst.dialect.name == "postgresql":
            _reset_sequences(dst, tables)
    with target.connect() as conn:
        for r in results:
            r.target_rows = _count(conn, metadata.tables[r.table])
    bad = [r for r in results if not r.ok]
    if bad:
        shown = ", ".join(f"{r.table}: {r.source_rows} in the source, {r.target_rows} in the target" for r in bad)
        raise CopyError(f"row counts differ after the copy: {shown}",
                        hint="was a daemon still writing to the source? stop it and copy again with --force")
    log.info("database copied tables=%d rows=%d", len(results), sum(r.copied for r in results))
    return results


def _reset_sequences(conn, tables: list[Table]) -> None:  # noqa: ANN001
    """Ids were copied explicitly, so the serial sequences still start at 1: move each past
    the highest id, or the next insert would collide."""
    for table in tables:
        for col in table.primary_key.columns:
            if not isinstance(col.type, Integer):
                continue
            seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                               {"t": table.name, "c": col.name}).scalar()
            if seq is None:
                continue
            conn.execute(text(f'SELECT setval(:seq, COALESCE((SELECT MAX("{col.name}") FROM "{table.name}"), 1), '
                              f'(SELECT MAX("{col.name}") FROM "{table.name}") IS NOT NULL)'), {"seq": seq})
