"""The item shape shared by parsing, matching and storage. Pure data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, Sequence


class Matchable(Protocol):
    """What the rule engine needs of an item; storage rows and `Item` both fit."""

    # read-only (properties): an `Item`'s list of tags fits a Sequence only if nothing writes it
    @property
    def title(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def language(self) -> str | None: ...
    @property
    def source_id(self) -> str: ...
    @property
    def tags(self) -> Sequence[str]: ...


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
