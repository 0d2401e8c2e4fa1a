"""The queries other parts need over items, hits and source state.

Owns: inserting items with deduplication (by (source_id, guid), and by canonical URL within a
source: an item seen again is not new; each source keeps its own item of a shared URL), inserting hits, reading and updating the per-source
poll state, and the read queries (hits with filters, items since, counts). Every function takes
the caller's `Connection` and leaves the transaction to it, so the pipeline can store an item,
its story, its hits and its queued deliveries in one transaction.

Must not know of Telegram, email or the outbox, nor fetch or parse. Portable SQL only: the one
dialect-specific statement (INSERT ... ON CONFLICT DO NOTHING) is chosen in `_insert_ignore`;
full-text search lives in `bot.storage.fulltext`.

Public API (all take `conn` first):
  ensure_sources(conn, [(id, url)], now)              rows for configured sources, removed ones marked;
                                                       a changed URL resets state
  configured() -> condition                            a sources row not removed from sources.yaml
  source_state(conn, id) -> Row | None                 one `sources` row
  source_states(conn, ids=None) -> dict[id, Row]
  update_source(conn, id, **values)                    any `sources` columns
  update_sources(conn, [{"id": ..., col: ...}])        the same, batched (same columns in every dict)
  poll_states(conn, ids=None) -> dict[id, Row]          the columns of a source's state a poll reads
  set_source_status(conn, id, status, now) -> bool     'paused' / 'ok' (Telegram /pausesource)
  failing_sources(conn) -> list[Row]                   configured sources now failing, longest first
  known_item_keys(conn, source_id, guids, urls) -> KnownKeys(guids, own_urls)   already stored
  insert_item(conn, item, now, is_backlog=False, countries=(), regions=(), shares_url=False) -> int | None
  item_by_url(conn, url) -> Row | None                  the item first stored under a canonical URL
  insert_hits(conn, item_id, theme_hits, now) -> list[HitRow]             ThemeHit-like objects
  recent_item_count(conn, source_id, since) -> int     items published (else first seen) since
  recent_item_counts(conn, ids, since) -> dict[id, int]   the same, batched
  list_hits(conn, since=None, theme=None, source=None, include_backlog=True, limit=None) -> list[dict]
  items_since(conn, since, source=None, include_backlog=True, limit=None) -> list[Row]
  item_counts(conn) -> dict[source_id, int]            stored items per source
  hit_counts_by_theme(conn) -> dict[theme, int]        stored hits per theme
  counts(conn) -> dict                                 items, hits, sources by status
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, NamedTuple, Protocol, Sequence

from sqlalchemy import ColumnElement, Connection, Insert, Table, and_, bindparam, func, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.sql.base import Executable

from bot.model import Item
from bot.storage.batches import in_slices
from bot.storage.schema import hits, items, sources

if TYPE_CHECKING:
    from bot.match.explain import Explanation



def _insert_ignore(conn: Connection, table: Table) -> Insert:
    """INSERT that skips a row violating any unique constraint (both dialects spell it the same
    way, but through different SQLAlchemy constructs)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()


# --- sources ----------------------------------------------------------------------------------

_RESET_ON_URL_CHANGE = dict(feed_url=None, etag=None, last_modified=None, body_hash=None,
                            ttl_minutes=None, next_poll_at=None, backlog_done=False)


def ensure_sources(conn: Connection, configured: Iterable[tuple[str, str]], now: datetime) -> None:
    """The config sync of sources: make sure every configured (id, url) has a state row, and
    mark the rows of ids no longer configured as removed (a source that comes back is
    unmarked). When a source's URL changed in sources.yaml, its conditional-GET state is reset
    and what its new URL published before now is backlog (a new feed's old items must not
    flood alerts). `configured_at` (when a source first appeared) is stored where missing."""
    wanted = dict(configured)
    have = {r.id: r for r in conn.execute(select(sources.c.id, sources.c.url, sources.c.configured_at,
                                                 sources.c.removed_at))}
    new_rows = [dict(id=sid, url=url, status="new", error_count=0, items_seen=0, backlog_done=False,
                     created_at=now, configured_at=now) for sid, url in wanted.items() if sid not in have]
    if new_rows:
        conn.execute(_insert_ignore(conn, sources), new_rows)
    for sid, url in wanted.items():
        row = have.get(sid)
        if row is None:
            continue
        values: dict[str, Any] = {}
        if row.url != url:
            values.update(url=url, configured_at=now, **_RESET_ON_URL_CHANGE)
        elif row.configured_at is None:
            values["configured_at"] = now
        if row.removed_at is not None:
            values["removed_at"] = None
        if values:
            conn.execute(update(sources).where(sources.c.id == sid).values(**values))
    gone = [sid for sid, row in have.items() if sid not in wanted and row.removed_at is None]
    for chunk in in_slices(gone):
        conn.execute(update(sources).where(sources.c.id.in_(chunk)).values(removed_at=now, lease_owner=None,
                                                                           lease_until=None))


