"""Members report misses: the Telegram `/missed URL [THEME]` conversation and the admins'
decision on a report.

`/missed`: the page is fetched like a source (bot.ingest.page, the caller's FetchPolicy), the
rules run on its title and lead (bot.match.why), the member gets why it matched or which
rules nearly matched, in plain words, and the report is stored (bot.storage.reported) with the
member's theme. Without a theme the member gets the explanation and is asked for one (near
misses are no guide to what a member expected), and nothing is stored. At most
bot.storage.reported.DAILY_LIMIT reports a member in 24 hours; a page that cannot be read is
answered and not stored.

Accepting a report (an admin's button, callback data `rm:<id>:a`; `rm:<id>:d` dismisses) makes
it a hit of its theme, delivered like any hit: the item stored under its URL (the one already
stored from a monitored source, else a new item of source `reported`), a hit with the rule
`reported`, deliveries queued through bot.delivery.outbox, and the decision, in one
transaction. Accepted reports are judgements for `rules evaluate --from-feedback`
(bot.stories.feedback).

Owns the reply texts (HTML, every fetched or stored string escaped). Must not talk to Telegram
(bot.chat.members and bot.chat.admin do) nor hold SQL of reported_misses (bot.storage.reported does).
"""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Mapping, Sequence

from sqlalchemy import Connection, Engine

from bot.delivery.telegram.format import clip, h, link
from bot.storage import reported

if TYPE_CHECKING:
    from bot.config.themes import ThemeSet
    from bot.ingest.fetch_policy import FetchPolicy
    from bot.match import Matcher
    from bot.match.why import Verdict
    from bot.model import Item

log = logging.getLogger(__name__)

PREFIX = "rm"
_CALLBACK = re.compile(r"^rm:(\d{1,18}):([ad])$")
USAGE = "/missed URL [THEME] — an article the bot should have caught (see /themes for THEME)"
REPORTED_RULE = "reported"
NEAR_SHOWN = 2      # near misses told to the member
CARDS = 10          # open reports shown with buttons after /report


def callback_data(report_id: int, accept: bool) -> str:
    return f"{PREFIX}:{int(report_id)}:{'a' if accept else 'd'}"


def parse_callback(data: str | None) -> tuple[int, bool] | None:
    """(report id, accept?) of a decision button; None for any other button."""
    m = _CALLBACK.match(data or "")
    return None if m is None else (int(m.group(1)), m.group(2) == "a")


def theme_problem(theme: str, slugs: Sequence[str]) -> str | None:
    """None when `theme` is a theme slug, else the answer (with the closest slug)."""
    if theme in slugs:
        return None
    close = difflib.get_close_matches(theme, list(slugs), n=1, cutoff=0.6)
    hint = f" Did you mean <code>{h(close[0])}</code>?" if close else ""
    return f"Unknown theme <code>{h(clip(theme, 60))}</code>.{hint} See /themes."


def limit_reached(engine: Engine, user_id: int | str, now: datetime) -> str | None:
    """The answer when the member already made DAILY_LIMIT reports in 24 hours, else None."""
    with engine.connect() as conn:
        n = reported.reports_today(conn, user_id, now)
    if n < reported.DAILY_LIMIT:
        return None
    return (f"You have reported {n} articles in the last 24 hours, the most one member can. "
            "Thank you! Please send more tomorrow.")


def explain_reply(item: Item, verdict: Verdict, theme: str | None, titles: Mapping[str, str]) -> list[str]:
    """What the rules said of the page, in plain words, as HTML lines."""
    lines = [f"<b>{link(clip(item.title or item.url, 200), item.url)}</b>"
             + (f" ({h(item.language)})" if item.language else "")]
    hit_themes = [x.theme for x in verdict.hits]
    if theme is not None and theme in hit_themes:
        hit = next(x for x in verdict.hits if x.theme == theme)
        why = hit.explanations[0].description if hit.explanations else ", ".join(hit.rules)
        lines.append(f"The rules do match it for <b>{h(titles.get(theme, theme))}</b> ({h(clip(why, 200))}). "
                     "If it never reached you, its source is probably not monitored.")
    elif hit_themes:
        lines.append("The rules match it for: " + h(", ".join(titles.get(t, t) for t in hit_themes)) + ".")
    for miss in verdict.misses:
        name = h(titles.get(miss.theme, miss.theme))
        if not miss.near:
            lines.append(f"No rule of <b>{name}</b> came close: {h(miss.summary())}.")
            continue
        lines.append(f"Closest rules of <b>{name}</b>:")
        lines += [f"• {h(clip(n.sentence(), 300))}" for n in miss.near[:NEAR_SHOWN]]
    if not verdict.hits and not verdict.misses:
        lines.append("No rule found any of its words.")
    return lines


@dataclass(frozen=True)
class Outcome:
    reply: str
    report_id: int | None = None


