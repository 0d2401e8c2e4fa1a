"""What the Telegram bot's coordinator tools say: feedback votes from the alert buttons,
`/search`, the rule-precision part of `/health`, and `/report` (and the weekly report) cut
into messages Telegram accepts.

Owns the reply texts (HTML, every stored string escaped) and their length rule: a reply is
packed line by line so it never passes 4096 UTF-16 code units after entity parsing
(`format.tg_len`), with a "… and N more" line instead of a cut inside a tag.
Must not: talk to Telegram (the command modules of bot.chat do), print, or decide what matches.
"""

from __future__ import annotations

import html
import logging
import textwrap
from datetime import datetime, timedelta
from typing import Iterable, Mapping, Sequence

from sqlalchemy import Engine

from bot.stories import feedback
from bot.delivery.telegram.format import MAX_LEN, clip, h, link, tg_len

log = logging.getLogger(__name__)

SEARCH_SINCE = timedelta(days=30)
SEARCH_LIMIT = 10
PRECISION_SINCE = timedelta(days=30)
SEARCH_USAGE = ('/search QUERY — the rule language, e.g. <code>pushback AND (Greece OR Evros)</code>, '
                '<code>"search and rescue"</code>, <code>detention NOT football</code>')


# --- length ------------------------------------------------------------------------------

def fit(lines: Sequence[str], limit: int = MAX_LEN, *, keep: int = 1) -> str:
    """Join whole lines while the text stays within `limit` Telegram characters; the first
    `keep` lines always stay, and the lines that did not fit are counted on a last line."""
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        cost = tg_len(line) + (1 if out else 0)
        # room for the "more" line is kept whenever lines follow, so it always fits
        reserve = tg_len(f"… and {len(lines)} more") + 1 if i + 1 < len(lines) else 0
        if i >= keep and used + cost + reserve > limit:
            out.append(f"<i>… and {len(lines) - i} more</i>")
            break
        out.append(line)
        used += cost
    return "\n".join(out)


