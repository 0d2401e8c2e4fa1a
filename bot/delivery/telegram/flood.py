"""Telegram's flood limits, kept by the sender itself: about 30 messages a second overall,
20 a minute into one group or channel, 1 a second into one chat (`FloodLimits`,
`FloodLimiter`), and a server's `retry_after` read within bounds (`flood_wait_seconds`).
Pure: times are passed in."""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class FloodLimits:
    """Telegram's published limits (FAQ "broadcasting to users")."""

    per_chat: float = 1.0          # seconds between messages into one chat
    group_window: float = 60.0
    group_max: int = 20            # messages per window into one group or channel
    global_window: float = 1.0
    global_max: int = 30


def is_private(chat_id: str) -> bool:
    return chat_id.isdigit()


class FloodLimiter:
    """Sliding windows over send times (seconds); every attempt counts, even refused ones."""

    def __init__(self, limits: FloodLimits = FloodLimits()):
        self.limits = limits
        self.chat_times: dict[str, deque[float]] = defaultdict(deque)
        self.all_times: deque[float] = deque()
        self.paused: dict[str, float] = {}

    def ready_at(self, chat: str, now: float) -> float:
        lim, times = self.limits, self.chat_times[chat]
        t = max(now, self.paused.get(chat, 0.0))
        if times:
            t = max(t, times[-1] + lim.per_chat)
            if not is_private(chat) and len(times) >= lim.group_max:
                t = max(t, times[-lim.group_max] + lim.group_window)
        if len(self.all_times) >= lim.global_max:
            t = max(t, self.all_times[-lim.global_max] + lim.global_window)
        return t

    def record(self, chat: str, t: float) -> None:
        times = self.chat_times[chat]
        times.append(t)
        while len(times) > self.limits.group_max:
            times.popleft()
        self.all_times.append(t)
        while len(self.all_times) > self.limits.global_max:
            self.all_times.popleft()

    def answered(self, chat: str, sent_at: float, answered_at: float) -> None:
        """A send recorded at `sent_at` was answered at `answered_at`: Telegram counted it
        somewhere in between, so count it at the answer. The next message into the chat then
        leaves a full second after Telegram saw this one, however long the request took."""
        if answered_at <= sent_at:
            return
        for times in (self.chat_times[chat], self.all_times):
            for i in range(len(times) - 1, -1, -1):
                if times[i] == sent_at:
                    times[i] = answered_at
                    if i < len(times) - 1 and times[i + 1] < answered_at:
                        ordered = sorted(times)
                        times.clear()
                        times.extend(ordered)
                    break

    def pause(self, chat: str, until: float) -> None:
        self.paused[chat] = max(self.paused.get(chat, 0.0), until)


# Telegram asks for seconds to minutes. A larger retry_after is a bug or a hostile API
# (10**12 s overflowed the datetime of the retry): wait an hour and ask again.
MAX_FLOOD_WAIT = 3600.0


def flood_wait_seconds(value: timedelta | float | str) -> float:
    """Telegram's retry_after (seconds, or a timedelta with PTB_TIMEDELTA) within
    [0, MAX_FLOOD_WAIT]; anything unreadable counts as the maximum."""
    try:
        seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    except (TypeError, ValueError, OverflowError):
        return MAX_FLOOD_WAIT
    if seconds != seconds:  # NaN
        return MAX_FLOOD_WAIT
    return min(max(seconds, 0.0), MAX_FLOOD_WAIT)
