"""deliveries.yaml: Telegram chats and email lists, with their filters and schedules.

Loading reports every problem at once with its file:line:col, the filters' names too: a
theme must have its file in rules/ (a theme's slug is its file name; the rule engine is not
needed to know that), a region must be one of `bot.tagging.countries.REGIONS` (the names items are
tagged with and /subscribe offers), a language a code such as the rules' `languages:` take.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, PrivateAttr, field_validator

from bot.config.fields import Strict, language_problem
from bot.config.layout import RULES_DIR, theme_slugs
from bot.config.schedule import WEEKDAYS, Schedule, normalise, parse_schedule  # noqa: F401  (WEEKDAYS: re-exported)
from bot.config.settings import is_time_zone
from bot.config.yamlfile import display_path, format_loc, load_yaml, position, validate
from bot.errors import ConfigError, Problem

DELIVERIES_FILE = "deliveries.yaml"

AllOrList = Literal["all"] | tuple[str, ...]


def _check_tz(v: str | None) -> str | None:
    if v is not None and not is_time_zone(v):
        raise ValueError("unknown time zone (use a name such as Europe/Brussels)")
    return v


def _check_hhmm(v: str) -> str:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", v)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError("expected a time as HH:MM")
    return v


class Filters(Strict):
    themes: AllOrList = "all"
    regions: AllOrList = "all"
    languages: AllOrList = "all"

    @field_validator("regions")
    @classmethod
    def _regions(cls, v: AllOrList) -> AllOrList:
        """Region names in any case, as /subscribe takes them: `europe` is `Europe`."""
        if v == "all":
            return v
        from bot.tagging.countries import REGIONS

        spelled = {region.lower(): region for region in REGIONS}
        return tuple(spelled.get(name.lower(), name) for name in v)


class TelegramChat(Filters):
    chat: int | str
    name: str | None = None
    thread: int | None = None
    alerts: Literal["instant", "digest", "both"] = "digest"
    digest: str = "daily 08:00"
    timezone: str | None = None

    @field_validator("chat")
    @classmethod
    def _chat(cls, v: int | str) -> int | str:
        if isinstance(v, str):
            if re.fullmatch(r"-?\d+", v):
                return int(v)
            if not re.fullmatch(r"@[A-Za-z][A-Za-z0-9_]{3,}", v):
                raise ValueError("must be a numeric chat id or @channelname")
        return v

    _schedule: Schedule | None = PrivateAttr(default=None)

    @field_validator("digest")
    @classmethod
    def _digest(cls, v: str) -> str:
        parse_schedule(v)  # ValueError: the problem, with the key's place
        return normalise(v)

    def model_post_init(self, context: object) -> None:
        self._schedule = parse_schedule(self.digest)  # parsed once, at load

    @property
    def schedule(self) -> Schedule | None:
        """`digest` parsed; None for 'off'."""
        return self._schedule

    _tz = field_validator("timezone")(_check_tz)


def _check_duration(v: str) -> str:
    """A duration the daemon can parse (`180d`, `12w`); kept as written for `retention_of`."""
    from bot.config.durations import parse_duration

    try:
        parse_duration(v)
    except ValueError:
        raise ValueError("expected a duration such as 30m, 1h or 7d") from None
    return v


class Telegram(Strict):
    chats: tuple[TelegramChat, ...] = ()
    # an alert still unsent this long after it was queued (an outage) goes into the next
    # digest with a "delayed" note instead of out as a stale instant alert
    stale_after: str = "24h"

    _stale = field_validator("stale_after")(_check_duration)


def parse_recipient(text: str) -> tuple[str, str]:
    """`zoe@example.org` or `Zoë Ü <zoe@example.org>` (RFC 5322 name-addr, as mail clients
    copy it) -> (display name, address). Raises ValueError saying what is wrong."""
    from email.headerregistry import Address
    from email.utils import parseaddr

    text = text.strip()
    name, addr = parseaddr(text)
    bracketed = "<" in text or ">" in text
    if bracketed and not re.fullmatch(r"[^<>]*<[^<>]+>", text):
        raise ValueError(f"not an email address: {text!r} (write Name <address@example.org>)")
    if not bracketed and addr != text:
        addr = ""
    if not addr or not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", addr):
        raise ValueError(f"not an email address: {text!r}")
    try:
        Address(display_name=name, addr_spec=addr)
    except (ValueError, IndexError) as exc:
        raise ValueError(f"not an email address: {text!r} ({exc})") from None
    return name, addr


def _check_recipient(text: str) -> str:
    parse_recipient(text)
    return text


Recipient = Annotated[str, AfterValidator(_check_recipient)]   # checked one by one: placed at its line


class EmailList(Filters):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    to: tuple[Recipient, ...]
    title: str | None = None
    send_empty: bool = False       # also send a week in which nothing matched

    @field_validator("to")
    @classmethod
    def _addresses(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        seen: set[str] = set()
        for text in v:
            _name, addr = parse_recipient(text)
            if addr.lower() in seen:
                raise ValueError(f"{addr} is listed twice")
            seen.add(addr.lower())
        return v

    @property
    def recipients(self) -> list[tuple[str, str]]:
        """(display name, address) of every recipient, as written."""
        return [parse_recipient(text) for text in self.to]


class Weekly(Strict):
    day: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = "monday"
    time: str = "08:00"
    timezone: str | None = None
    lists: tuple[EmailList, ...] = ()

    _time = field_validator("time")(_check_hhmm)
    _tz = field_validator("timezone")(_check_tz)


class Email(Strict):
    weekly: Weekly = Weekly()


class Storage(Strict):
    retention: str = "180d"

    _retention = field_validator("retention")(_check_duration)


class DeliveriesFile(Strict):
    timezone: str = "UTC"
    telegram: Telegram = Telegram()
    email: Email = Email()
    storage: Storage = Storage()

    _tz = field_validator("timezone")(_check_tz)


def load_deliveries(config_dir: Path) -> DeliveriesFile:
    """A missing deliveries.yaml means: nobody is configured yet (console output only)."""
    path = config_dir / DELIVERIES_FILE
    if not path.exists():
        return DeliveriesFile()
    shown = display_path(path, config_dir)
    data = load_yaml(path, shown)
    problems: list[Problem] = []
    parsed: DeliveriesFile | None = None
    try:
        parsed = validate(DeliveriesFile, data, shown)
    except ConfigError as exc:
        problems.extend(exc.problems)
    # On the YAML data itself, so the names are checked even when something else is wrong.
    problems.extend(filter_problems(data, shown, theme_slugs(config_dir)))
    if problems or parsed is None:
        raise ConfigError(sorted(problems, key=lambda p: p.line or 0))  # stable: by line, then as found
    return parsed


def filter_problems(data: object, shown: str, themes: set[str]) -> list[Problem]:
    """Unknown themes, regions and languages in the `themes:`, `regions:` and `languages:`
    lists of every chat and email list, each at its item's file:line:col."""
    from bot.tagging.countries import REGIONS

    problems: list[Problem] = []

    def entries(*loc: str) -> list[tuple[tuple[str | int, ...], dict]]:
        node: object = data
        for key in loc:
            node = node.get(key) if isinstance(node, dict) else None
        items = node if isinstance(node, list) else []
        return [((*loc, i), entry) for i, entry in enumerate(items) if isinstance(entry, dict)]

    def problem(name: str, known: set[str] | tuple[str, ...], what: str) -> str | None:
        if what == "themes":
            if name in known:
                return None
            close = difflib.get_close_matches(name, sorted(known), n=1)
            return (f"unknown theme {name!r}: there is no {RULES_DIR}/{name}.yaml"
                    + (f" (did you mean {close[0]!r}?)" if close else ""))
        if what == "regions":  # any case (Filters._regions spells them)
            return None if name.lower() in {r.lower() for r in known} else \
                f"unknown region {name!r} (use {', '.join(known)})"
        return language_problem(name)

    for base, entry in entries("telegram", "chats") + entries("email", "weekly", "lists"):
        for what, known in (("themes", themes), ("regions", REGIONS), ("languages", ())):
            values = entry.get(what)
            if not isinstance(values, list):
                continue  # `all`, or a wrong type the schema reports
            for j, name in enumerate(values):
                if isinstance(name, str) and (why := problem(name, known, what)):
                    loc = (*base, what, j)
                    line, col = position(data, loc)
                    problems.append(Problem(shown, line, col, f"{format_loc(loc)}: {why}"))
    return problems
