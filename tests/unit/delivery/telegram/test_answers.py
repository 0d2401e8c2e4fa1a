"""The error policy: each of Telegram's typed errors gets its verdict, with no server and no
database (the integration tests in tests/integration/delivery/telegram/test_sender.py drive the
same answers through the fake Bot API and check what the sender did with the rows)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from telegram.error import (BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter,
                            TelegramError, TimedOut)

from bot.delivery.telegram.answers import Verdict, backoff_delay, judge
from bot.delivery.telegram.flood import MAX_FLOOD_WAIT


def test_a_flood_wait_requeues_after_telegrams_wait_without_counting_the_attempt() -> None:
    assert judge(RetryAfter(timedelta(seconds=7)), 3, 600.0) == Verdict("flood", retry_in=7.0, count_attempt=False)
    # an absurd retry_after is read within bounds
    assert judge(RetryAfter(timedelta(days=10**6)), 1, 600.0).retry_in == MAX_FLOOD_WAIT


def test_a_migrated_chat_is_followed_at_once() -> None:
    verdict = judge(ChatMigrated(-1004001), 1, 600.0)
    assert verdict == Verdict("moved", count_attempt=False, new_chat="-1004001")


@pytest.mark.parametrize("message,reason", [
    ("Forbidden: bot was blocked by the user", "Forbidden: bot was blocked by the user"),
    ("bot was kicked from the group chat", "Forbidden: bot was kicked from the group chat"),
])
def test_forbidden_stops_the_destination_with_a_readable_reason(message: str, reason: str) -> None:
    assert judge(Forbidden(message), 1, 600.0) == Verdict("gone", error=reason)


def test_a_rejected_token_requeues_and_is_fatal() -> None:
    verdict = judge(InvalidToken(), 5, 600.0)
    assert verdict.fatal and verdict.outcome == "retry" and verdict.retry_in == 0.0
    assert not verdict.count_attempt


def test_a_bad_request_fails_the_message_for_good() -> None:
    # BadRequest is a NetworkError in python-telegram-bot: it must not be read as temporary
    assert issubclass(BadRequest, NetworkError)
    verdict = judge(BadRequest("Can't parse entities"), 1, 600.0)
    assert verdict == Verdict("failed", error="BadRequest: Can't parse entities", told="Can't parse entities")


@pytest.mark.parametrize("exc", [NetworkError("Bad Gateway"), TimedOut(), TelegramError("odd"), OSError("reset")])
def test_anything_else_is_temporary_with_backoff(exc: Exception) -> None:
    verdict = judge(exc, 3, 600.0)
    assert verdict.outcome == "retry" and not verdict.fatal and verdict.count_attempt
    assert verdict.retry_in == 8.0 and verdict.error.startswith(type(exc).__name__ + ": ")


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [backoff_delay(n, 600.0) for n in (1, 2, 5, 9, 10, 400)] == [2.0, 4.0, 32.0, 512.0, 600.0, 600.0]
