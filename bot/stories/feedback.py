"""Member feedback on hits: the alert buttons' callback data, storing votes, and what the
votes say about each rule (precision) for `rules backtest`, `/health` and the report.

Callback data (Telegram allows 64 bytes): `fb:<hit_id>:+` (relevant) and `fb:<hit_id>:-`
(not relevant). One vote per (hit, member); voting again replaces the vote.
A rule's precision is the share of "relevant" among the votes on hits that list the rule in
their `rules` JSON; noisiest rules are those with the lowest Laplace-smoothed precision.

Votes as labelled data (`rules evaluate --from-feedback`, `labelled_from_feedback`): each
(item, theme) hit with votes is judged by the majority of its members' votes ("relevant": the
theme is gold for the item; "not relevant": the item is off-topic for that theme); a tie
leaves it unjudged. A reported miss an admin accepted makes its theme gold for its item. An
item is judged only on the themes voted on or accepted. `JUDGEMENT_SOURCES` lists
where judgements come from, in order; a later source overrides an earlier one on the same
(item, theme).

Must not: know of Telegram's API (the delivery code builds the buttons from `buttons()`).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Callable, Iterable

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from bot.model import Item
from bot.stories.ranking import smoothed
from bot.storage.batches import in_slices
from bot.storage.schema import feedback, hits, items

PREFIX = "fb"
RELEVANT, NOT_RELEVANT = 1, -1
_CALLBACK = re.compile(r"^fb:(\d{1,18}):([+-])$")
LABELS = {RELEVANT: "👍 Relevant", NOT_RELEVANT: "👎 Not relevant"}


def callback_data(hit_id: int, vote: int) -> str:
    """The callback_data of one feedback button."""
    if vote not in (RELEVANT, NOT_RELEVANT):
        raise ValueError(f"vote must be +1 or -1, got {vote!r}")
    return f"{PREFIX}:{int(hit_id)}:{'+' if vote > 0 else '-'}"


def buttons(hit_id: int) -> list[tuple[str, str]]:
    """(label, callback_data) of the two buttons, in display order."""
    return [(LABELS[v], callback_data(hit_id, v)) for v in (RELEVANT, NOT_RELEVANT)]


def parse_callback(data: str | None) -> tuple[int, int] | None:
    """(hit_id, vote) from a button's callback data; None when it is not a feedback button."""
    m = _CALLBACK.match(data or "")
    if not m:
        return None
    return int(m.group(1)), RELEVANT if m.group(2) == "+" else NOT_RELEVANT


def record_vote(conn: Connection, hit_id: int, user_id: int | str, vote: int, now: datetime) -> str:
    """Store a member's vote on a hit. Returns 'recorded', 'changed', 'unchanged', or
    'unknown-hit' (the hit was purged meanwhile: nothing is stored)."""
    if vote not in (RELEVANT, NOT_RELEVANT):
        raise ValueError(f"vote must be +1 or -1, got {vote!r}")
    if conn.execute(select(hits.c.id).where(hits.c.id == hit_id)).first() is None:
        return "unknown-hit"
    user = str(user_id)
    old = conn.execute(select(feedback.c.vote).where(
        feedback.c.hit_id == hit_id, feedback.c.user_id == user)).scalar()
    if old is None:
        conn.execute(feedback.insert().values(hit_id=hit_id, user_id=user, vote=vote, created_at=now))
        return "recorded"
    if old == vote:
        return "unchanged"
    conn.execute(update(feedback).where(feedback.c.hit_id == hit_id, feedback.c.user_id == user)
                 .values(vote=vote, created_at=now))
    return "changed"


