"""The item shape shared by parsing, matching and storage. Pure data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, Sequence


class Matchable(Protocol):
    """What the rule engine needs of an item; storage rows and `Item` both fit."""

    title: str
    summary: str
    text: str
    language: str | None
    source_id: str

    @property
    def tags(self) -> Sequence[str]:  # read-only here, so Item's list[str] fits
        ...


@dataclass
class Item:
    """One clean news item: plain text fields, canonical URL, UTC dates."""

    source_id: str
    guid: str
    url: str | None
    title: str
    summary: str = ""
    text: str = ""
    author: str | None = None
    categories: list[str] = field(default_factory=list)
    language: str | None = None
    published: datetime | None = None  # aware, UTC
    tags: list[str] = field(default_factory=list)
