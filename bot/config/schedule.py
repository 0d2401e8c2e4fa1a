"""The digest schedule of a chat: `daily HH:MM`, `weekly DAY HH:MM` or `off`.

Owns its grammar, the one parser of that text (deliveries.yaml's `digest:` is parsed here once,
at load; the text stored in `destinations.digest` is read back with `read_schedule`) and the
weekday names. Must not: compute slots in a time zone (`bot.delivery.telegram.digest.last_scheduled`,
`bot.runtime.due.next_slot` do, from a parsed `Schedule`), nor do I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SPEC = re.compile(r"^(off|daily (\d{1,2}):(\d{2})|weekly (" + "|".join(WEEKDAYS) + r") (\d{1,2}):(\d{2}))$")
SYNTAX = "expected 'daily HH:MM', 'weekly monday HH:MM' or 'off'"


@dataclass(frozen=True)
class Schedule:
    """When a digest goes out, in the chat's time zone: every day, or on one weekday."""

    weekday: int | None  # 0 is Monday (date.weekday()); None: every day
    hour: int
    minute: int

    @property
    def cron_day(self) -> str:
        """APScheduler's day_of_week: `*` or the day's first three letters."""
        return "*" if self.weekday is None else WEEKDAYS[self.weekday][:3]

    def __str__(self) -> str:
        at = f"{self.hour:02d}:{self.minute:02d}"
        return f"daily {at}" if self.weekday is None else f"weekly {WEEKDAYS[self.weekday]} {at}"


def normalise(text: str) -> str:
    """Lower case, single spaces: the spelling stored and shown."""
    return " ".join(text.lower().split())


def parse_schedule(text: str | None) -> Schedule | None:
    """The schedule `text` names; None for `off` (or no text). ValueError saying what is wrong."""
    m = _SPEC.match(normalise(text or "off"))
    if not m:
        raise ValueError(SYNTAX)
    if m[1] == "off":
        return None
    hh, mm = (m[2], m[3]) if m[2] is not None else (m[5], m[6])
    if int(hh) > 23 or int(mm) > 59:
        raise ValueError("expected a time as HH:MM")
    return Schedule(None if m[4] is None else WEEKDAYS.index(m[4]), int(hh), int(mm))


def read_schedule(text: str | None) -> Schedule | None:
    """A stored schedule: None for `off` and for text that does not parse (such a chat gets no
    digest; deliveries.yaml and /settings only ever store text that parses)."""
    try:
        return parse_schedule(text)
    except ValueError:
        return None