def configured() -> ColumnElement[bool]:
    """The condition "this source row is in sources.yaml" (not removed), for counts and lists."""
    return sources.c.removed_at.is_(None)


def source_state(conn: Connection, source_id: str) -> Row | None:
    return conn.execute(select(sources).where(sources.c.id == source_id)).first()


def source_states(conn: Connection, ids: Iterable[str] | None = None) -> dict[str, Row]:
    return _states(conn, (sources,), ids)


# What a poll reads of a source's state: the columns the poller needs, not the whole row
# (each date column costs a parse per row, and a cycle reads thousands of rows).
_POLL_STATE = (sources.c.id, sources.c.status, sources.c.feed_url, sources.c.etag, sources.c.last_modified,
               sources.c.body_hash, sources.c.error_count, sources.c.failing_since, sources.c.interval_seconds,
               sources.c.ttl_minutes, sources.c.next_poll_at, sources.c.backlog_done, sources.c.lease_owner,
               sources.c.configured_at, sources.c.created_at)


def poll_states(conn: Connection, ids: Iterable[str] | None = None) -> dict[str, Row]:
    """source_states, reduced to what a poll reads (see _POLL_STATE)."""
    return _states(conn, _POLL_STATE, ids)


def _states(conn: Connection, columns: Sequence[Any], ids: Iterable[str] | None) -> dict[str, Row]:
    query = select(*columns)
    if ids is None:
        return {r.id: r for r in conn.execute(query)}
    out: dict[str, Row] = {}
    for chunk in in_slices(list(ids)):
        out.update((r.id, r) for r in conn.execute(query.where(sources.c.id.in_(chunk))))
    return out


def update_source(conn: Connection, source_id: str, **values: Any) -> None:
    conn.execute(update(sources).where(sources.c.id == source_id).values(**values))