def split_plain(text: str, limit: int = MAX_LEN) -> list[str]:
    """Plain text (no parse mode) in messages of at most `limit` UTF-16 code units, cut
    between lines (a line longer than that is cut by itself)."""
    def units(s: str) -> int:
        return len(s.encode("utf-16-le")) // 2

    lines: list[str] = []
    for line in text.rstrip("\n").split("\n"):
        # a long list on one line (sources without hits) wraps between words; half the
        # limit in characters is safe whatever their UTF-16 width
        lines.extend(textwrap.wrap(line, limit // 2, subsequent_indent="  ") if units(line) > limit else [line])
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for line in lines:
        cost = units(line) + (1 if current else 0)
        if current and used + cost > limit:
            parts.append("\n".join(current))
            current, used, cost = [], 0, units(line)
        current.append(line)
        used += cost
    if current and "\n".join(current).strip():
        parts.append("\n".join(current))
    return parts


# --- feedback buttons --------------------------------------------------------------------

_ANSWERS = {
    ("recorded", feedback.RELEVANT): "Thanks: marked relevant.",
    ("recorded", feedback.NOT_RELEVANT): "Thanks: marked not relevant. It helps tune the rules.",
    ("changed", feedback.RELEVANT): "Changed your vote to relevant.",
    ("changed", feedback.NOT_RELEVANT): "Changed your vote to not relevant.",
}


def vote(engine: Engine, data: str | None, user_id: int | str | None, now: datetime) -> str | None:
    """Record a press of an alert's feedback button; the short text to answer the callback
    query with, or None when `data` is not a feedback button."""
    parsed = feedback.parse_callback(data)
    if parsed is None:
        return None
    hit_id, value = parsed
    if user_id is None:          # an anonymous admin or a channel signature: nobody to count
        return "Votes need a member account; thanks anyway."
    with engine.begin() as conn:
        outcome = feedback.record_vote(conn, hit_id, user_id, value, now)
    log.debug("feedback hit=%s vote=%+d outcome=%s", hit_id, value, outcome)
    if outcome == "unchanged":
        return "You already voted this way."
    if outcome == "unknown-hit":
        return "This item is no longer stored, so the vote was not kept. Thanks anyway."
    return _ANSWERS[(outcome, value)]


# --- /search -----------------------------------------------------------------------------

def search_reply(engine: Engine, query: str, now: datetime, *, weights: Mapping[str, float] | None = None,
                 titles: Mapping[str, str] | None = None, names: Mapping[str, str] | None = None,
                 since: timedelta = SEARCH_SINCE, limit: int = SEARCH_LIMIT) -> str:
    """The top results of `query` as one HTML message. A syntax error or an empty query
    gives one line: the problem and the usage."""
    from bot.errors import RuleSyntaxError
    from bot.insight.search import search

    query = " ".join(query.split())
    if not query:
        return "Usage: " + SEARCH_USAGE
    try:
        with engine.connect() as conn:
            results = search(conn, query, now - since, None, limit, now=now, weights=dict(weights or {}))
    except RuleSyntaxError as exc:
        return (f"Query error at column {exc.pos + 1}: {h(clip(exc.in_columns(), 200))}. "
                f"Usage: {SEARCH_USAGE}")
    days = since.days
    if not results:
        return f"Nothing matches <code>{h(clip(query, 200))}</code> in the last {days} days."
    titles, names = titles or {}, names or {}
    lines = [f"<b>🔎 {h(clip(query, 200))}</b> — {len(results)} best, last {days} days"]
    for i, r in enumerate(results, 1):
        when = (r.published or r.first_seen).strftime("%d %b").lstrip("0")
        meta = [h(clip(names.get(r.source, r.source), 60)), when]
        if r.themes:
            meta.append(h(clip(", ".join(titles.get(t, t) for t in r.themes), 80)))
        line = f"{i}. {link(clip(r.title, 200), r.url)} — " + ", ".join(meta)
        if r.also_reported_by:
            also = ", ".join(names.get(s, s) for s in r.also_reported_by)
            line += f" · <i>also reported by {h(clip(also, 150))}</i>"
        lines.append(line)
    return fit(lines)


# --- rule precision (/health, rules backtest) ----------------------------------------------

def precision_lines(engine: Engine, now: datetime, *, since: timedelta = PRECISION_SINCE,
                    limit: int = 10) -> list[str]:
    """HTML lines: each voted rule's precision, then the noisiest rules (empty without votes)."""
    with engine.connect() as conn:
        stats = [s for s in feedback.rule_stats(conn, now - since) if s.votes]
        noisy = feedback.noisiest_rules(conn, now - since)
    if not stats:
        return []
    lines = [f"<b>Rules by member votes ({since.days} days)</b>"]
    for s in sorted(stats, key=lambda s: (-s.votes, s.rule))[:limit]:
        lines.append(f"• <code>{h(s.rule)}</code> ({h(s.theme)}): {_pct(s.precision)} relevant, "
                     f"{s.votes_up}👍 {s.votes_down}👎 on {s.hits} hits")
    if noisy:
        lines.append("<b>Noisiest rules</b>: " + ", ".join(
            f"<code>{h(s.rule)}</code> {_pct(s.precision)} of {s.votes}" for s in noisy))
    else:
        lines.append("<i>Noisiest rules: none with 3 or more votes yet.</i>")
    return lines


def _pct(p: float | None) -> str:
    return "–" if p is None else f"{round(100 * p)}%"


# --- /report -----------------------------------------------------------------------------

def report_text(engine: Engine, now: datetime, source_ids: Iterable[str] | None) -> str:
    """The coordinator report as plain text (bot.insight.report)."""
    from bot.insight.report import build_report, render_text

    with engine.connect() as conn:
        return render_text(build_report(conn, now, source_ids=source_ids))


def report_messages(text: str) -> list[str]:
    """The plain report as HTML messages (a <pre> block each, escaped), within the limit."""
    return [f"<pre>{html.escape(part, quote=False)}</pre>" for part in split_plain(text, MAX_LEN - 10)]
