"""Telegram messages in HTML parse mode: one alert, or a digest split into parts.

Owns: escaping, layout, and the length rule. Pure: takes `Entry` values (built from the
database by bot.delivery.telegram.digest), returns `Message`s; no I/O, no database, no Telegram.

Every string from a feed is HTML-unescaped first (feeds often carry `&amp;` or `&#8217;`
literally) and then escaped, so `<`, `>` and `&` always reach Telegram as entities.
Telegram limits a message to 4096 characters *after entity parsing*, counted in UTF-16
code units (an emoji outside the BMP counts 2): `tg_len` counts exactly that, and digests
are split between items, never inside one.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from typing import Iterable, Mapping, Sequence

MAX_LEN = 4096
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
PRIORITY_ORDER = {"high": 0, "normal": 1, "low": 2}
PRIORITY_MARK = {"high": "🔴 ", "normal": "", "low": ""}


@dataclass
class Entry:
    """One hit as shown to a reader; `delivery_ids` are the outbox rows it stands for."""

    hit_id: int
    item_id: int
    story_id: int | None
    theme: str
    priority: str
    title: str
    url: str | None
    source: str
    published: datetime | None
    countries: Sequence[str] = ()
    summary: str = ""
    explanations: Sequence[Mapping] = ()
    rules: Sequence[str] = ()
    also: Sequence[str] = ()          # other sources that reported the same story
    delivery_ids: list[int] = field(default_factory=list)
    source_ids: Sequence[str] = ()    # ids of every source of the story, its own first
    score: float = 0.0                # bot.stories.ranking score (digest.rank_entries); orders a theme
    update: str | None = None         # story already alerted to this chat: what is new ("+2 outlets")
    note: str = ""                    # "delayed: ..." when an alert could not go out in time


@dataclass
class Message:
    html: str
    delivery_ids: list[int] = field(default_factory=list)
    disable_preview: bool = False
    buttons: list[tuple[str, str]] = field(default_factory=list)   # (label, callback_data), one row

    @property
    def length(self) -> int:
        return tg_len(self.html)


def visible(markup: str) -> str:
    """The text Telegram shows for our own markup (tags dropped, entities decoded)."""
    return html.unescape(_TAG.sub("", markup))


def tg_len(markup: str) -> int:
    """Length as Telegram counts it: UTF-16 code units of the text after entity parsing."""
    return len(visible(markup).encode("utf-16-le")) // 2


def esc(text: str | None) -> str:
    """A feed string, decoded from HTML then escaped for HTML parse mode."""
    return html.escape(html.unescape(text or ""), quote=False)


def h(text: str) -> str:
    """Escape text that is already decoded (see `clip`)."""
    return html.escape(text, quote=False)


def esc_attr(text: str) -> str:
    return html.escape(html.unescape(text), quote=True)


def clip(text: str | None, limit: int) -> str:
    """A feed string decoded from HTML, whitespace collapsed, cut at a word boundary with an
    ellipsis. The result is plain text: pass it through `h` before it goes into markup."""
    s = _SPACE.sub(" ", html.unescape(text or "")).strip()
    if len(s) <= limit:
        return s
    cut = s[: limit - 1]
    if " " in cut[limit // 2:]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,.;:") + "…"


def link(title: str, url: str | None) -> str:
    shown = html.escape(title, quote=False)
    if url and url.lower().startswith(("http://", "https://")):
        return f'<a href="{esc_attr(url)}">{shown}</a>'
    return shown


def fmt_date(when: datetime | None, tz: tzinfo = timezone.utc) -> str:
    if when is None:
        return ""
    return when.astimezone(tz).strftime("%d %b %Y %H:%M").lstrip("0")


def why(entry: Entry, limit: int = 2) -> str:
    described = (e.get("description") or e.get("rule") for e in entry.explanations if isinstance(e, Mapping))
    parts: list[str] = [p for p in described if p][:limit] or list(entry.rules)[:limit]
    return "; ".join(parts)


def snippet(entry: Entry, limit: int = 220) -> str:
    for e in entry.explanations:
        if isinstance(e, Mapping) and e.get("snippet"):
            return clip(e["snippet"], limit)
    return clip(entry.summary, limit)


def render_alert(entry: Entry, theme_title: str, tz: tzinfo = timezone.utc) -> Message:
    """Theme, title as a link, source and date, countries, a short snippet, why it matched."""
    mark = PRIORITY_MARK.get(entry.priority, "")
    lines = [f"{mark}<b>{h(clip(theme_title, 100))}</b>",
             link(clip(entry.title, 300), entry.url)]
    meta = [h(clip(entry.source, 80)), fmt_date(entry.published, tz)]
    if entry.countries:
        meta.append("🌍 " + h(clip(", ".join(entry.countries), 200)))
    lines.append(" · ".join(m for m in meta if m))
    also = [a for a in entry.also if a != entry.source]
    if also:
        lines.append("Also reported by " + h(also_line(also)))
    snip = snippet(entry)
    if snip:
        lines.append(html.escape(snip, quote=False))
    reason = why(entry)
    if reason:
        lines.append(f"<i>Why: {h(clip(reason, 300))}</i>")
    if entry.note:
        lines.append(f"<i>⏳ {h(clip(entry.note, 300))}</i>")
    return Message("\n".join(lines), list(entry.delivery_ids), disable_preview=False)


def _merge(entries: Iterable[Entry], titles: Mapping[str, str]) -> list[tuple[Entry, list[str]]]:
    """One line per story: the same story from several items or themes shows once, under
    its most urgent theme, with the rest of its themes named. Within a theme the higher
    `score` comes first (bot.stories.ranking), then the older hit."""
    by_key: dict[str, tuple[Entry, list[str]]] = {}
    ordered = sorted(entries, key=lambda e: (PRIORITY_ORDER.get(e.priority, 9),
                                              titles.get(e.theme, e.theme).lower(), -e.score, e.hit_id))
    for e in ordered:
        key = f"s{e.story_id}" if e.story_id is not None else f"i{e.item_id}"
        if key not in by_key:
            by_key[key] = (Entry(**{**e.__dict__, "delivery_ids": list(e.delivery_ids),
                                    "also": list(e.also), "source_ids": list(e.source_ids)}), [])
            continue
        kept, themes = by_key[key]
        kept.delivery_ids.extend(e.delivery_ids)
        if e.theme != kept.theme and e.theme not in themes:
            themes.append(e.theme)
        if e.source != kept.source and e.source not in kept.also:
            kept.also = list(kept.also) + [e.source]
    return list(by_key.values())


def digest_line(entry: Entry, other_themes: Sequence[str], titles: Mapping[str, str],
                tz: tzinfo = timezone.utc) -> str:
    meta = [h(clip(entry.source, 60))]
    if entry.published:
        meta.append(entry.published.astimezone(tz).strftime("%d %b").lstrip("0"))
    if entry.countries:
        meta.append(h(clip(", ".join(entry.countries), 120)))
    line = f"• {link(clip(entry.title, 250), entry.url)} — " + ", ".join(meta)
    if entry.update is not None:
        line = "• <b>Update" + (f" ({h(entry.update)})" if entry.update else "") + ":</b> " + line[2:]
    also = [a for a in entry.also if a != entry.source]
    if also:
        line += f" · <i>also reported by {h(also_line(also))}</i>"
    if other_themes:
        line += " · also in " + esc(", ".join(titles.get(t, t) for t in other_themes))
    if entry.note:
        line += f" · <i>{h(clip(entry.note, 200))}</i>"
    return line


def also_line(names: Sequence[str], shown: int = 3) -> str:
    """'A, B, C (+2)': the first outlets by name, the rest counted."""
    line = clip(", ".join(names[:shown]), 150)
    return line + (f" (+{len(names) - shown})" if len(names) > shown else "")


def render_digest(entries: Sequence[Entry], titles: Mapping[str, str], *, heading: str = "Digest",
                  per_theme: int = 8, tz: tzinfo = timezone.utc, limit: int = MAX_LEN) -> list[Message]:
    """Hits grouped by theme (high priority first), best `score` first within a theme, at
    most `per_theme` lines per theme and a '+K more' line, split into messages of at most
    `limit` Telegram characters."""
    if not entries:
        return []
    merged = _merge(entries, titles)
    groups: dict[str, list[tuple[Entry, list[str]]]] = {}
    for entry, others in merged:
        groups.setdefault(entry.theme, []).append((entry, others))
    # blocks: (theme or None, html, delivery ids)
    blocks: list[tuple[str | None, str, list[int]]] = [
        (None, f"<b>📰 {h(clip(heading, 200))}</b> — {len(merged)} "
               f"{'story' if len(merged) == 1 else 'stories'}", [])]
    for theme, rows in groups.items():
        prio = rows[0][0].priority
        blocks.append((theme, f"\n{PRIORITY_MARK.get(prio, '')}<b>{esc(titles.get(theme, theme))}</b> ({len(rows)})", []))
        for entry, others in rows[:per_theme]:
            blocks.append((theme, digest_line(entry, others, titles, tz), entry.delivery_ids))
        rest = rows[per_theme:]
        if rest:
            ids = [i for e, _ in rest for i in e.delivery_ids]
            blocks.append((theme, f"<i>+{len(rest)} more</i>", ids))
    return _pack(blocks, titles, limit)


def _pack(blocks: list[tuple[str | None, str, list[int]]], titles: Mapping[str, str],
          limit: int) -> list[Message]:
    messages: list[Message] = []
    lines: list[str] = []
    ids: list[int] = []
    used = 0
    current_theme: str | None = None
    for theme, block, block_ids in blocks:
        cost = tg_len(block) + (1 if lines else 0)
        if lines and used + cost > limit:
            messages.append(Message("\n".join(lines), ids, disable_preview=True))
            lines, ids, used = [], [], 0
            if theme is not None and theme == current_theme and not block.startswith("\n"):
                cont = f"<b>{esc(titles.get(theme, theme))}</b> (continued)"
                lines.append(cont)
                used = tg_len(cont)
            if not lines:
                block = block.lstrip("\n")
            cost = tg_len(block) + (1 if lines else 0)
        lines.append(block)
        ids.extend(block_ids)
        used += cost
        current_theme = theme
    if lines:
        messages.append(Message("\n".join(lines), ids, disable_preview=True))
    return messages
