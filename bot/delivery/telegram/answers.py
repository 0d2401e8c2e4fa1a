"""The error policy: what each of Telegram's answers to a send means for the rows, the chat
and the destination, read from python-telegram-bot's typed errors.

Owns: the verdict per error (flood wait, chat migrated, bot blocked, token rejected,
message refused, temporary failure) and the retry backoff. Pure: `judge` returns a
`Verdict`; the sender applies it (rows through bot.delivery.outbox, the destination
through bot.delivery.destinations). Must not touch the database, sleep or send.

Only a permanent answer fails a delivery: 403 (the destination stops) or a 400 that is not a
migration. Everything else is retried, a temporary failure forever with capped backoff (an
alert that stays queued too long moves into the digest: outbox.demote_stale_alerts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter, TelegramError

from bot.delivery.telegram.flood import flood_wait_seconds

# What became of one message: sent; failed (refused for good, recorded; the chat goes on);
# retry (later, backoff or another sender took the rows); flood (Telegram's wait); gone (the
# destination stopped); moved (the chat became a supergroup, its rows follow it).
Outcome = Literal["sent", "failed", "retry", "flood", "gone", "moved"]


@dataclass(frozen=True)
class Verdict:
    """What a refused send does. flood, moved and retry requeue the rows `retry_in` seconds
    after the attempt; failed marks them failed; gone stops the destination."""

    outcome: Outcome
    retry_in: float = 0.0
    count_attempt: bool = True       # False: Telegram's pacing or ours, not this message's failure
    error: str = ""                  # on the rows (failed, retry) or the destination (gone)
    told: str = ""                   # failed: Telegram's own words, for the log
    new_chat: str = ""               # moved: the supergroup's chat id
    fatal: bool = False              # the token was rejected: requeue, then stop sending


def backoff_delay(attempt: int, max_backoff: float) -> float:
    """Seconds before retry number `attempt` of a temporary failure: doubling, capped."""
    return min(max_backoff, 2.0 ** min(attempt, 30))


def judge(exc: TelegramError | OSError, attempt: int, max_backoff: float) -> Verdict:
    """The verdict on a send that raised `exc`; `attempt` counts this try (1 for the first)."""
    if isinstance(exc, RetryAfter):
        return Verdict("flood", retry_in=flood_wait_seconds(exc.retry_after), count_attempt=False)
    if isinstance(exc, ChatMigrated):
        return Verdict("moved", count_attempt=False, new_chat=str(exc.new_chat_id))
    if isinstance(exc, Forbidden):
        reason = exc.message if exc.message.startswith("Forbidden") else f"Forbidden: {exc.message}"
        return Verdict("gone", error=reason)
    if isinstance(exc, InvalidToken):
        return Verdict("retry", count_attempt=False, fatal=True)
    if isinstance(exc, BadRequest):
        return Verdict("failed", error=f"BadRequest: {exc.message}", told=exc.message)
    # NetworkError (timeouts, 5xx), any other TelegramError, OSError: temporary
    return Verdict("retry", retry_in=backoff_delay(attempt, max_backoff), error=f"{type(exc).__name__}: {exc}")


__all__ = ["Outcome", "Verdict", "backoff_delay", "judge"]
