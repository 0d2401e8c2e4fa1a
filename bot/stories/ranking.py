"""Ranking of hits for digests, the weekly email and search: one pure scoring function.

    score = priority x coverage x weight x recency x feedback

    priority  = 4 (high), 2 (normal), 1 (low)                 the theme's priority
    coverage  = 1 + log2(n)                                   n distinct sources of the story
    weight    = the largest sources.yaml `weight` among the story's sources (default 1.0)
    recency   = 0.5 ** (age / half_life)                      age of the item's date (or first
                                                              seen), never negative; half_life
                                                              24 h for digests, 72 h for the email
    feedback  = hit x rule
      hit     = 2 (up + 1) / (up + down + 2)                  members' votes on this hit
      rule    = 2 (U + 1) / (U + D + 2)                       votes on all hits of its best rule
                                                              (Laplace-smoothed precision, x2)

Each factor is 1 for a neutral case (normal priority is 2: the scale starts at low), so a hit
from one ordinary source, just published, with no votes scores 2. Two sources double a story,
a day-old hit weighs half in a digest, one "not relevant" vote drops it to 2/3.
Ties are broken by the newer date, then the higher hit id, so the order is stable.

Must not: read the database or the clock; callers pass counts, weights and `now`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable, Sequence

PRIORITY_FACTOR = {"high": 4.0, "normal": 2.0, "low": 1.0}
DIGEST_HALF_LIFE = timedelta(hours=24)
EMAIL_HALF_LIFE = timedelta(hours=72)
# The votes that make a rule's feedback factor: those on its hits of the last 90 days (long
# enough to gather votes on a quiet rule, short enough that a rewritten rule recovers).
RULE_VOTES_WINDOW = timedelta(days=90)


@dataclass(frozen=True)
class Rankable:
    """What the score needs of one hit (or one story, through its best hit)."""

    key: Any                     # e.g. the hit id; the last tie-breaker
    priority: str                # high | normal | low
    sources: int                 # distinct sources that reported the story (>= 1)
    when: datetime               # the item's date, else when it was first seen (aware)
    weight: float = 1.0          # largest source weight in the story
    votes_up: int = 0
    votes_down: int = 0
    rule_up: int = 0             # votes on all hits of the hit's best rule
    rule_down: int = 0


def smoothed(up: int, down: int) -> float:
    """Laplace-smoothed share of 'relevant' votes: 0.5 with no votes."""
    return (up + 1) / (up + down + 2)


def factors(r: Rankable, now: datetime, half_life: timedelta = DIGEST_HALF_LIFE) -> dict[str, float]:
    """Each factor of the score, by name (for explanations and tests)."""
    age = max((now - r.when).total_seconds(), 0.0)
    return {
        "priority": PRIORITY_FACTOR.get(r.priority, PRIORITY_FACTOR["normal"]),
        "coverage": 1.0 + math.log2(max(r.sources, 1)),
        "weight": r.weight if r.weight > 0 else 1.0,
        "recency": 0.5 ** (age / half_life.total_seconds()),
        "feedback": 2 * smoothed(r.votes_up, r.votes_down) * 2 * smoothed(r.rule_up, r.rule_down),
    }


def score(r: Rankable, now: datetime, half_life: timedelta = DIGEST_HALF_LIFE) -> float:
    return math.prod(factors(r, now, half_life).values())


def rank(entries: Iterable[Rankable], now: datetime,
         half_life: timedelta = DIGEST_HALF_LIFE) -> list[Rankable]:
    """Best first."""
    return sorted(entries, key=lambda r: (-score(r, now, half_life), -r.when.timestamp(),
                                          _neg(r.key)))


def _neg(key: Any) -> Any:
    return -key if isinstance(key, (int, float)) else key


def best_rule_votes(rules: Sequence[str], rule_votes: dict[str, tuple[int, int]]) -> tuple[int, int]:
    """The (up, down) votes of the hit's rule with the best smoothed precision."""
    candidates = [rule_votes.get(rule, (0, 0)) for rule in rules] or [(0, 0)]
    return max(candidates, key=lambda v: smoothed(*v))
