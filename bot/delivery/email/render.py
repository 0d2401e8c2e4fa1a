"""Turns a WeeklyDigest into text: the two Jinja2 templates (HTML with autoescape, plain
text without) and the MIME message around them.

Owns: the digest's data shapes, template rendering, the headers of the message.
Must not: query the database, open connections or decide who gets what
(that is `bot.delivery.email.weekly`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
import email.policy
from email.header import Header
from email.headerregistry import Address, BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

import jinja2
from babel.dates import format_date

TEMPLATES = Path(__file__).parent / "templates"
PRIORITY_LABEL = {"high": "high priority", "normal": "", "low": "low priority"}


@dataclass
class DigestEntry:
    """One story under one theme, shown through its representative item."""

    item_id: int
    title: str
    url: str | None
    source: str                      # display name of the representative item's source
    published: datetime | None       # aware, already in the digest's time zone
    countries: list[str]             # display names
    snippet: str
    why: list[str]                   # one line per rule explanation
    sources: list[str]               # display names of every source reporting the story
    score: float = 0.0
    also_in: list[str] = field(default_factory=list)   # titles of the story's other themes

    @property
    def also_in_label(self) -> str:
        return f"Also in {', '.join(self.also_in)}" if self.also_in else ""

    @property
    def date_label(self) -> str:
        return format_date(self.published, "EEE d MMM", locale="en") if self.published else ""

    @property
    def reported_by(self) -> str:
        """'Also reported by B, C' (the story's other sources), or '' for one source."""
        others = [s for s in self.sources if s != self.source]
        return f"Also reported by {', '.join(others)}" if others else ""


@dataclass
class ThemeSection:
    slug: str
    title: str
    priority: str
    entries: list[DigestEntry]
    stories: int                     # before the per-theme cap
    hits: int

    @property
    def hidden(self) -> int:
        return self.stories - len(self.entries)

    @property
    def priority_label(self) -> str:
        return PRIORITY_LABEL.get(self.priority, "")


@dataclass
class SummaryRow:
    slug: str
    title: str
    this_week: int
    average: float | None            # None: no earlier week has data yet
    scale: int                       # the largest value in the table, for bar widths

    def pct(self, value: float | None) -> int:
        if not value or not self.scale:
            return 0
        return max(2, round(100 * value / self.scale))

    @property
    def bar(self) -> int:
        return self.pct(self.this_week)

    @property
    def avg_bar(self) -> int:
        return self.pct(self.average)

    @property
    def average_label(self) -> str:
        return "–" if self.average is None else f"{self.average:.1f}".removesuffix(".0")

    @property
    def trend(self) -> str:
        if self.average is None:
            return ""
        if self.this_week > self.average * 1.25 and self.this_week - self.average >= 1:
            return "up"
        if self.this_week < self.average * 0.75 and self.average - self.this_week >= 1:
            return "down"
        return "steady"


@dataclass
class WeeklyDigest:
    list_name: str
    list_title: str
    week: str                        # 2026-W47
    first_day: date                  # Monday, local
    last_day: date                   # Sunday, local
    timezone: str
    sections: list[ThemeSection]
    summary: list[SummaryRow]
    weeks_averaged: int              # earlier weeks with data behind `average` (0..4)
    generated_at: datetime
    footer: list[str] = field(default_factory=list)

    @property
    def stories(self) -> int:
        return sum(s.stories for s in self.sections)

    @property
    def hits(self) -> int:
        return sum(s.hits for s in self.sections)

    @property
    def period(self) -> str:
        a, b = self.first_day, self.last_day
        if a.year != b.year:
            return f"{format_date(a, 'd MMM y', locale='en')} – {format_date(b, 'd MMM y', locale='en')}"
        if a.month != b.month:
            return f"{format_date(a, 'd MMM', locale='en')} – {format_date(b, 'd MMM y', locale='en')}"
        return f"{a.day}–{format_date(b, 'd MMM y', locale='en')}"

    @property
    def heading(self) -> str:
        """'Members: weekly digest 16–22 Nov 2026'; a title that says 'digest' already
        ('Coalition weekly digest') is not followed by a second one."""
        if "digest" in self.list_title.casefold():
            return f"{self.list_title}, {self.period}"
        return f"{self.list_title}: weekly digest {self.period}"

    @property
    def subject(self) -> str:
        n = self.stories
        return f"{self.heading} ({n} stor{'y' if n == 1 else 'ies'})"


def safe_url(url: str | None) -> str | None:
    """Only http(s) links reach an email; a feed can carry `javascript:` or `data:`."""
    if not url:
        return None
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=lambda name: name is not None and name.endswith(".html.j2"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters["safe_url"] = safe_url
    return env


_ENV = _environment()


def render(digest: WeeklyDigest) -> tuple[str, str]:
    """(html, text) of the digest."""
    html = _ENV.get_template("weekly.html.j2").render(d=digest)
    text = _ENV.get_template("weekly.txt.j2").render(d=digest)
    return html, text


def sender_address(email_from: str, fallback_name: str) -> Address:
    """EMAIL_FROM as `addr` or `Name <addr>`; without a name the list title is used."""
    name, addr = parseaddr(email_from)
    if "@" not in addr:
        raise ValueError("EMAIL_FROM is not an email address")
    local, _, domain = addr.rpartition("@")
    return Address(display_name=name or fallback_name, username=local, domain=domain)


if TYPE_CHECKING:
    # HeaderRegistry mixes BaseHeader (the header's `name`, `fold`) into a mapped class at
    # run time; typeshed declares UnstructuredHeader without it.
    class _RegistryHeader(UnstructuredHeader, BaseHeader): ...
else:
    _RegistryHeader = UnstructuredHeader


class _ListUnsubscribeHeader(_RegistryHeader):
    """`<mailto:...>, <https://...>` read literally by mail clients. The default folder
    RFC 2047-encodes any token longer than a line, which turns the URIs into garbage for
    them; fold between the URIs only (lines stay far below the 998-octet limit)."""

    def fold(self, *, policy: email.policy.Policy) -> str:
        uris = [u.strip() for u in str(self).split(",") if u.strip()]
        return f"{self.name}: " + ("," + policy.linesep + " ").join(uris) + policy.linesep


class _ListIdHeader(_RegistryHeader):
    """`phrase <list.domain>` (RFC 2919): only the phrase may be encoded, never the id."""

    def fold(self, *, policy: email.policy.Policy) -> str:
        phrase, _, ident = str(self).rpartition(" <")
        if phrase.isascii():
            phrase = '"' + phrase.replace("\\", "\\\\").replace('"', '\\"') + '"'
        else:
            phrase = Header(phrase, "utf-8").encode(linesep=policy.linesep)
        one_line = f"{self.name}: {phrase} <{ident}"
        if len(one_line) <= 78:
            return one_line + policy.linesep
        return f"{self.name}: {phrase}{policy.linesep} <{ident}{policy.linesep}"


_HEADERS = HeaderRegistry()
_HEADERS.map_to_type("list-unsubscribe", _ListUnsubscribeHeader)
_HEADERS.map_to_type("list-id", _ListIdHeader)
MESSAGE_POLICY = email.policy.default.clone(header_factory=_HEADERS)


def build_message(digest: WeeklyDigest, html: str, text: str, *, email_from: str, recipient: str,
                  now: datetime, unsubscribe_url: str | None = None, recipient_name: str = "") -> EmailMessage:
    """One multipart/alternative message (text first, HTML preferred) for one recipient
    (`recipient` the address, `recipient_name` its display name, if any)."""
    sender = sender_address(email_from, digest.list_title)
    msg = EmailMessage(policy=MESSAGE_POLICY)
    msg["Subject"] = digest.subject
    msg["From"] = sender
    msg["To"] = Address(display_name=recipient_name, addr_spec=recipient) if recipient_name else recipient
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=sender.domain)
    msg["List-Id"] = f"{digest.list_title} <{digest.list_name}.{sender.domain}>"
    # RFC 2369: a mailto: the coordinators read; RFC 8058 one-click only with an https URL.
    subject = quote(f"unsubscribe {digest.list_name} {recipient}")
    targets = [f"<mailto:{sender.addr_spec}?subject={subject}>"]
    if unsubscribe_url and urlsplit(unsubscribe_url).scheme == "https":
        targets.append(f"<{unsubscribe_url}>")
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["List-Unsubscribe"] = ", ".join(targets)
    # RFC 3834: no vacation auto-replies to a digest.
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg
