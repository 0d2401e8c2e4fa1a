"""The sender's flood limits checked on what the fake Bot API recorded, for the delivery tests
that drive the real client through it (several test files share this check)."""

from __future__ import annotations

from collections import defaultdict

from bot.delivery.telegram.flood import FloodLimits
from support.fakebotapi import FakeBotAPI, chat_type


def check_flood_limits(server: FakeBotAPI, limits: FloodLimits, accepted_only: bool = False) -> None:
    """Every sendMessage attempt the server saw, refused or not, against the limits (or only
    the accepted ones, which is what Telegram counts: a restarted sender knows when its
    messages went out, not when its refused attempts did)."""
    per_chat: dict[str, list[float]] = defaultdict(list)
    every = []
    for call in server.calls:
        if call.method == "sendMessage" and (call.status == 200 or not accepted_only):
            per_chat[str(call.params["chat_id"])].append(call.ts)
            every.append(call.ts)
    eps = 1e-6
    for chat, ts in per_chat.items():
        for a, b in zip(ts, ts[1:]):
            assert b - a >= limits.per_chat - eps, f"two messages into {chat} within {b - a:.3f}s"
        if chat_type(chat) != "private":
            for a, b in zip(ts, ts[limits.group_max:]):
                assert b - a >= limits.group_window - eps, f"more than {limits.group_max}/min into {chat}"
    every.sort()
    for a, b in zip(every, every[limits.global_max:]):
        assert b - a >= limits.global_window - eps, "more than 30 messages in one second overall"
