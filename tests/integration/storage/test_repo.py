"""bot.storage.repo and bot.storage.fulltext on a real SQLite file and a real PostgreSQL database
(the `engine` and `db_url` fixtures of tests/support/fixtures_db.py run each test on both)."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from bot.model import Item
from bot.storage import repo
from bot.storage.db import open_database
from bot.storage.fulltext import fts_expression, search_item_ids
from bot.storage.schema import items, sources

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


def item(source="picum", guid="g1", url="https://picum.org/a", title="Detention of children in Greece",
         summary="", text="", published=None, language="en"):
    return Item(source_id=source, guid=guid, url=url, title=title, summary=summary, text=text,
                author="A. Writer", categories=["detention"], language=language, published=published,
                tags=["ngo"])


@dataclass
class Expl:
    rule: str

    def to_dict(self):
        return {"rule": self.rule, "field": "title", "terms": ["detention"], "snippet": "...",
                "description": "detention, in title"}


@dataclass
class ThemeHit:
    theme: str
    priority: str = "normal"
    rules: list = field(default_factory=lambda: ["r1"])
    explanations: list = field(default_factory=lambda: [Expl("r1")])


def test_insert_item_dedupes_by_guid_and_by_canonical_url_within_a_source(engine):
    with engine.begin() as conn:
        first = repo.insert_item(conn, item(), NOW, countries=["GR"], regions=["Europe"])
        assert isinstance(first, int)
        # same guid, same source: seen
        assert repo.insert_item(conn, item(url="https://picum.org/b"), NOW) is None
        # same canonical URL, same source, no shares_url: seen
        assert repo.insert_item(conn, item(guid="again"), NOW) is None
        # same canonical URL from another source: its own item (one story, grouping decides)
        relay = repo.insert_item(conn, item(source="aggregator", guid="other"), NOW)
        assert relay and relay != first
        # same guid in another source with another URL: a different item
        second = repo.insert_item(conn, item(source="ecre", url="https://ecre.org/x"), NOW)
        assert second and second != first
        # items without a URL never collide on the URL index
        assert repo.insert_item(conn, item(guid="n1", url=None), NOW)
        assert repo.insert_item(conn, item(guid="n2", url=None), NOW)
    with engine.connect() as conn:
        row = repo.get_item(conn, first)
        assert row.countries == ["GR"] and row.regions == ["Europe"] and row.tags == ["ngo"]
        assert row.first_seen_at == NOW and row.is_backlog is False
        assert repo.item_counts(conn) == {"picum": 3, "ecre": 1, "aggregator": 1}
        known = repo.known_item_keys(conn, "picum", ["g1", "zz", "n1"],
                                     ["https://picum.org/a", "https://ecre.org/x", "https://new/"])
        assert known.guids == {"g1", "n1"}
        assert known.own_urls == {"https://picum.org/a"}


def test_items_of_one_source_may_share_a_url_and_so_may_sources(engine):
    """Within a source the guid decides (press releases linking to one page); another source's
    item under a stored URL is its own item (issue 15: a relay must not silence the original)."""
    with engine.begin() as conn:
        first = repo.insert_item(conn, item(guid="pr-1"), NOW)
        second = repo.insert_item(conn, item(guid="pr-2"), NOW, shares_url=True)
        assert first and second and second != first
        assert repo.insert_item(conn, item(guid="pr-2"), NOW, shares_url=True) is None   # same guid
        assert repo.insert_item(conn, item(source="ecre", guid="x"), NOW)                # other source
        assert repo.insert_item(conn, item(source="ecre", guid="y"), NOW) is None        # its URL, again
        assert repo.item_counts(conn) == {"picum": 2, "ecre": 1}


def test_insert_hits_with_explanations_and_list_filters(engine):
    with engine.begin() as conn:
        a = repo.insert_item(conn, item(), NOW)
        b = repo.insert_item(conn, item(guid="g2", url="https://picum.org/b", title="Pushbacks at sea"),
                             NOW + timedelta(hours=1), is_backlog=True)
        rows = repo.insert_hits(conn, a, [ThemeHit("detention"), ThemeHit("children", "high")], NOW)
        assert [(r.theme, r.priority) for r in rows] == [("detention", "normal"), ("children", "high")]
        # the same theme twice for one item is skipped
        assert repo.insert_hits(conn, a, [ThemeHit("detention")], NOW) == []
        repo.insert_hits(conn, b, [ThemeHit("pushbacks", "high")], NOW + timedelta(hours=1))
    with engine.connect() as conn:
        all_hits = repo.list_hits(conn)
        assert [h["theme"] for h in all_hits] == ["pushbacks", "children", "detention"]
        d = all_hits[-1]
        assert d["item_id"] == a and d["source_id"] == "picum" and d["rules"] == ["r1"]
        assert d["explanations"][0]["description"] == "detention, in title"
        assert d["created_at"].tzinfo is not None
        assert [h["theme"] for h in repo.list_hits(conn, theme="children")] == ["children"]
        assert repo.hit_counts_by_theme(conn) == {"detention": 1, "children": 1, "pushbacks": 1}
        assert [h["theme"] for h in repo.list_hits(conn, since=NOW + timedelta(minutes=30))] == ["pushbacks"]
        assert [h["theme"] for h in repo.list_hits(conn, include_backlog=False)] == ["children", "detention"]
        assert repo.list_hits(conn, source="ecre") == []
        assert len(repo.list_hits(conn, limit=1)) == 1
        assert [r.id for r in repo.items_since(conn, NOW)] == [b, a]
        assert [r.id for r in repo.items_since(conn, NOW, include_backlog=False)] == [a]
        assert repo.counts(conn)["hits"] == 3 and repo.counts(conn)["backlog_items"] == 1


def test_source_state_round_trip_and_url_change_resets(engine):
    with engine.begin() as conn:
        repo.ensure_sources(conn, [("picum", "https://picum.org/feed/"), ("ecre", "https://ecre.org/feed/")], NOW)
        repo.ensure_sources(conn, [("picum", "https://picum.org/feed/")], NOW)  # idempotent
        repo.update_source(conn, "picum", etag='"abc"', body_hash="h", backlog_done=True, status="ok",
                           next_poll_at=NOW + timedelta(minutes=30))
        repo.update_sources(conn, [{"id": "ecre", "status": "failing", "error_count": 2},
                                   {"id": "picum", "status": "ok", "error_count": 0}])
    with engine.connect() as conn:
        states = repo.source_states(conn)
        assert set(states) == {"picum", "ecre"}
        assert states["picum"].etag == '"abc"' and states["picum"].next_poll_at == NOW + timedelta(minutes=30)
        assert states["ecre"].status == "failing" and states["ecre"].error_count == 2
        assert repo.source_states(conn, ["ecre"]).keys() == {"ecre"}
    with engine.begin() as conn:
        repo.ensure_sources(conn, [("picum", "https://picum.org/other.xml")], NOW)
        st = repo.source_state(conn, "picum")
        assert st.url == "https://picum.org/other.xml"
        assert st.etag is None and st.body_hash is None and st.backlog_done is False
        assert repo.set_source_status(conn, "picum", "paused", NOW)
        assert repo.source_state(conn, "picum").status == "paused"
        assert not repo.set_source_status(conn, "nope", "paused", NOW)


def test_state_survives_reopening_the_database(db_url):
    url = db_url
    eng = open_database(url)
    with eng.begin() as conn:
        repo.ensure_sources(conn, [("picum", "https://picum.org/feed/")], NOW)
        repo.update_source(conn, "picum", etag="e1", last_modified="Sun, 22 Nov 2026 10:00:00 GMT")
    eng.dispose()
    eng = open_database(url)
    with eng.connect() as conn:
        st = repo.source_state(conn, "picum")
        assert (st.etag, st.last_modified) == ("e1", "Sun, 22 Nov 2026 10:00:00 GMT")
    eng.dispose()


def test_recent_item_count_uses_published_else_first_seen(engine):
    week_ago = NOW - timedelta(days=7)
    with engine.begin() as conn:
        repo.insert_item(conn, item(guid="1", url="u1", published=NOW - timedelta(days=1)), NOW)
        repo.insert_item(conn, item(guid="2", url="u2", published=NOW - timedelta(days=30)), NOW)
        repo.insert_item(conn, item(guid="3", url="u3"), NOW)                     # undated, seen live
        repo.insert_item(conn, item(guid="4", url="u4"), NOW, is_backlog=True)    # undated backlog
        repo.insert_item(conn, item(source="ecre", guid="5", url="u5", published=NOW), NOW)
        assert repo.recent_item_count(conn, "picum", week_ago) == 2


def test_full_text_index_follows_inserts_updates_and_deletes(engine):
    with engine.begin() as conn:
        a = repo.insert_item(conn, item(title="Children held in detention", summary="Réfugiés à Calais"), NOW)
        b = repo.insert_item(conn, item(guid="b", url="u-b", title="Sea rescue ship seized"),
                             NOW + timedelta(days=2))
    with engine.connect() as conn:
        assert search_item_ids(conn, ["detention"]) == [a]
        assert search_item_ids(conn, ["refugies"]) == [a]          # accents folded
        assert search_item_ids(conn, ["deten"], prefix=[True]) == [a]
        assert set(search_item_ids(conn, ["detention", "rescue"], any_term=True)) == {a, b}
        assert search_item_ids(conn, ["detention", "rescue"]) == []
        assert search_item_ids(conn, ["rescue"], since=NOW + timedelta(days=1)) == [b]
        assert search_item_ids(conn, ["detention"], since=NOW + timedelta(days=1)) == []
        assert search_item_ids(conn, ['"); DROP TABLE items; --']) == []  # quoted, not injected
    with engine.begin() as conn:
        conn.execute(items.update().where(items.c.id == a).values(title="Camp closed"))
        conn.execute(items.update().where(items.c.id == b).values(story_id=None))  # not an indexed column
    with engine.connect() as conn:
        assert search_item_ids(conn, ["detention"]) == []
        assert search_item_ids(conn, ["camp"]) == [a]
        assert search_item_ids(conn, ["seized"]) == [b]
    with engine.begin() as conn:
        conn.execute(items.delete().where(items.c.id == b))
        assert search_item_ids(conn, ["seized"]) == []


def test_fts_expression_quotes_terms():
    assert fts_expression(["a", 'b"c']) == '"a" "b""c"'
    assert fts_expression(["x", "y"], any_term=True, prefix=[False, True]) == '"x" OR "y"*'


def test_sources_table_has_no_rows_until_ensured(engine):
    with engine.connect() as conn:
        assert conn.execute(select(sources)).first() is None


def test_failing_sources_are_the_configured_ones_longest_failing_first(engine):
    with engine.begin() as conn:
        repo.ensure_sources(conn, [(s, f"https://{s}.example/") for s in ("new", "old", "fine", "gone")], NOW)
        repo.update_sources(conn, [
            {"id": "new", "status": "failing", "failing_since": NOW - timedelta(hours=1)},
            {"id": "old", "status": "failing", "failing_since": NOW - timedelta(days=2)},
            {"id": "fine", "status": "ok", "failing_since": None},
            {"id": "gone", "status": "failing", "failing_since": NOW - timedelta(days=9)},
        ])
        repo.ensure_sources(conn, [(s, f"https://{s}.example/") for s in ("new", "old", "fine")], NOW)  # gone: removed
    with engine.connect() as conn:
        assert [r.id for r in repo.failing_sources(conn)] == ["old", "new"]
