"""The Poller against the real feed server on 127.0.0.1, on a real SQLite file and a real
PostgreSQL database (the `db_url` fixture runs each test on both)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from sqlalchemy import select

import bot.parse
from bot.config.sources import load_sources
from bot.config.themes import load_themes
from bot.delivery.destinations import sync_config_destinations
from bot.errors import NewsbotError
from bot.ingest.fetch import Fetcher, FetchPolicy
from bot.ingest.pipeline import Poller
from bot.storage import repo
from bot.storage.db import open_database
from bot.storage.schema import deliveries, hits, items

START = datetime.now(timezone.utc).replace(microsecond=0)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw) -> None:
        self.now += timedelta(**kw)


def rss(entries: list[tuple[str, str, str]], *, ttl: int | None = None, base: datetime = START) -> bytes:
    """entries: (guid, link, title); the first is the newest, an hour apart."""
    out = []
    for n, (guid, link, title) in enumerate(entries):
        when = format_datetime(base - timedelta(hours=n + 1), usegmt=True)
        out.append(f"<item><guid isPermaLink='false'>{guid}</guid><link>{link}</link><title>{title}</title>"
                   f"<description>Report about {title}.</description><pubDate>{when}</pubDate></item>")
    ttl_tag = f"<ttl>{ttl}</ttl>" if ttl else ""
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>T</title>"
            f"<link>https://example.org/</link><description>d</description>{ttl_tag}{''.join(out)}"
            f"</channel></rss>").encode()


RULE = """theme: detention
title: Immigration detention
priority: high
rules:
  - id: detention-en
    query: 'detention AND (migrant OR migrants OR asylum OR refugee)'
