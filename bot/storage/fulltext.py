"""Full-text search over items: the one adapter that knows the database's own index.

On SQLite: the FTS5 table `items_fts` (created by migration 0002, an external-content index
over items.title/summary/text kept in step by triggers), ranked by bm25. On PostgreSQL: the GIN
expression index of migration 0005 over to_tsvector('newsbot_fts', title || ' ' || summary ||
' ' || text) (accent-folding `simple` configuration), ranked by ts_rank. Elsewhere a portable
LIKE scan so callers never need to know.

Must not parse the rule language: callers (search) pass plain words or phrases and apply the
precise rule match on the candidates themselves.
"""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from sqlalchemy import Connection, and_, bindparam, or_, select, text

from bot.storage.schema import items


def fts_expression(terms: Sequence[str], *, any_term: bool = False, prefix: Sequence[bool] = ()) -> str:
    """An FTS5 query from plain terms: each quoted (so user text cannot inject FTS syntax),
    `prefix[i]` adds `*`; AND by default, OR with `any_term`."""
    parts = []
    for i, term in enumerate(terms):
        quoted = '"' + term.replace('"', '""') + '"'
        parts.append(quoted + ("*" if i < len(prefix) and prefix[i] else ""))
    return (" OR " if any_term else " ").join(parts)


def search_item_ids(conn: Connection, terms: Sequence[str], *, any_term: bool = False,
                    prefix: Sequence[bool] = (), since: datetime | None = None, limit: int = 200) -> list[int]:
    """Ids of items containing the terms (all, or any), best first; newest first off SQLite."""
    terms = [t for t in terms if t.strip()]
    if not terms:
        return []
    if conn.dialect.name == "sqlite":
        sql = ("SELECT items.id FROM items_fts JOIN items ON items.id = items_fts.rowid "
               "WHERE items_fts MATCH :q" + (" AND items.first_seen_at >= :since" if since else "") +
               " ORDER BY bm25(items_fts) LIMIT :limit")
        stmt = text(sql)
        params: dict = {"q": fts_expression(terms, any_term=any_term, prefix=prefix), "limit": limit}
        if since is not None:
            # typed, so the datetime is stored-format text as in every other query
            stmt = stmt.bindparams(bindparam("since", type_=items.c.first_seen_at.type))
            params["since"] = since
        return [r[0] for r in conn.execute(stmt, params)]
    if conn.dialect.name == "postgresql":
        return _search_postgresql(conn, terms, any_term, prefix, since, limit)
    fields = (items.c.title, items.c.summary, items.c.text)
    conds = [or_(*(f.ilike(f"%{t}%") for f in fields)) for t in terms]
    q = select(items.c.id).where(or_(*conds) if any_term else and_(*conds))
    if since is not None:
        q = q.where(items.c.first_seen_at >= since)
    return list(conn.execute(q.order_by(items.c.first_seen_at.desc()).limit(limit)).scalars())


# The exact expression of the index in migration 0005: anything else would not use it.
PG_DOCUMENT = "to_tsvector('newsbot_fts'::regconfig, title || ' ' || summary || ' ' || text)"


def tsquery_expression(terms: Sequence[str], *, any_term: bool = False, prefix: Sequence[bool] = ()) -> str:
    """A to_tsquery() text from plain terms: each a quoted lexeme (user text cannot inject
    operators), `prefix[i]` adds `:*`; AND by default, OR with `any_term`. Several words in
    one term become a phrase."""
    parts = []
    for i, term in enumerate(terms):
        quoted = "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"
        parts.append(quoted + (":*" if i < len(prefix) and prefix[i] else ""))
    return (" | " if any_term else " & ").join(parts)


def _search_postgresql(conn: Connection, terms: Sequence[str], any_term: bool, prefix: Sequence[bool],
                       since: datetime | None, limit: int) -> list[int]:
    query = "to_tsquery('newsbot_fts'::regconfig, :q)"
    sql = (f"SELECT id FROM items WHERE {PG_DOCUMENT} @@ {query}"
           + (" AND first_seen_at >= :since" if since is not None else "")
           + f" ORDER BY ts_rank({PG_DOCUMENT}, {query}) DESC, first_seen_at DESC, id DESC LIMIT :limit")
    stmt = text(sql)
    params: dict = {"q": tsquery_expression(terms, any_term=any_term, prefix=prefix), "limit": limit}
    if since is not None:
        stmt = stmt.bindparams(bindparam("since", type_=items.c.first_seen_at.type))
        params["since"] = since
    return [r[0] for r in conn.execute(stmt, params)]


def folds_accents(conn: Connection) -> bool:
    """Whether this database's index folds accents as the rule language does: always with
    FTS5; on PostgreSQL when migration 0005 could map `newsbot_fts` through unaccent."""
    if conn.dialect.name == "sqlite":
        return True
    if conn.dialect.name != "postgresql":
        return False
    return conn.execute(text(
        "SELECT 1 FROM pg_ts_config_map m JOIN pg_ts_config c ON c.oid = m.mapcfg "
        "JOIN pg_ts_dict d ON d.oid = m.mapdict "
        "WHERE c.cfgname = 'newsbot_fts' AND d.dictname = 'unaccent' LIMIT 1")).first() is not None
