"""Member feedback on hits: the alert buttons' callback data, storing votes, and what the
votes say about each rule (precision) for `rules backtest`, `/health` and the report.

Callback data (Telegram allows 64 bytes): `fb:<hit_id>:+` (relevant) and `fb:<hit_id>:-`
(not relevant). One vote per (hit, member); voting again replaces the vote.
A rule's precision is the share of "relevant" among the votes on hits that list the rule in
their `rules` JSON; noisiest rules are those with the lowest Laplace-smoothed precision.

Must not: know of Telegram's API (the delivery code builds the buttons from `buttons()`).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from bot.stories.ranking import smoothed
from bot.storage.schema import feedback, hits

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
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = conn.execute(
            select(feedback.c.hit_id, func.count().filter(feedback.c.vote > 0),
                   func.count().filter(feedback.c.vote < 0))
            .where(feedback.c.hit_id.in_(chunk)).group_by(feedback.c.hit_id))
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