"""


@pytest.fixture
def env(tmp_path, feedserver, db_url):
    """A config dir writer, the database, the clock, and a Poller factory."""
    cfg_dir = tmp_path / "cfg"
    (cfg_dir / "rules").mkdir(parents=True)
    (cfg_dir / "rules" / "detention.yaml").write_text(RULE)
    engine = open_database(db_url)   # SQLite and PostgreSQL (tests/support/fixtures_db.py)
    clock = Clock()

    class Env:
        server = feedserver
        dir = cfg_dir

        def __init__(self) -> None:
            self.engine, self.clock = engine, clock

        def sources(self, *entries: str) -> None:
            """entries: 'id path [extra yaml]' lines."""
            body = ["defaults:", "  interval: 30m", "  language: en", "sources:"]
            for e in entries:
                sid, path, *extra = e.split(" ", 2)
                body += [f"  - id: {sid}", f"    url: {feedserver.url(path)}"]
                body += [f"    {x}" for x in (extra[0].split(";") if extra else [])]
            (cfg_dir / "sources.yaml").write_text("\n".join(body) + "\n")

        def serve_under(self, hosts: dict[str, str]) -> None:
            """Point each source at `path` under the host name hosts[path] (same server, the
            Fetcher's resolver maps the names to 127.0.0.1): distinct hosts for the crew."""
            port = feedserver.port
            text = (cfg_dir / "sources.yaml").read_text()
            for path, host in hosts.items():
                text = text.replace(f"127.0.0.1:{port}{path}", f"{host}:{port}{path}")
            (cfg_dir / "sources.yaml").write_text(text)

        async def poll(self, *ids: str, due_only: bool = True, timeout: float = 5.0):
            policy = FetchPolicy(allow_private=True, timeout=timeout)
            async with Fetcher(policy) as fetcher:
                poller = Poller(self.engine, load_sources(cfg_dir), load_themes(cfg_dir), fetcher, clock)
                return await poller.poll(list(ids) or None, due_only=due_only)

        def state(self, sid: str):
            with engine.connect() as conn:
                return repo.source_state(conn, sid)

        def rows(self, table, *where):
            with engine.connect() as conn:
                return list(conn.execute(select(table).where(*where)))

    yield Env()
    engine.dispose()


@pytest.fixture
def parse_calls(monkeypatch):
    """Counts parse_document calls (the real parser still runs)."""
    calls: list[str] = []
    real = bot.parse.parse_document

    def counting(body, **kw):
        calls.append(kw["url"])
        return real(body, **kw)

    monkeypatch.setattr(bot.parse, "parse_document", counting)
    return calls


async def test_new_items_stored_once_then_conditional_get_parses_nothing(env, parse_calls):
    feed = rss([("a1", "https://picum.org/a1", "Migrants in detention"), ("a2", "https://picum.org/a2", "Other news")])
    env.server.add("/etag.xml", feed, etag='"v1"')
    env.server.add("/lm.xml", rss([("b1", "https://ecre.org/b1", "Asylum ruling")]),
                   last_modified="Sat, 21 Nov 2026 10:00:00 GMT")
    env.server.add("/plain.xml", rss([("c1", "https://x.org/c1", "Plain feed")]))  # no validators at all
    env.sources("picum /etag.xml", "ecre /lm.xml", "plain /plain.xml")

    first = await env.poll()
    assert (first.polled, first.new_items, first.failed) == (3, 4, 0), first.results
    assert {r.source_id: r.outcome for r in first.results} == {"picum": "changed", "ecre": "changed", "plain": "changed"}
    assert len(parse_calls) == 3
    stored = env.rows(items)
    assert sorted(r.guid for r in stored) == ["a1", "a2", "b1", "c1"]
    a1 = next(r for r in stored if r.guid == "a1")
    assert a1.url == "https://picum.org/a1" and a1.story_id is not None and a1.language == "en"
    st = env.state("picum")
    assert (st.status, st.etag, st.items_seen, st.error_count) == ("ok", '"v1"', 2, 0)
    assert st.body_hash and st.last_success_at == START and st.next_poll_at > START

    env.clock.advance(days=2)  # everything due again
    second = await env.poll()
    assert (second.polled, second.new_items, second.failed) == (3, 0, 0)
    assert {r.outcome for r in second.results} == {"unchanged"}
    assert len(parse_calls) == 3  # nothing parsed on the second poll
    assert env.server.requests_for("/etag.xml")[-1].headers["if-none-match"] == '"v1"'
    assert env.server.requests_for("/lm.xml")[-1].headers["if-modified-since"] == "Sat, 21 Nov 2026 10:00:00 GMT"
    assert len(env.rows(items)) == 4
    assert env.state("plain").last_success_at == env.clock.now  # unchanged by hash is a success


async def test_changed_feed_stores_only_new_items_and_restart_keeps_state(env, db_url):
    env.server.add("/f.xml", rss([("a1", "https://picum.org/a1", "One")]), etag='"v1"')
    env.sources("picum /f.xml")
    await env.poll()
    env.server.add("/f.xml", rss([("a2", "https://picum.org/a2", "Two"), ("a1", "https://picum.org/a1", "One")]),
                   etag='"v2"')
    env.clock.advance(days=1)
    res = await env.poll()
    assert res.new_items == 1 and res.results[0].backlog is False
    # a fresh engine on the same file (a restart) still sends the stored ETag
    env.engine.dispose()
    env.engine = open_database(db_url)
    env.clock.advance(days=1)
    res = await env.poll()
    assert res.results[0].outcome == "unchanged"
    assert env.server.requests_for("/f.xml")[-1].headers["if-none-match"] == '"v2"'
    env.engine.dispose()


async def test_failures_are_classified_stored_and_do_not_stop_others(env):
    env.server.add("/ok.xml", rss([("o1", "https://ok.org/1", "Fine")]))
    env.server.add("/gone.xml", status=404, body=b"nope", content_type="text/plain")
    env.server.add("/down.xml", status=503, body=b"down", content_type="text/plain")
    env.server.add("/busy.xml", status=429, headers={"Retry-After": "7200"})
    env.server.add("/page.html", b"<html><head><title>x</title></head><body><p>No feed here</p></body></html>",
                   content_type="text/html")
    env.server.add("/reset.xml", reset=True)
    env.server.add("/slow.xml", rss([("s1", "https://s.org/1", "Slow")]), trickle=0.05)
    env.sources("ok /ok.xml", "gone /gone.xml", "down /down.xml", "busy /busy.xml", "page /page.html",
                "reset /reset.xml", "slow /slow.xml")

    res = await env.poll(timeout=1.0)
    kinds = {r.source_id: r.error_kind for r in res.results}
    assert kinds == {"ok": None, "gone": "not-found", "down": "server-error", "busy": "rate-limited",
                     "page": "not-a-feed", "reset": "network", "slow": "timeout"}
    assert res.failures == {"not-found": 1, "server-error": 1, "rate-limited": 1, "not-a-feed": 1,
                            "network": 1, "timeout": 1}
    assert res.new_items == 1 and env.state("ok").status == "ok"
    gone = env.state("gone")
    assert (gone.status, gone.last_error_kind, gone.error_count, gone.failing_since) == ("failing", "not-found", 1, START)
    assert "404" in gone.last_error
    # Retry-After (2h) is honoured as a floor on the backoff
    assert env.state("busy").next_poll_at >= START + timedelta(hours=2)

    # second failure: backoff grows, failing_since stays; not due before then
    env.clock.advance(days=1)
    await env.poll("gone")
    gone2 = env.state("gone")
    assert gone2.error_count == 2 and gone2.failing_since == START
    assert gone2.next_poll_at - env.clock.now >= timedelta(minutes=54)   # 2 x 30m, -10% jitter

    # recovery resets the error state
    env.server.add("/gone.xml", rss([("g1", "https://gone.org/1", "Back")]))
    env.clock.advance(days=1)
    await env.poll("gone")
    back = env.state("gone")
    assert (back.status, back.error_count, back.last_error_kind, back.failing_since) == ("ok", 0, None, None)


async def test_backlog_is_stored_and_matched_but_not_queued(env):
    from bot.config.deliveries import load_deliveries

    (env.dir / "deliveries.yaml").write_text(
        "telegram:\n  chats:\n    - chat: 1234\n      name: Alerts\n      alerts: instant\n      digest: 'off'\n")
    with env.engine.begin() as conn:
        sync_config_destinations(conn, load_deliveries(env.dir), START)
    env.server.add("/f.xml", rss([("a1", "https://picum.org/a1", "Migrants held in detention in Greece")]))
    env.sources("picum /f.xml")
    first = await env.poll()
    assert first.results[0].backlog is True and first.hits == 1 and first.queued == 0
    old = env.rows(items)[0]
    assert old.is_backlog is True and old.countries == ["GR"] and old.regions == ["Europe"]
    hit = env.rows(hits)[0]
    assert hit.theme == "detention" and hit.priority == "high"
    assert hit.explanations and hit.explanations[0]["rule"] == "detention-en"
    assert env.rows(deliveries) == []

    env.server.add("/f.xml", rss([("a2", "https://picum.org/a2", "Asylum seekers face detention in Malta"),
                                  ("a1", "https://picum.org/a1", "Migrants held in detention in Greece")]))
    env.clock.advance(days=1)
    second = await env.poll()
    assert second.results[0].backlog is False and second.new_items == 1 and second.hits == 1
    assert second.queued >= 1
    queued = env.rows(deliveries)
    assert queued and all(d.status == "queued" for d in queued)
    new = next(r for r in env.rows(items) if r.guid == "a2")
    assert new.is_backlog is False and new.countries == ["MT"]


async def test_items_naming_no_place_get_their_sources_country(env):
    """Issue 14: a local outlet's items rarely name their own country; a named place wins."""
    env.server.add("/f.xml", rss([("k1", "https://ekathimerini.com/k1", "Council votes on shelter budget"),
                                  ("k2", "https://ekathimerini.com/k2", "Rescue ship detained in Crotone port")]))
    env.sources("kathimerini /f.xml country: GR", "plain /f.xml")
    await env.poll("kathimerini")
    by_guid = {r.guid: r for r in env.rows(items)}
    assert by_guid["k1"].countries == ["GR"] and by_guid["k1"].regions == ["Europe"]
    assert by_guid["k2"].countries == ["IT"]


async def test_sources_sharing_a_canonical_url_each_keep_their_item_in_one_story(env):
    env.server.add("/one.xml", rss([("x1", "https://news.org/story?id=7", "Same story")]))
    env.server.add("/two.xml", rss([("y9", "https://news.org/story?id=7&utm_source=rss#top", "Same story again")]))
    env.sources("one /one.xml", "two /two.xml")
    res = await env.poll()
    # each source keeps its own item of the canonical URL; the two are one story
    assert res.new_items == 2
    rows = env.rows(items)
    assert sorted((r.source_id, r.url) for r in rows) == [
        ("one", "https://news.org/story?id=7"), ("two", "https://news.org/story?id=7")]
    assert rows[0].story_id == rows[1].story_id is not None


async def test_due_paused_named_and_unknown_sources(env):
    env.server.add("/a.xml", rss([("a1", "https://a.org/1", "A")]), etag='"a"')
    env.server.add("/b.xml", rss([("b1", "https://b.org/1", "B")]))
    env.sources("a /a.xml", "b /b.xml", "off /a.xml enabled: false")
    res = await env.poll()
    assert sorted(r.source_id for r in res.results) == ["a", "b"]          # disabled one skipped
    assert (await env.poll()).polled == 0                                   # nothing due yet
    assert [r.source_id for r in (await env.poll("a")).results] == ["a"]   # named: polled anyway
    with env.engine.begin() as conn:
        repo.set_source_status(conn, "b", "paused", env.clock.now)
    env.clock.advance(days=2)
    assert [r.source_id for r in (await env.poll()).results] == ["a"]      # paused skipped
    res = await env.poll("b", "off")                                       # unless named
    assert sorted(r.source_id for r in res.results) == ["b", "off"]
    assert env.state("b").status == "paused"                               # and stays paused
    with pytest.raises(NewsbotError, match="unknown source id"):
        await env.poll("nope")


async def test_adaptive_interval_and_ttl_survive_unchanged_polls(env):
    # With max_interval (the opt-in slow-down): 50 items in the last 50 hours:
    # 7d / 50 / 2 = 100.8 min; <ttl>180</ttl> is the floor
    entries = [(f"t{n}", f"https://t.org/{n}", f"Item {n}") for n in range(50)]
    env.server.add("/busy.xml", rss(entries, ttl=180), etag='"t"')
    env.server.add("/quiet.xml", rss([("q1", "https://q.org/1", "Q")]), etag='"q"')
    env.sources("busy /busy.xml max_interval: 24h", "quiet /quiet.xml max_interval: 24h")
    await env.poll()
    busy, quiet = env.state("busy"), env.state("quiet")
    assert busy.ttl_minutes == 180 and busy.interval_seconds == 180 * 60
    assert quiet.interval_seconds == 24 * 3600          # one item a week: the max_interval
    assert busy.next_poll_at == START + timedelta(minutes=180)
    env.clock.advance(hours=3)
    res = await env.poll()
    assert [r.outcome for r in res.results] == ["unchanged"]
    # the 304 parsed nothing, yet the stored <ttl> still holds the interval
    assert env.state("busy").interval_seconds == 180 * 60


async def test_quiet_sources_keep_their_configured_interval(env):
    # Without max_interval the configured 30m is the slowest a healthy source is polled:
    # a source with one item a week, and a <ttl> of 3 hours, are still polled every 30 min;
    # a busy one (two feeds' worth: 2 x 160 items in 160 hours: 7d / 320 / 2 = 15.75 min) faster.
    first = rss([(f"t{n}", f"https://t.org/{n}", f"Item {n}") for n in range(160)])
    second = rss([(f"u{n}", f"https://u.org/{n}", f"Other {n}") for n in range(160)], base=START - timedelta(minutes=30))
    items_of = lambda body: body.split(b"</description>", 1)[1].rsplit(b"</channel>", 1)[0]  # noqa: E731
    env.server.add("/busy.xml", first.replace(b"</channel>", items_of(second) + b"</channel>"), etag='"t"')
    env.server.add("/ttl.xml", rss([("l1", "https://l.org/1", "L")], ttl=180), etag='"l"')
    env.server.add("/quiet.xml", rss([("q1", "https://q.org/1", "Q")]), etag='"q"')
    env.sources("busy /busy.xml", "ttl /ttl.xml", "quiet /quiet.xml")
    await env.poll()
    assert env.state("quiet").interval_seconds == 30 * 60
    assert env.state("ttl").interval_seconds == 30 * 60
    assert env.state("busy").interval_seconds == int(7 * 86400 / 320 / 2)
    env.clock.advance(minutes=30)
    res = await env.poll()                               # all due again, all unchanged
    assert sorted(r.source_id for r in res.results) == ["busy", "quiet", "ttl"]
    assert env.state("quiet").interval_seconds == 30 * 60


async def test_parsing_in_a_worker_process(env):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    env.server.add("/f.xml", rss([("w1", "https://w.org/1", "Migrants in detention")]))
    env.server.add("/page.html", b"<html><body><p>no feed</p></body></html>", content_type="text/html")
    env.sources("w /f.xml", "page /page.html")
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        async with Fetcher(FetchPolicy(allow_private=True, timeout=5)) as fetcher:
            poller = Poller(env.engine, load_sources(env.dir), load_themes(env.dir), fetcher, env.clock,
                            parse_executor=pool)
            res = await poller.poll()
    outcome = {r.source_id: (r.outcome, r.error_kind, r.new_items) for r in res.results}
    # the worker's SourceFailure comes back classified, not as a pickling failure
    assert outcome == {"w": ("changed", None, 1), "page": ("failed", "not-a-feed", 0)}
    assert [r.guid for r in env.rows(items)] == ["w1"]


async def test_lease_owner_claims_due_sources_and_frees_them(env):
    from bot.storage.schema import sources as sources_table

    env.server.add("/a.xml", rss([("a1", "https://a.org/1", "A")]))
    env.server.add("/b.xml", status=404, body=b"x", content_type="text/plain")
    env.sources("a /a.xml", "b /b.xml", "off /a.xml enabled: false")
    async with Fetcher(FetchPolicy(allow_private=True, timeout=5)) as fetcher:
        poller = Poller(env.engine, load_sources(env.dir), load_themes(env.dir), fetcher, env.clock,
                        lease_owner="worker-1", lease_ttl=60.0)
        res = await poller.poll()
        assert sorted(r.source_id for r in res.results) == ["a", "b"]   # disabled never claimed
        leased = env.rows(sources_table, sources_table.c.lease_owner.is_not(None))
        assert leased == []                                              # every poll freed its lease
        assert (await poller.poll()).polled == 0                         # nothing due
        # a source leased by another live worker is not polled
        env.clock.advance(days=2)
        with env.engine.begin() as conn:
            conn.execute(sources_table.update().where(sources_table.c.id == "a").values(
                lease_owner="worker-2", lease_until=datetime.now(timezone.utc) + timedelta(minutes=5)))
        assert [r.source_id for r in (await poller.poll()).results] == ["b"]


async def test_sources_of_one_host_share_kept_alive_connections(env):
    """The crew polls a host's sources one after another on one kept-alive connection, even
    when the list interleaves hosts: with one connection at a time, sources a, b, a, b, a, b
    on two hosts take two connections, not six."""
    entries = []
    for i in range(6):
        env.server.add(f"/f{i}.xml", rss([(f"g{i}", f"https://h.org/{i}", f"Item {i}")]))
        entries.append(f"s{i} /f{i}.xml")
    env.sources(*entries)
    # the same server under two host names, interleaved
    env.serve_under({f"/f{i}.xml": f"{'ab'[i % 2]}.newsbot-test" for i in range(6)})
    policy = FetchPolicy(allow_private=True, timeout=5, max_connections=1)
    async with Fetcher(policy, resolver=lambda host, port: ["127.0.0.1"]) as fetcher:
        res = await Poller(env.engine, load_sources(env.dir), load_themes(env.dir), fetcher, env.clock).poll()
    assert res.polled == 6 and res.changed == 6
    ports = {r.client[1] for r in env.server.requests}
    assert len(env.server.requests) == 6 and len(ports) == 2


async def test_crew_widens_while_servers_are_slow(env, monkeypatch):
    """Sixteen sources on sixteen hosts, each answering after 0.3 s: the crew starts with
    four threads polling at once, and since the process is idle while it waits, more go in
    (bot.ingest.crew_gate), and the next cycle starts where this one ended."""
    from bot.ingest import pipeline
    from support.feedserver import Route
    from support.inflight import InFlight

    in_flight = InFlight()
    starts: list[int] = []

    class RecordedGate(pipeline.CrewGate):
        def __init__(self, most: int, start: int, **kw) -> None:
            super().__init__(most, start, **kw)
            starts.append(self.limit)

    monkeypatch.setattr(pipeline, "CrewGate", RecordedGate)

    def slow(path: str) -> Callable:
        body = rss([(path, f"https://h.org{path}", f"Item {path}")])

        def answer(req) -> Route:
            with in_flight:
                time.sleep(0.3)
            return Route(body=body)
        return answer

    entries = []
    for i in range(16):
        env.server.add(f"/s{i}.xml", handler=slow(f"/s{i}.xml"))
        entries.append(f"s{i} /s{i}.xml")
    env.sources(*entries)
    env.serve_under({f"/s{i}.xml": f"h{i}.newsbot-test" for i in range(16)})
    policy = FetchPolicy(allow_private=True, timeout=5, max_connections=16)
    async with Fetcher(policy, resolver=lambda host, port: ["127.0.0.1"]) as fetcher:
        poller = Poller(env.engine, load_sources(env.dir), None, fetcher, env.clock)
        res = await poller.poll()
        assert res.polled == 16 and res.failed == 0
        assert in_flight.most > 4
        widened, in_flight.most = poller._crew_limit, 0
        assert widened > 4
        env.clock.advance(days=1)
        await poller.poll()
    # How far the second cycle's crew gets depends on the machine's load while it runs (a
    # busy CI host shrinks it again), so the carried-over limit is checked where it is used.
    assert starts == [4, widened]
    assert in_flight.most > 4


async def test_a_page_is_polled_through_the_feed_the_probe_finds(env):
    """One discovery (bot.ingest.discovery) for `sources add` and the poller: the probe of a
    page and the poll of a `type: auto` source there find the same feed and the same items.
    The poller then polls the feed itself, where the link's redirect led."""
    from bot.ingest.probe import probe

    page = (b"<!doctype html><html><head><title>Blog</title><link rel='alternate' "
            b"type='application/rss+xml' href='/blog/feed.xml'></head><body><p>Hello</p></body></html>")
    env.server.add("/blog/", page, content_type="text/html; charset=utf-8")
    env.server.redirect("/blog/feed.xml", "/feeds/blog.xml", status=301)
    env.server.add("/feeds/blog.xml", rss([("d1", "https://blog.example/d1", "Migrants held in detention"),
                                           ("d2", "https://blog.example/d2", "Other news")]))
    env.sources("blog /blog/")

    found = await probe(env.server.url("/blog/"), FetchPolicy(allow_private=True, timeout=5))
    assert found.discovered and found.feed_url == env.server.url("/blog/feed.xml")
    assert (found.items, found.titles) == (2, ("Migrants held in detention", "Other news"))

    first = await env.poll()
    assert [(r.source_id, r.outcome, r.new_items) for r in first.results] == [("blog", "changed", found.items)]
    assert sorted(r.title for r in env.rows(items)) == sorted(found.titles)
    assert env.state("blog").feed_url == env.server.url("/feeds/blog.xml")

    asked = len(env.server.requests_for("/blog/"))
    env.clock.advance(hours=2)
    again = await env.poll()
    assert [r.outcome for r in again.results] == ["unchanged"]
    assert len(env.server.requests_for("/blog/")) == asked   # the page is not fetched again


async def test_a_page_without_a_feed_link_is_refused_by_the_probe_and_fails_the_poll(env):
    from bot.ingest.probe import ProbeError, probe

    env.server.add("/plain/", b"<!doctype html><html><head><title>P</title></head><body><p>Hi</p></body></html>",
                   content_type="text/html; charset=utf-8")
    env.sources("plain /plain/")
    with pytest.raises(ProbeError, match="an HTML page with no feed link"):
        await probe(env.server.url("/plain/"), FetchPolicy(allow_private=True, timeout=5))
    res = await env.poll()
    assert [(r.outcome, r.error_kind) for r in res.results] == [("failed", "not-a-feed")]
