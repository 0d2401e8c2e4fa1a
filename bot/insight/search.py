"""Search of stored items with the rule query language: the full-text index finds candidates,
the rule engine decides exactly, ranking orders the results, one result per story.

1. The query is parsed (`compile_query`; a syntax error is a RuleSyntaxError with position).
2. From its tree, terms every match must contain are derived: a word becomes a prefix of its
   stem (shortest over the coalition's languages, as the matcher's anchors are built), a
   prefix stays a prefix, an exact word stays a word. `NOT`, `source:`/`tag:`/`lang:` give no
   term; an OR gives its terms as alternatives. If some terms are required, candidates are
   items holding all of them (FTS5 on SQLite, the tsvector index on PostgreSQL, through
   `bot.storage.fulltext`); else items of any of the alternatives; a query with no term at
   all, or a database without an accent-folding index (PostgreSQL without the unaccent
   extension), scans the period's items, newest first (capped).
3. Each candidate is matched with the query itself, so results are exactly the query's.
4. Results are grouped by story (the best item speaks for it, with "also reported by") and
   ordered by `bot.stories.ranking.score` (half-life SEARCH_HALF_LIFE) times the text relevance
   1 / (1 + position in the index's bm25 order / 50).

Must not: print, or know of Telegram (the bot formats `results` itself).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Row

from bot.stories import ranking
from bot.match import compile_query
from bot.match.compile import resolve_term
from bot.match.query import And, Near, Node, Or, Scope, Term
from bot.storage import fulltext
from bot.storage.batches import in_slices
from bot.storage.schema import hits, items
from bot.stories.grouping import also_reported_by, story_members

SEARCH_HALF_LIFE = timedelta(days=14)
MAX_CANDIDATES = 2000
_LANGS = (None, "en", "fr", "de", "it", "es", "pt", "el", "nl")
_PRIORITY_ORDER = {"high": 0, "normal": 1, "low": 2}


@dataclass
class SearchResult:
    item_id: int
    source: str
    title: str
    url: str | None
    published: datetime | None
    first_seen: datetime
    language: str | None
    story_id: int | None
    themes: list[str] = field(default_factory=list)
    also_reported_by: list[str] = field(default_factory=list)
    score: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["score"] = round(self.score, 4)
        return d


@dataclass(frozen=True)
class _Need:
    term: str
    prefix: bool


def _term_need(term: Term) -> _Need:
    kind, word = term.parts[0]
    if kind == "x":
        return _Need(word, False)
    if kind == "p":
        return _Need(word, True)
    anchors = [resolve_term(term, lang).anchor.strip() for lang in _LANGS]
    return _Need(min(anchors, key=len), True)


def _clauses(node: Node) -> list[list[_Need]] | None:
    """Conjunction of disjunctions every match satisfies; None when nothing is implied."""
    if isinstance(node, Term):
        return [[_term_need(node)]]
    if isinstance(node, (And, Near)):
        children = node.children if isinstance(node, And) else (node.left, node.right)
        out: list[list[_Need]] = []
        for child in children:
            out.extend(_clauses(child) or [])
        return out or None
    if isinstance(node, Or):
        alternatives: list[_Need] = []
        for child in node.children:
            c = _clauses(child)
            if not c:
                return None
            shortest: list[_Need] = min(c, key=len)  # one implied clause of each side suffices
            alternatives.extend(shortest)
        return [alternatives]
    if isinstance(node, Scope):
        return _clauses(node.child)
    return None  # Not, Filter: no term is implied


def _candidates(conn: Connection, query, since: datetime) -> list[int]:  # noqa: ANN001
    clauses = _clauses(query.ast)
    # Without a folding index ('retention' would miss 'rétention'): scan the period instead.
    if clauses and fulltext.folds_accents(conn):
        singles = [c[0] for c in clauses if len(c) == 1]
        if singles:
            return fulltext.search_item_ids(conn, [n.term for n in singles],
                                            prefix=[n.prefix for n in singles],
                                            since=since, limit=MAX_CANDIDATES)
        alt = min(clauses, key=len)
        return fulltext.search_item_ids(conn, [n.term for n in alt], any_term=True,
                                        prefix=[n.prefix for n in alt], since=since,
                                        limit=MAX_CANDIDATES)
    return list(conn.execute(
        select(items.c.id).where(items.c.first_seen_at >= since)
        .order_by(items.c.first_seen_at.desc()).limit(MAX_CANDIDATES)).scalars())


def search(conn: Connection, query_text: str, since: datetime, theme: str | None = None,
           limit: int = 20, *, now: datetime | None = None,
           weights: dict[str, float] | None = None) -> list[SearchResult]:
    """Stored items first seen since `since` that match `query_text`, best first, one per
    story. `theme` keeps items with a hit of that theme. Raises RuleSyntaxError."""
    query = compile_query(query_text)
    now = now or datetime.now(timezone.utc)
    ids = _candidates(conn, query, since)
    if not ids:
        return []
    position = {item_id: i for i, item_id in enumerate(ids)}
    rows: list[Row[Any]] = []
    for batch in in_slices(ids):
        rows.extend(conn.execute(select(items).where(items.c.id.in_(batch))))
    matched = [r for r in rows if query.matches(r)]
    if not matched:
        return []
    themes: dict[int, list[tuple[str, str]]] = {}
    hit_ids: dict[int, list[int]] = {}
    for batch in in_slices([r.id for r in matched]):
        for item_id, hit_id, th, prio in conn.execute(
                select(hits.c.item_id, hits.c.id, hits.c.theme, hits.c.priority)
                .where(hits.c.item_id.in_(batch))):
            themes.setdefault(item_id, []).append((th, prio))
            hit_ids.setdefault(item_id, []).append(hit_id)
    if theme is not None:
        matched = [r for r in matched if any(t == theme for t, _ in themes.get(r.id, []))]
    members = story_members(conn, [r.story_id for r in matched])
    weights = weights or {}

    best: dict[Any, SearchResult] = {}
    for r in matched:
        story_sources = {s for _, s in members.get(r.story_id, [])} | {r.source_id}
        prio = min((p for _, p in themes.get(r.id, [])), key=lambda p: _PRIORITY_ORDER.get(p, 1),
                   default="normal")
        when = r.published_at if r.published_at and r.published_at <= r.first_seen_at else r.first_seen_at
        base = ranking.score(ranking.Rankable(
            key=r.id, priority=prio, sources=len(story_sources), when=when,
            weight=max(weights.get(s, 1.0) for s in story_sources)), now, SEARCH_HALF_LIFE)
        result = SearchResult(
            item_id=r.id, source=r.source_id, title=r.title, url=r.url, published=r.published_at,
            first_seen=r.first_seen_at, language=r.language, story_id=r.story_id,
            themes=sorted({t for t, _ in themes.get(r.id, [])}),
            also_reported_by=also_reported_by(members, r.story_id, r.id, r.source_id),
            score=base / (1 + position[r.id] / 50))
        group = r.story_id if r.story_id is not None else ("item", r.id)
        if group not in best or (result.score, -result.item_id) > (best[group].score, -best[group].item_id):
            best[group] = result
    ordered = sorted(best.values(), key=lambda x: (-x.score, -x.item_id))
    return ordered[:limit]
