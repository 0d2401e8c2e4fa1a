"""The coordinator report: what to fix or tune, as one JSON-able dict and as plain text.

Sections: sources failing (error kind, since when), sources silent for much longer than their
usual rate, sources without a hit in 30 days, the rules with the most hits and the noisiest
rules by member votes, hits per theme this week against the previous weeks, and the misses
members reported (Telegram /missed; bot.storage.reported): the open ones and the decisions
of the last 30 days.

"Silent": a source whose last new item is older than max(SILENT_FACTOR x its mean gap between
items over the last 30 days, SILENT_MIN); only sources with at least 3 items in those 30 days
(a rate is needed to call a silence unusual) and not failing (those are listed as failing).

Must not: send anything (the daemon and the CLI deliver the text), read the clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable, TypedDict

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from bot.stories.feedback import noisiest_rules, rule_stats
from bot.storage import reported
from bot.storage import repo
from bot.storage.schema import hits, items, sources

LOOKBACK = timedelta(days=30)
SILENT_FACTOR = 5
SILENT_MIN = timedelta(hours=24)
WEEKS = 4          # this week and the 3 before it
OPEN_MISSES = 20   # open reported misses listed (all are counted)


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat().replace("+00:00", "Z")


def _hours(td: timedelta) -> float:
    return round(td.total_seconds() / 3600, 1)


def build_report(conn: Connection, now: datetime, *, source_ids: Iterable[str] | None = None,
                 top: int = 5) -> dict:
    """The report as a dict. `source_ids`: the configured, enabled sources (defaults to the
    rows of the sources table not removed from sources.yaml); sources never polled yet count
    as without hits."""
    # Rows of sources removed from sources.yaml are left out (their items stay).
    rows = {r.id: r for r in conn.execute(select(sources).where(repo.configured()))}
    wanted = sorted(set(source_ids) if source_ids is not None else set(rows))
    since = now - LOOKBACK

    failing = []
    for sid in wanted:
        r = rows.get(sid)
        if r is not None and r.status == "failing":
            failing.append({"source": sid, "kind": r.last_error_kind, "since": _iso(r.failing_since),
                            "errors": r.error_count, "last_error": r.last_error})
    failing.sort(key=lambda f: (f["since"] or "", f["source"]))

    stats = {sid: (n, last) for sid, n, last in conn.execute(
        select(items.c.source_id, func.count(), func.max(items.c.first_seen_at))
        .where(items.c.first_seen_at >= since, items.c.is_backlog.is_(False))
        .group_by(items.c.source_id))}
    silent = []
    for sid in wanted:
        r = rows.get(sid)
        n, last = stats.get(sid, (0, None))
        if r is not None and r.last_new_item_at is not None:
            last = max(last, r.last_new_item_at) if last else r.last_new_item_at
        if n < 3 or last is None or (r is not None and r.status in ("failing", "paused")):
            continue
        gap = LOOKBACK / n
        silence = now - last
        if silence > max(gap * SILENT_FACTOR, SILENT_MIN):
            silent.append({"source": sid, "last_item": _iso(last), "silent_hours": _hours(silence),
                           "usual_gap_hours": _hours(gap)})
    silent.sort(key=lambda s: -s["silent_hours"])

    with_hits = set(conn.execute(
        select(items.c.source_id).select_from(hits.join(items, items.c.id == hits.c.item_id))
        .where(hits.c.created_at >= since).distinct()).scalars())
    no_hits = [sid for sid in wanted if sid not in with_hits]

    rstats = rule_stats(conn, since)
    themes = _theme_weeks(conn, now)
    return {
        "generated_at": _iso(now),
        "failing_sources": failing,
        "silent_sources": silent,
        "sources_without_hits_30d": no_hits,
        "top_rules": [s.to_dict() for s in rstats[:top]],
        "noisiest_rules": [s.to_dict() for s in noisiest_rules(conn, since, limit=top)],
        "themes": themes,
        "reported_misses": _reported_misses(conn, since),
    }


def _reported_misses(conn: Connection, since: datetime) -> dict:
    """Open reports (oldest first, at most OPEN_MISSES listed) and the 30 days' decisions."""
    waiting = reported.open_reports(conn)
    decided = reported.decided_since(conn, since)
    return {"open_count": len(waiting),
            "open": [r.to_dict() | {"reported_at": _iso(r.reported_at)} for r in waiting[:OPEN_MISSES]],
            "accepted_30d": sum(r.status == "accepted" for r in decided),
            "dismissed_30d": sum(r.status == "dismissed" for r in decided)}


