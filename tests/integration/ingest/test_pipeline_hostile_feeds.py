"""Hostile and broken feeds (tests/fixtures/hostile, MANIFEST.md there) served on 127.0.0.1 and
polled into SQLite and PostgreSQL: each is stored with the fields asserted, never a failed
source. Every case failed before its fix (issue 16, items 1 and 2)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from bot.config.sources import load_sources
from bot.ingest.fetch import Fetcher, FetchPolicy
from bot.parse.items import AUTHOR_MAX, SUMMARY_MAX, TEXT_MAX, TITLE_MAX
from bot.ingest.pipeline import Poller
from bot.storage.db import open_database
from bot.storage.schema import items
from support import paths

FIXTURES = paths.FIXTURES / "hostile"
NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
CONTROLS = [chr(c) for c in (*range(0, 9), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0))]


@dataclass
class Case:
    body: Callable[[], bytes]
    check: Callable[[dict[str, dict]], None]   # stored rows by guid
    content_type: str | None = "application/rss+xml; charset=utf-8"
    source_type: str = "auto"


def fixture(name: str) -> Callable[[], bytes]:
    return lambda: (FIXTURES / name).read_bytes()


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def _no_controls(rows: dict[str, dict]) -> None:
    for row in rows.values():
        for field in ("guid", "url", "title", "summary", "text", "author"):
            assert not any(c in (row[field] or "") for c in CONTROLS), (field, row[field])


def _huge_fields() -> bytes:
    word = "asylum "
    title, summary, content = word * 300_000, word * 150_000, word * 150_000   # 2.1 MB, 1 MB, 1 MB
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0' xmlns:content="
            f"'http://purl.org/rss/1.0/modules/content/'><channel><title>Huge</title>"
            f"<item><guid>big</guid><link>https://example.org/big</link><title>{title}</title>"
            f"<description>{summary}</description><content:encoded>{content}</content:encoded>"
            f"<author>x@example.org ({'Name ' * 10_000})</author></item>"
            f"<item><guid>small</guid><link>https://example.org/small</link><title>Small</title></item>"
            f"</channel></rss>").encode()


def _check_huge(rows: dict[str, dict]) -> None:
    big = rows["big"]
    assert len(big["title"]) <= TITLE_MAX and big["title"].endswith("asylum…")
    assert len(big["summary"]) <= SUMMARY_MAX and len(big["text"]) <= TEXT_MAX
    assert len(big["author"]) <= AUTHOR_MAX
    assert "small" in rows


def _one_link_many_guids() -> bytes:
    """131 entries, 130 guids (one repeated), all linking to the show's home page."""
    entries = [f"<item><guid isPermaLink='false'>ep-{min(n, 129)}</guid><link>https://pod.example.org/</link>"
               f"<title>Episode {n}</title></item>" for n in range(131)]
    return (f"<?xml version='1.0'?><rss version='2.0'><channel><title>Podcast</title>"
            f"{''.join(entries)}</channel></rss>").encode()


def _json_controls() -> bytes:
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "J",
           "items": [{"id": "j1\u0000", "url": "https://example.org/j1", "title": "Lone \ud83d surrogate\u0000 and \u001b[1mESC",
                      "content_text": "NUL\u0000 in text \u0007", "authors": [{"name": "A\u0000uthor"}]}]}
    return json.dumps(doc).encode()   # json escapes the lone surrogate as \ud83d


def _check_dates(rows: dict[str, dict]) -> None:
    expected = {
        "d-it": _utc(2022, 11, 15, 23, 38, 15), "d-it2": _utc(2022, 5, 3, 8), "d-fr": _utc(2022, 12, 9, 13, 5),
        "d-fr2": _utc(2023, 3, 6, 8), "d-de": _utc(2022, 12, 14, 8, 30), "d-de2": _utc(2023, 3, 2, 11),
        "d-es": _utc(2022, 12, 15, 17, 20), "d-pt": _utc(2022, 12, 16, 10), "d-nl": _utc(2022, 10, 12, 9),
        "d-el": _utc(2022, 11, 16, 8), "d-cet": _utc(2022, 11, 15, 23, 38, 15), "d-cest": _utc(2022, 6, 14, 10),
        "d-eest": _utc(2022, 6, 14, 9), "d-bst": _utc(2022, 6, 14, 11), "d-pm": _utc(2022, 11, 14, 14, 2, 33),
    }
    got = {guid: rows[guid]["published_at"] for guid in expected}
    assert {g: (d.replace(tzinfo=timezone.utc) if d and d.tzinfo is None else d) for g, d in got.items()} == expected


