"""deliveries.yaml: Telegram chats and email lists, with their filters and schedules."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from bot.config.fields import Strict
from bot.config.settings import is_time_zone
from bot.config.yamlfile import display_path, load_yaml, validate

DELIVERIES_FILE = "deliveries.yaml"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DIGEST = re.compile(r"^(off|daily (\d{1,2}):(\d{2})|weekly (" + "|".join(WEEKDAYS) + r") (\d{1,2}):(\d{2}))$")

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

    @field_validator("digest")
    @classmethod
    def _digest(cls, v: str) -> str:
        v = " ".join(v.lower().split())
        m = _DIGEST.match(v)
        if not m:
            raise ValueError("expected 'daily HH:MM', 'weekly monday HH:MM' or 'off'")
        hh, mm = (m.group(2), m.group(3)) if m.group(2) else (m.group(5), m.group(6))
        if hh is not None:
            _check_hhmm(f"{hh}:{mm}")
        return v

    _tz = field_validator("timezone")(_check_tz)


class Telegram(Strict):
    chats: tuple[TelegramChat, ...] = ()


class EmailList(Filters):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    to: tuple[str, ...]
    title: str | None = None

    @field_validator("to")
    @classmethod
    def _addresses(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for addr in v:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", addr):
                raise ValueError(f"not an email address: {addr!r}")
        return v


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
    return validate(DeliveriesFile, load_yaml(path, shown), shown)