async def report_missed(engine: Engine, matcher: Matcher, policy: FetchPolicy, url: str, theme: str | None, *,
                        titles: Mapping[str, str], chat_id: int | str, user_id: int | str, now: datetime) -> Outcome:
    """Fetch, explain and store one report; the HTML answer (and the stored report's id)."""
    from bot.errors import SourceFailure
    from bot.ingest.page import fetch_page
    from bot.match.why import verdict

    try:
        item = await fetch_page(url, policy)
    except SourceFailure as exc:
        return Outcome(f"Could not read that page ({h(exc.kind)}): {h(clip(str(exc), 200))}\n"
                       "Check the link; nothing was reported.")
    v = verdict(matcher, item, theme)
    lines = explain_reply(item, v, theme, titles)
    if theme is None:
        # What a member expected cannot be guessed from near misses (a pushback near a river
        # comes closest to sea rescue): the report waits for the member's theme.
        closest = [m.theme for m in v.misses if m.near]
        hint = f" (closest: {h(', '.join(closest))})" if closest else ""
        lines.append(f"Not reported yet: which theme did you expect it in{hint}? "
                     f"Send <code>/missed {h(url)} THEME</code>; /themes lists them.")
        return Outcome("\n".join(lines))
    with engine.begin() as conn:
        report_id = reported.add_report(conn, url=item.url or url, title=item.title, summary=item.summary,
                                        language=item.language, theme=theme, matched=[x.theme for x in v.hits],
                                        chat_id=chat_id, user_id=user_id, now=now)
    lines.append(f"Thank you: reported to the coordinators (#{report_id}).")
    log.info("reported miss id=%s theme=%s matched=%s", report_id, theme, ",".join(x.theme for x in v.hits))
    return Outcome("\n".join(lines), report_id)


def card(r: reported.Report, titles: Mapping[str, str]) -> tuple[str, list[tuple[str, str]]]:
    """One open report for the admins: HTML text and its Accept / Dismiss buttons."""
    matched = ", ".join(r.matched) or "no theme"
    text = (f"<b>Reported miss #{r.id}</b> · {h(titles.get(r.theme, r.theme))}\n"
            f"{link(clip(r.title or r.url, 200), r.url)}" + (f" ({h(r.language)})" if r.language else "")
            + f"\n{h(clip(r.summary, 300))}\nRules then: {h(matched)} · by user {h(r.user_id)}, "
            f"{r.reported_at:%d %b %H:%M} UTC")
    return text, [(f"✅ Accept as {clip(r.theme, 30)}", callback_data(r.id, True)),
                  ("✖️ Dismiss", callback_data(r.id, False))]


def open_cards(engine: Engine, titles: Mapping[str, str], limit: int = CARDS) -> list[tuple[str, list[tuple[str, str]]]]:
    with engine.connect() as conn:
        return [card(r, titles) for r in reported.open_reports(conn, limit)]


class _AlreadyDecided(Exception):
    pass


def decide(engine: Engine, report_id: int, accept: bool, admin: int | str, now: datetime, *,
           themes: ThemeSet, weights: Mapping[str, float] | None = None) -> str:
    """An admin's decision; the short answer for the button (at most 200 characters)."""
    with engine.connect() as conn:
        r = reported.get_report(conn, report_id)
    if r is None:
        return "This report is no longer stored."
    if r.status != "reported":
        return f"Already {r.status} by {r.decided_by}."
    if not accept:
        with engine.begin() as conn:
            done = reported.decide(conn, report_id, "dismissed", admin, now)
        return "Dismissed." if done else "Already decided by another admin."
    theme = themes.get(r.theme)
    if theme is None:
        return f"Theme {r.theme} is no longer in rules/; dismiss it or re-report it."
    try:
        with engine.begin() as conn:
            queued = _accept(conn, r, theme.priority, admin, now, weights)
    except _AlreadyDecided:
        return "Already decided by another admin."
    log.info("reported miss id=%s accepted by %s theme=%s queued=%s", report_id, admin, r.theme, queued)
    return f"Accepted: now a hit of {r.theme}, queued for {queued} deliveries."


@dataclass
class _Hit:
    """What repo.insert_hits needs of a hit (as bot.match.ThemeHit)."""

    theme: str
    priority: str
    rules: list[str]
    explanations: list[dict[str, object]]


def _accept(conn: Connection, r: reported.Report, priority: str, admin: int | str, now: datetime,
            weights: Mapping[str, float] | None) -> int:
    """Store the item (or find it), its hit and deliveries, and the decision; deliveries queued."""
    from bot.delivery.outbox import NewHit, queue_for_hits
    from bot.model import Item
    from bot.storage import repo
    from bot.stories.grouping import assign_story
    from bot.tagging.countries import tag_countries

    row = repo.item_by_url(conn, r.url)
    if row is not None:
        item_id, story_id, language, regions = row.id, row.story_id, row.language, tuple(row.regions or ())
    else:
        from bot.ingest.page import SOURCE_ID

        item = Item(source_id=SOURCE_ID, guid=r.url, url=r.url, title=r.title, summary=r.summary, language=r.language)
        codes, region_list = tag_countries(f"{r.title}\n{r.summary}", r.language)
        new_id = repo.insert_item(conn, item, now, countries=codes, regions=region_list)
        if new_id is None:   # stored meanwhile under its guid: that row is the item
            row = repo.item_by_url(conn, r.url)
            if row is None:
                raise RuntimeError(f"reported miss {r.id}: its item {r.url} is neither new nor stored")
            new_id = row.id
        item_id, language, regions = new_id, r.language, tuple(region_list)
        story_id = assign_story(conn, item_id, item, now, weights=weights)
    why: dict[str, object] = {"rule": REPORTED_RULE, "field": "title", "terms": [], "snippet": r.title,
                               "description": f"reported by a member, accepted by a coordinator (report #{r.id})"}
    stored = repo.insert_hits(conn, item_id, [_Hit(r.theme, priority, [REPORTED_RULE], [why])], now)
    queued = 0
    if stored:
        hit = stored[0]
        queued = queue_for_hits(conn, [NewHit(hit_id=hit.hit_id, item_id=item_id, story_id=story_id, theme=hit.theme,
                                              priority=hit.priority, language=language, regions=regions)], now)
    if not reported.decide(conn, r.id, "accepted", admin, now, item_id=item_id):
        raise _AlreadyDecided()
    return queued