class ThemeWeeks(TypedDict):
    theme: str
    this_week: int
    previous_weeks: list[int]
    previous_average: float
    change: float | None


def _theme_weeks(conn: Connection, now: datetime) -> list[ThemeWeeks]:
    """Hits per theme in each of the last WEEKS 7-day periods ending now, newest first."""
    start = now - timedelta(days=7 * WEEKS)
    counts: dict[str, list[int]] = {}
    for theme, created in conn.execute(
            select(hits.c.theme, hits.c.created_at).where(hits.c.created_at >= start)):
        week = min(int((now - created).total_seconds() // (7 * 86400)), WEEKS - 1)
        counts.setdefault(theme, [0] * WEEKS)[max(week, 0)] += 1
    out: list[ThemeWeeks] = []
    for theme, weeks in sorted(counts.items()):
        previous = weeks[1:]
        avg = sum(previous) / len(previous)
        out.append({"theme": theme, "this_week": weeks[0], "previous_weeks": previous,
                    "previous_average": round(avg, 1),
                    "change": None if avg == 0 else round((weeks[0] - avg) / avg, 2)})
    out.sort(key=lambda t: (-t["this_week"], t["theme"]))
    return out


def render_text(report: dict) -> str:
    """Plain text for a terminal or a Telegram message (no markup)."""
    lines = [f"Coordinator report, {report['generated_at']}", ""]

    lines.append(f"Failing sources ({len(report['failing_sources'])}):")
    for f in report["failing_sources"]:
        lines.append(f"  {f['source']}: {f['kind'] or 'error'} since {f['since'] or '?'}"
                     f" ({f['errors']} errors)")
    lines.append("")
    lines.append(f"Silent sources ({len(report['silent_sources'])}):")
    for s in report["silent_sources"]:
        lines.append(f"  {s['source']}: nothing new for {s['silent_hours']} h"
                     f" (usually every {s['usual_gap_hours']} h)")
    lines.append("")
    no_hits = report["sources_without_hits_30d"]
    lines.append(f"Sources without a hit in 30 days ({len(no_hits)}):")
    if no_hits:
        lines.append("  " + ", ".join(no_hits))
    lines.append("")
    lines.append("Rules with the most hits (30 days):")
    for r in report["top_rules"]:
        lines.append(f"  {r['rule']} ({r['theme']}): {r['hits']} hits")
    lines.append("")
    lines.append("Noisiest rules by member votes:")
    if not report["noisiest_rules"]:
        lines.append("  (not enough votes yet)")
    for r in report["noisiest_rules"]:
        lines.append(f"  {r['rule']} ({r['theme']}): {round(100 * r['precision'])}% relevant"
                     f" of {r['votes']} votes")
    lines.append("")
    lines.append("Hits per theme, this week vs the previous 3 weeks:")
    for t in report["themes"]:
        change = "" if t["change"] is None else f" ({t['change']:+.0%})"
        prev = "/".join(str(n) for n in t["previous_weeks"])
        lines.append(f"  {t['theme']}: {t['this_week']} vs {prev} (avg {t['previous_average']}){change}")
    misses = report.get("reported_misses")
    if misses is not None:
        lines.append("")
        lines.append(f"Reported misses waiting for a decision ({misses['open_count']}; "
                     f"30 days: {misses['accepted_30d']} accepted, {misses['dismissed_30d']} dismissed):")
        for r in misses["open"]:
            rules_said = ", ".join(r["rules_matched"]) or "no theme"
            lines.append(f"  #{r['id']} {r['theme']}: {r['title'][:100]} <{r['url']}> (rules: {rules_said})")
        if misses["open_count"] > len(misses["open"]):
            lines.append(f"  … and {misses['open_count'] - len(misses['open'])} more")
    return "\n".join(lines).rstrip() + "\n"
