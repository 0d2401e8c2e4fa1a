"""Due digests: which destinations' digests are due, and sending one digest in its parts.

Owns: which digests are due, building a destination's digest from its queued rows
(entries ranked with the members' votes per rule, read once per RULE_CACHE), sending the
parts in order, marking the digest done, and when an interrupted digest may be tried again.
Must not: claim, send or mark a row itself (the `send` it is given does, through the
sender), decide a schedule (bot.delivery.telegram.digest.is_due) or lay out messages
(bot.delivery.telegram.format).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Awaitable, Callable, Mapping

from sqlalchemy import Connection, Engine

from bot.delivery import destinations, outbox
from bot.delivery.telegram.answers import Outcome, backoff_delay
from bot.delivery.telegram.digest import is_due, load_entries, rank_entries, resolve_tz
from bot.delivery.telegram.flood import FloodLimiter
from bot.delivery.telegram.format import Message, render_digest

if TYPE_CHECKING:
    from bot.delivery.destinations import Destination

RULE_CACHE = timedelta(minutes=10)

# Send one message for these rows, having tried them this many times: what became of it.
SendPart = Callable[["Destination", Message, list[int], int], Awaitable[Outcome]]


class DigestPass:
    """The sender's digests: kept for its lifetime, so the rule votes' cache outlives a pass."""

    def __init__(self, engine: Engine, send: SendPart, *, limiter: FloodLimiter, clock: Callable[[], datetime],
                 titles: Mapping[str, str], source_names: Mapping[str, str], weights: Mapping[str, float],
                 default_tz: str | None, per_theme: int, max_backoff: float):
        self.engine, self.send, self.limiter, self.clock = engine, send, limiter, clock
        self.titles, self.source_names, self.weights = titles, source_names, weights
        self.default_tz, self.per_theme, self.max_backoff = default_tz, per_theme, max_backoff
        self.retry_at: datetime | None = None      # when an interrupted digest can be tried again
        self._rule_votes: tuple[datetime, dict[str, tuple[int, int]]] | None = None

    def _rule_feedback(self, conn: Connection) -> dict[str, tuple[int, int]]:
        """Votes per rule, read once per RULE_CACHE of clock time: a pass of many digests
        scans the hits once, and a vote cast meanwhile moves a rule by one vote at most."""
        from bot.stories.feedback import rule_votes
        from bot.stories.ranking import RULE_VOTES_WINDOW

        now = self.clock()
        if self._rule_votes is None or not timedelta(0) <= now - self._rule_votes[0] < RULE_CACHE:
            self._rule_votes = (now, rule_votes(conn, now - RULE_VOTES_WINDOW))
        return self._rule_votes[1]

    def due(self) -> list[int]:
        """The destinations whose digest is due now."""
        now = self.clock()
        with self.engine.connect() as conn:
            dests = destinations.digest_destinations(conn)
        return [dest.id for dest in dests if is_due(dest, now, self.default_tz)]

    async def send_digest(self, dest_id: int, *, since: datetime | None = None) -> int:
        """Send the queued digest of one destination now. Returns messages sent."""
        with self.engine.begin() as conn:
            dest = destinations.get_destination(conn, dest_id)
            rows = outbox.queued_digest_rows(conn, dest_id, since)
            entries = load_entries(conn, [(r.id, r.hit_id) for r in rows], self.source_names,
                                   destination_id=dest_id)
            rank_entries(conn, entries, self.clock(), weights=self.weights,
                         rule_feedback=self._rule_feedback(conn))
        tz = resolve_tz(dest.timezone, self.default_tz)
        parts = render_digest(entries, self.titles, per_theme=self.per_theme, tz=tz,
                              heading=f"Digest · {self.clock().astimezone(tz):%d %b %Y}")
        attempts = {r.id: r.attempts for r in rows}
        sent = 0
        complete = True
        for part in parts:
            tries = max((attempts.get(i, 0) for i in part.delivery_ids), default=0)
            outcome = await self.send(dest, part, part.delivery_ids, tries)
            if outcome == "sent":
                sent += 1
            elif outcome != "failed":
                # retry later: the rest stays queued and the digest stays due
                complete = False
                retry = datetime.fromtimestamp(self.limiter.ready_at(dest.chat_id, self.clock().timestamp()),
                                               timezone.utc)
                if outcome == "retry":
                    retry = max(retry, self.clock() + timedelta(seconds=backoff_delay(tries + 1, self.max_backoff)))
                self.retry_at = retry if self.retry_at is None else min(self.retry_at, retry)
                break
        if complete:
            with self.engine.begin() as conn:
                destinations.mark_digest_sent(conn, dest_id, self.clock())
        return sent


__all__ = ["DigestPass", "RULE_CACHE", "SendPart"]