def hit_votes(conn: Connection, hit_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """(up, down) per hit id, for hits that have votes."""
    ids = list(hit_ids)
    out: dict[int, tuple[int, int]] = {}
    for batch in in_slices(ids):
        rows = conn.execute(
            select(feedback.c.hit_id, func.count().filter(feedback.c.vote > 0),
                   func.count().filter(feedback.c.vote < 0))
            .where(feedback.c.hit_id.in_(batch)).group_by(feedback.c.hit_id))
        for hit_id, up, down in rows:
            out[hit_id] = (int(up or 0), int(down or 0))
    return out


@dataclass(frozen=True)
class RuleStats:
    rule: str
    theme: str
    hits: int
    votes_up: int
    votes_down: int

    @property
    def votes(self) -> int:
        return self.votes_up + self.votes_down

    @property
    def precision(self) -> float | None:
        """Share of 'relevant' votes; None without votes."""
        return self.votes_up / self.votes if self.votes else None

    @property
    def smoothed(self) -> float:
        return smoothed(self.votes_up, self.votes_down)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["votes"] = self.votes
        d["precision"] = None if self.precision is None else round(self.precision, 3)
        return d


def rule_stats(conn: Connection, since: datetime | None = None) -> list[RuleStats]:
    """Hits and votes per rule over hits created since `since` (all when None), most hits
    first. A hit listing two rules counts for both."""
    hq = select(hits.c.id, hits.c.theme, hits.c.rules)
    vq = (select(feedback.c.hit_id, func.count().filter(feedback.c.vote > 0),
                 func.count().filter(feedback.c.vote < 0))
          .select_from(feedback.join(hits, hits.c.id == feedback.c.hit_id))
          .group_by(feedback.c.hit_id))
    if since is not None:
        hq = hq.where(hits.c.created_at >= since)
        vq = vq.where(hits.c.created_at >= since)
    # Two queries: PostgreSQL cannot GROUP BY a json column.
    votes = {hit_id: (int(up), int(down)) for hit_id, up, down in conn.execute(vq)}
    acc: dict[tuple[str, str], list[int]] = {}
    for hit_id, theme, rules in conn.execute(hq):
        up, down = votes.get(hit_id, (0, 0))
        for rule in rules or []:
            a = acc.setdefault((rule, theme), [0, 0, 0])
            a[0] += 1
            a[1] += up
            a[2] += down
    stats = [RuleStats(rule, theme, n, up, down) for (rule, theme), (n, up, down) in acc.items()]
    return sorted(stats, key=lambda s: (-s.hits, s.rule))


def rule_votes(conn: Connection, since: datetime | None = None) -> dict[str, tuple[int, int]]:
    """(up, down) per rule id, for ranking's feedback factor."""
    out: dict[str, tuple[int, int]] = {}
    for s in rule_stats(conn, since):
        up, down = out.get(s.rule, (0, 0))
        out[s.rule] = (up + s.votes_up, down + s.votes_down)
    return out


def noisiest_rules(conn: Connection, since: datetime | None = None, *, min_votes: int = 3,
                   limit: int = 5) -> list[RuleStats]:
    """Rules with at least `min_votes` votes, lowest smoothed precision first."""
    voted = [s for s in rule_stats(conn, since) if s.votes >= min_votes]
    return sorted(voted, key=lambda s: (s.smoothed, -s.votes, s.rule))[:limit]


# --- votes as labelled data (`rules evaluate --from-feedback`) ----------------------------------

@dataclass(frozen=True)
class Judgement:
    """Whether `theme` is right for stored item `item_id`: True (relevant), False (not
    relevant), None (undecided: the votes are tied; counted neither way)."""

    item_id: int
    theme: str
    relevant: bool | None


def voted_judgements(conn: Connection, since: datetime | None = None) -> list[Judgement]:
    """One judgement per voted hit (created since `since`): the majority of its votes."""
    q = (select(hits.c.item_id, hits.c.theme, func.count().filter(feedback.c.vote > 0),
                func.count().filter(feedback.c.vote < 0))
         .select_from(feedback.join(hits, hits.c.id == feedback.c.hit_id))
         .group_by(hits.c.item_id, hits.c.theme).order_by(hits.c.item_id, hits.c.theme))
    if since is not None:
        q = q.where(hits.c.created_at >= since)
    return [Judgement(item_id, theme, None if up == down else up > down)
            for item_id, theme, up, down in conn.execute(q)]


def accepted_misses(conn: Connection, since: datetime | None = None) -> list[Judgement]:
    """Reported misses an admin accepted (decided since `since`): the member's theme is gold
    for the item the report became (bot.storage.reported, bot.chat.missed)."""
    from bot.storage.reported import decided_since

    return [Judgement(r.item_id, r.theme, True)
            for r in decided_since(conn, since, "accepted") if r.item_id is not None]


# Where judgements come from, applied in order (a later source overrides an earlier one on the
# same item and theme): accepted reported misses come after the votes, as an admin's decision
# outweighs members' votes on the same item.
JudgementSource = Callable[[Connection, "datetime | None"], Iterable[Judgement]]
JUDGEMENT_SOURCES: tuple[JudgementSource, ...] = (voted_judgements, accepted_misses)


@dataclass(frozen=True)
class FeedbackLabel:
    """A stored item as a labelled one: `gold` (themes judged relevant) among `judged` (the
    themes it was judged on; the others are unknown)."""

    item_id: int
    item: Item
    gold: frozenset[str]
    judged: frozenset[str]


def labelled_from_feedback(conn: Connection, since: datetime | None = None,
                           sources: Iterable[JudgementSource] = JUDGEMENT_SOURCES) -> list[FeedbackLabel]:
    """The stored items with at least one decided judgement, by item id."""
    decided: dict[tuple[int, str], bool | None] = {}
    for source in sources:
        for j in source(conn, since):
            decided[(j.item_id, j.theme)] = j.relevant
    per_item: dict[int, tuple[set[str], set[str]]] = {}
    for (item_id, theme), relevant in decided.items():
        if relevant is None:
            continue
        gold, judged = per_item.setdefault(item_id, (set(), set()))
        judged.add(theme)
        if relevant:
            gold.add(theme)
    ids = sorted(per_item)
    out: list[FeedbackLabel] = []
    for start in range(0, len(ids), 500):
        q = (select(items.c.id, items.c.source_id, items.c.guid, items.c.url, items.c.title, items.c.summary,
                    items.c.text, items.c.language, items.c.tags)
             .where(items.c.id.in_(ids[start:start + 500])).order_by(items.c.id))
        for row in conn.execute(q):
            gold, judged = per_item[row.id]
            item = Item(source_id=row.source_id, guid=row.guid, url=row.url, title=row.title or "",
                        summary=row.summary or "", text=row.text or "", language=row.language,
                        tags=list(row.tags or []))
            out.append(FeedbackLabel(row.id, item, frozenset(gold), frozenset(judged)))
    return out