CASES: dict[str, Case] = {
    # item 1: items that broke their whole feed
    "feedparser unclosed comment": Case(fixture("xml_unclosed_comment.xml"), lambda rows: None,
                                        content_type="application/atom+xml"),
    "feedparser malicious comment": Case(fixture("xml_malicious_comment.xml"), lambda rows: None,
                                         content_type="application/atom+xml"),
    "comment in an item": Case(fixture("comment_in_item.xml"), lambda rows: (
        rows["c1"]["title"].startswith("Shelter opens") and "c2" in rows) or pytest.fail(str(rows))),
    "surrogate pairs": Case(fixture("surrogate_pairs.xml"), lambda rows: (
        rows["s1"]["title"] == "Welcome \U0001F600 day"
        and rows["s1"]["summary"] == "Lone surrogate and a low one alone, hex \U0001F600 pair.") or pytest.fail(str(rows))),
    "control characters": Case(fixture("control_chars.xml"), lambda rows: (
        _no_controls(rows), rows["n1"]["url"] == "https://example.org/n1" or pytest.fail(str(rows["n1"])))),
    "json feed controls": Case(_json_controls, lambda rows: (
        _no_controls(rows), rows["j1"]["title"] == "Lone surrogate and [1mESC" or pytest.fail(str(rows)),
        rows["j1"]["author"] == "Author" or pytest.fail(str(rows))), content_type="application/feed+json"),
    "huge fields": Case(_huge_fields, _check_huge),
    # item 2: items silently lost or wrong
    "entries sharing a link or differing by fragment": Case(fixture("shared_links.xml"), lambda rows: (
        set(rows) == {"pr-1", "pr-2", "pr-3", "https://example.org/page#part-1", "https://example.org/page#part-2"}
        and rows["pr-2"]["url"] == "https://example.org/press") or pytest.fail(str(sorted(rows)))),
    "131 entries, 130 guids, one link": Case(_one_link_many_guids, lambda rows: (
        len(rows) == 130 or pytest.fail(f"{len(rows)} stored"))),
    "dates in the coalition's languages": Case(fixture("dates_i18n.xml"), _check_dates),
    "legacy entity prefixes in links": Case(fixture("legacy_entities.xml"), lambda rows: (
        rows["e2"]["url"] == "https://example.org/b?x=1&copy=2&reg=3&y=4"
        and any(r["url"] == "https://example.org/a?id=1&lang=fr" for r in rows.values())
        and rows["e3"]["title"].startswith("Keep © 2024 and ")) or pytest.fail(str(rows))),
    "XHTML doctype before the root": Case(fixture("xhtml_doctype.xml"), lambda rows: (
        "x1" in rows or pytest.fail(str(rows))), source_type="feed"),
    "comment naming <html> before the root": Case(fixture("comment_html.xml"), lambda rows: (
        "h1" in rows or pytest.fail(str(rows))), source_type="feed"),
    "UTF-16LE without BOM": Case(fixture("utf16le_nobom.xml"), lambda rows: (
        rows["w1"]["title"] == "Encoded without a BOM: réfugiés" or pytest.fail(str(rows))), content_type=None),
    "UTF-32LE without BOM": Case(fixture("utf32le_nobom.xml"), lambda rows: (
        rows["w1"]["title"] == "Encoded without a BOM: réfugiés" or pytest.fail(str(rows))), content_type=None),
    "namespaced <r:rss> root": Case(fixture("namespaced_root.xml"), lambda rows: (
        "r1" in rows or pytest.fail(str(rows))), content_type=None),
    "enclosure and at:// links": Case(fixture("atom_links.xml"), lambda rows: (
        rows["urn:e1"]["url"] == "https://example.org/ep1"
        and rows["https://example.org/post/2"]["url"] == "https://example.org/post/2"
        and rows["urn:e3"]["url"] == "https://example.org/post/3"
        and rows["urn:e4"]["url"] == "https://example.org/ep4"
        and rows["urn:e5"]["url"] is None) or pytest.fail(str(rows)), content_type="application/atom+xml"),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_hostile_feed_is_stored_not_failed(name, tmp_path, feedserver, db_url):
    case = CASES[name]
    url = feedserver.add("/feed", case.body(), content_type=case.content_type)
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "sources.yaml").write_text(f"defaults:\n  interval: 30m\n  language: en\nsources:\n"
                                      f"  - id: hostile\n    url: {url}\n    type: {case.source_type}\n")
    engine = open_database(db_url)
    try:
        async with Fetcher(FetchPolicy(allow_private=True, timeout=10)) as fetcher:
            summary = await Poller(engine, load_sources(cfg), None, fetcher, lambda: NOW).poll(None, due_only=False)
        [result] = summary.results
        assert result.outcome == "changed", f"{result.error_kind}: {result.error}"
        with engine.connect() as conn:
            rows = {r.guid: r._asdict() for r in conn.execute(select(items))}
        case.check(rows)
    finally:
        engine.dispose()