def update_sources(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Batched update_source: one executemany for many sources (a poll of thousands of
    unchanged feeds must not pay one round trip each). Every dict has the same keys, `id` included."""
    if not rows:
        return
    columns = [k for k in rows[0] if k != "id"]
    stmt = (update(sources).where(sources.c.id == bindparam("_id"))
            .values({c: bindparam(f"_{c}") for c in columns}))
    conn.execute(stmt, [{f"_{k}": v for k, v in row.items()} for row in rows])


def set_source_status(conn: Connection, source_id: str, status: str, now: datetime) -> bool:
    """Pause ('paused') or resume ('ok', due at once) a source; False when the id has no row."""
    values: dict[str, Any] = {"status": status}
    if status != "paused":
        values["next_poll_at"] = now
    return bool(conn.execute(update(sources).where(sources.c.id == source_id).values(**values)).rowcount)


def failing_sources(conn: Connection) -> list[Row]:
    """The `sources` rows of configured sources that are failing, the longest failing first."""
    return list(conn.execute(select(sources).where(sources.c.status == "failing", configured())
                             .order_by(sources.c.failing_since)).all())


# --- items ------------------------------------------------------------------------------------

class KnownKeys(NamedTuple):
    guids: set[str]        # of this source
    own_urls: set[str]     # canonical URLs of this source


def known_item_keys(conn: Connection, source_id: str, guids: Sequence[str],
                    urls: Sequence[str]) -> KnownKeys:
    """Which of these guids and canonical URLs this source has stored (another source's item
    under a URL does not count: each source stores its own)."""
    seen_guids: set[str] = set()
    own_urls: set[str] = set()
    for chunk in in_slices(list(dict.fromkeys(guids))):
        seen_guids.update(conn.execute(select(items.c.guid).where(
            items.c.source_id == source_id, items.c.guid.in_(chunk))).scalars())
    for chunk in in_slices([u for u in dict.fromkeys(urls) if u]):
        own_urls.update(conn.execute(select(items.c.url).where(
            items.c.url.in_(chunk), items.c.source_id == source_id)).scalars())
    return KnownKeys(seen_guids, own_urls)


_STATEMENTS: dict[tuple[str, str], Executable] = {}


def _statement(conn: Connection, name: str) -> Executable:
    """Insert statements built once per dialect: building a SQLAlchemy construct costs more
    than running it, and a first poll inserts hundreds of thousands of rows."""
    key = (conn.dialect.name, name)
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        table = {"item": items, "hit": hits}[name]
        stmt = _STATEMENTS[key] = _insert_ignore(conn, table).returning(table.c.id)
    return stmt


def insert_item(conn: Connection, item: Item, now: datetime, *, is_backlog: bool = False,
                countries: Sequence[str] = (), regions: Sequence[str] = (), shares_url: bool = False) -> int | None:
    """Store a new item; its id, or None when it was already stored (same guid in this source,
    or the same canonical URL in this source without `shares_url`). Another source's item under
    the same URL does not count: each source keeps its own text, hits and alerts, and story
    grouping makes them one story. `shares_url`: this source already has another item (another
    guid) under this URL, and this one is stored too (within a source the guid decides). Safe
    against a concurrent poller storing the same item: the unique indexes decide, not a prior
    SELECT."""
    return conn.execute(_statement(conn, "item"), dict(
        source_id=item.source_id, guid=item.guid, url=item.url or None, title=item.title or "",
        summary=item.summary or "", text=item.text or "", author=item.author,
        categories=list(item.categories or ()), tags=list(item.tags or ()), language=item.language,
        published_at=item.published, first_seen_at=now, is_backlog=is_backlog,
        countries=list(countries), regions=list(regions), story_id=None,
        url_twin=item.guid if shares_url and item.url else "",
    )).scalar()


def get_item(conn: Connection, item_id: int) -> Row | None:
    return conn.execute(select(items).where(items.c.id == item_id)).first()


def item_by_url(conn: Connection, url: str) -> Row | None:
    """The item stored first under canonical `url` (from any source), if any."""
    return conn.execute(select(items).where(items.c.url == url, items.c.url_twin == "")).first()


def recent_item_count(conn: Connection, source_id: str, since: datetime) -> int:
    """How many items the source published since `since`: the publishing rate the adaptive
    interval is derived from. Items without a date count from when we first saw them, unless
    they were backlog (their first sighting says nothing about when they were published)."""
    published = and_(items.c.published_at.is_not(None), items.c.published_at >= since)
    undated = and_(items.c.published_at.is_(None), items.c.is_backlog.is_(False), items.c.first_seen_at >= since)
    return conn.execute(select(func.count()).select_from(items).where(
        items.c.source_id == source_id, or_(published, undated))).scalar_one()


def recent_item_counts(conn: Connection, source_ids: Sequence[str], since: datetime) -> dict[str, int]:
    """recent_item_count for many sources in one query per chunk (absent ids: 0)."""
    published = and_(items.c.published_at.is_not(None), items.c.published_at >= since)
    undated = and_(items.c.published_at.is_(None), items.c.is_backlog.is_(False), items.c.first_seen_at >= since)
    out = dict.fromkeys(source_ids, 0)
    for chunk in in_slices(list(dict.fromkeys(source_ids))):
        q = (select(items.c.source_id, func.count()).where(items.c.source_id.in_(chunk), or_(published, undated))
             .group_by(items.c.source_id))
        out.update({sid: n for sid, n in conn.execute(q)})
    return out


def items_since(conn: Connection, since: datetime, *, source: str | None = None,
                include_backlog: bool = True, limit: int | None = None) -> list[Row]:
    """Items first seen at or after `since`, newest first."""
    q = select(items).where(items.c.first_seen_at >= since)
    if source is not None:
        q = q.where(items.c.source_id == source)
    if not include_backlog:
        q = q.where(items.c.is_backlog.is_(False))
    q = q.order_by(items.c.first_seen_at.desc(), items.c.id.desc())
    if limit is not None:
        q = q.limit(limit)
    return list(conn.execute(q))


def stream_items_since(conn: Connection, since: datetime) -> Iterable[Row]:
    """Items first seen at or after `since`, oldest first, streamed (a backtest reads them all)."""
    q = select(items.c.id, items.c.source_id, items.c.title, items.c.summary, items.c.text, items.c.language,
               items.c.tags, items.c.url).where(items.c.first_seen_at >= since).order_by(items.c.id)
    yield from conn.execute(q)


def hit_themes(conn: Connection) -> set[str]:
    """The theme slugs of every stored hit (themes removed from rules/ included)."""
    return set(conn.execute(select(hits.c.theme).distinct()).scalars())


def hit_counts_by_theme(conn: Connection) -> dict[str, int]:
    """Stored hits per theme slug."""
    q = select(hits.c.theme, func.count()).group_by(hits.c.theme)
    return {theme: n for theme, n in conn.execute(q)}


def item_counts(conn: Connection) -> dict[str, int]:
    """Stored items per source id."""
    q = select(items.c.source_id, func.count()).group_by(items.c.source_id)
    return {sid: n for sid, n in conn.execute(q)}


# --- hits -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HitRow:
    """A hit as stored: what the pipeline hands on to the outbox."""

    hit_id: int
    theme: str
    priority: str


class HitToStore(Protocol):
    """What a stored hit is made of: bot.match's ThemeHit, or an accepted reported miss."""

    @property
    def theme(self) -> str: ...
    @property
    def priority(self) -> str: ...
    @property
    def rules(self) -> Sequence[str]: ...
    @property
    def explanations(self) -> Sequence[Explanation | dict[str, Any]]: ...


def _explanation(e: Explanation | dict[str, Any]) -> dict[str, Any]:
    return e if isinstance(e, dict) else e.to_dict()


def insert_hits(conn: Connection, item_id: int, theme_hits: Iterable[HitToStore], now: datetime) -> list[HitRow]:
    """Store one hit per matched theme. A theme already stored for this item is skipped."""
    out: list[HitRow] = []
    for th in theme_hits:
        hit_id = conn.execute(_statement(conn, "hit"), dict(
            item_id=item_id, theme=th.theme, priority=th.priority or "normal", rules=list(th.rules),
            explanations=[_explanation(e) for e in th.explanations], created_at=now,
        )).scalar()
        if hit_id is not None:
            out.append(HitRow(hit_id, th.theme, th.priority or "normal"))
    return out


def list_hits(conn: Connection, *, since: datetime | None = None, theme: str | Sequence[str] | None = None,
              source: str | None = None, include_backlog: bool = True,
              limit: int | None = None) -> list[dict[str, Any]]:
    """Hits joined with their item, newest first, one dict per (item, theme)."""
    q = select(
        hits.c.id.label("hit_id"), hits.c.theme, hits.c.priority, hits.c.rules, hits.c.explanations,
        hits.c.created_at, items.c.id.label("item_id"), items.c.source_id, items.c.title, items.c.url,
        items.c.summary, items.c.published_at, items.c.language, items.c.countries, items.c.regions,
        items.c.first_seen_at, items.c.story_id, items.c.is_backlog, items.c.tags,
    ).select_from(hits.join(items, items.c.id == hits.c.item_id))
    if since is not None:
        q = q.where(hits.c.created_at >= since)
    if theme is not None:
        q = q.where(hits.c.theme.in_([theme] if isinstance(theme, str) else list(theme)))
    if source is not None:
        q = q.where(items.c.source_id == source)
    if not include_backlog:
        q = q.where(items.c.is_backlog.is_(False))
    q = q.order_by(hits.c.created_at.desc(), hits.c.id.desc())
    if limit is not None:
        q = q.limit(limit)
    return [dict(r._mapping) for r in conn.execute(q)]


# --- counts -----------------------------------------------------------------------------------

def counts(conn: Connection) -> dict[str, Any]:
    """Totals for status pages: items, backlog items, hits, and sources by status (of the
    sources in sources.yaml: a removed source's items still count, the source does not)."""
    n_items = conn.execute(select(func.count()).select_from(items)).scalar_one()
    n_backlog = conn.execute(select(func.count()).select_from(items).where(items.c.is_backlog.is_(True))).scalar_one()
    n_hits = conn.execute(select(func.count()).select_from(hits)).scalar_one()
    by_status = {s: n for s, n in conn.execute(select(sources.c.status, func.count()).where(configured())
                                                  .group_by(sources.c.status))}
    return {"items": n_items, "backlog_items": n_backlog, "hits": n_hits, "sources": by_status}


def add_items_seen(conn: Connection, source_id: str, n: int) -> None:
    if n:
        conn.execute(update(sources).where(sources.c.id == source_id)
                     .values(items_seen=sources.c.items_seen + n))


__all__ = [
    "HitRow", "add_items_seen", "configured", "counts", "ensure_sources", "get_item", "hit_themes", "insert_hits",
    "insert_item", "item_counts", "items_since", "known_item_keys", "list_hits", "recent_item_count", "recent_item_counts",
    "stream_items_since",
    "set_source_status",
    "source_state", "source_states", "poll_states", "update_source", "update_sources",
]
