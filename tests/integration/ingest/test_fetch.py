"""bot.ingest.fetch against the real feed server on 127.0.0.1: every failure kind, redirects,
conditional GET, slow and oversized responses, compression, TLS, the private-network guard."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import socket
import ssl
import threading
import time
from datetime import datetime, timezone

import pytest
import trustme

from bot.errors import FAILURE_KINDS, SourceFailure
from bot.ingest.fetch import Fetcher, FetchPolicy, FetchResult
from bot.ingest.fetch_policy import max_age_seconds, retry_after_seconds
from bot.ingest.netguard import is_public_address

RSS = ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>T</title>"
       "<item><title>Détention à Calais</title><link>https://example.org/a</link></item>"
       "</channel></rss>").encode()
LAST_MOD = "Sat, 01 Nov 2025 10:00:00 GMT"


def policy(**kw) -> FetchPolicy:
    kw.setdefault("allow_private", True)
    kw.setdefault("timeout", 5.0)
    return FetchPolicy(**kw)


async def fetch(url: str, pol: FetchPolicy | None = None, **kw) -> FetchResult:
    async with Fetcher(pol or policy()) as f:
        return await f.fetch(url, **kw)


async def fail(url: str, pol: FetchPolicy | None = None, **kw) -> SourceFailure:
    with pytest.raises(SourceFailure) as info:
        await fetch(url, pol, **kw)
    assert info.value.kind in FAILURE_KINDS
    return info.value


async def test_plain_fetch_sends_user_agent_and_hashes_body(feedserver):
    url = feedserver.add("/feed.xml", RSS, etag='"v1"', last_modified=LAST_MOD,
                         headers={"Cache-Control": "public, max-age=600", "Expires": "Sat, 01 Nov 2025 11:00:00 GMT"})
    r = await fetch(url)
    assert (r.status, r.not_modified, r.body) == (200, False, RSS)
    assert r.body_hash == hashlib.sha256(RSS).hexdigest()
    assert (r.etag, r.last_modified) == ('"v1"', LAST_MOD)
    assert r.url == url and r.redirects == [] and r.http_version == "HTTP/1.1"
    assert r.max_age == 600
    assert r.expires == datetime(2025, 11, 1, 11, 0, tzinfo=timezone.utc)
    req = feedserver.requests_for("/feed.xml")[0]
    assert req.headers["user-agent"].startswith("newsbot/")
    assert "br" in req.headers["accept-encoding"] and "gzip" in req.headers["accept-encoding"]
    assert "if-none-match" not in req.headers


async def test_conditional_get_returns_not_modified(feedserver):
    url = feedserver.add("/feed.xml", RSS, etag='"v1"', last_modified=LAST_MOD)
    first = await fetch(url)
    second = await fetch(url, etag=first.etag, last_modified=first.last_modified)
    assert second.status == 304 and second.not_modified
    assert second.body == b"" and second.body_hash is None
    assert second.etag == '"v1"' and second.last_modified == LAST_MOD
    req = feedserver.requests_for("/feed.xml")[-1]
    assert req.headers["if-none-match"] == '"v1"'
    assert req.headers["if-modified-since"] == LAST_MOD


async def test_last_modified_alone_gives_304_and_changed_etag_gives_body(feedserver):
    url = feedserver.add("/lm.xml", RSS, last_modified=LAST_MOD)
    assert (await fetch(url, last_modified=LAST_MOD)).not_modified
    url = feedserver.add("/et.xml", RSS, etag='"v2"')
    r = await fetch(url, etag='"v1"')
    assert r.status == 200 and r.body == RSS and r.etag == '"v2"'


@pytest.mark.parametrize("encoding", ["gzip", "br", "deflate"])
async def test_compressed_bodies_are_decoded(feedserver, encoding):
    url = feedserver.add("/c.xml", RSS * 20, encoding=encoding)
    r = await fetch(url)
    assert r.body == RSS * 20
    assert r.headers["content-encoding"] == encoding


async def test_broken_compression_is_classified(feedserver):
    url = feedserver.add("/bad.xml", RSS, encoding="broken-gzip")
    err = await fail(url)
    assert err.kind == "http-error" and "decode" in err.message


async def test_redirect_chain_followed_to_final_url(feedserver):
    final = feedserver.add("/final.xml", RSS)
    feedserver.redirect("/a", "/b", status=301)
    feedserver.redirect("/b", feedserver.url("/c"), status=307)
    feedserver.redirect("/c", "final.xml", status=308)
    r = await fetch(feedserver.url("/a"))
    assert r.url == final and r.body == RSS
    assert r.redirects == [feedserver.url(p) for p in ("/a", "/b", "/c")]
    assert not r.permanent  # 307 on the way
    feedserver.redirect("/p1", "/p2", status=301)
    feedserver.redirect("/p2", "/final.xml", status=308)
    assert (await fetch(feedserver.url("/p1"))).permanent


async def test_conditional_headers_survive_redirects(feedserver):
    feedserver.add("/final.xml", RSS, etag='"v1"')
    feedserver.redirect("/moved", "/final.xml", status=301)
    r = await fetch(feedserver.url("/moved"), etag='"v1"')
    assert r.not_modified
    assert feedserver.requests_for("/final.xml")[-1].headers["if-none-match"] == '"v1"'


async def test_too_many_redirects_and_loops(feedserver):
    for i in range(4):
        feedserver.redirect(f"/r{i}", f"/r{i + 1}")
    feedserver.add("/r4", RSS)
    assert (await fetch(feedserver.url("/r0"), policy(max_redirects=4))).body == RSS
    err = await fail(feedserver.url("/r0"), policy(max_redirects=3))
    assert err.kind == "http-error" and "more than 3 redirects" in err.message
    feedserver.redirect("/loop1", "/loop2")
    feedserver.redirect("/loop2", "/loop1")
    err = await fail(feedserver.url("/loop1"))
    assert err.kind == "http-error" and "loop" in err.message


async def test_redirect_without_location_and_to_other_scheme(feedserver):
    feedserver.add("/noloc", status=302, content_type=None)
    assert (await fail(feedserver.url("/noloc"))).kind == "http-error"
    feedserver.redirect("/ftp", "ftp://example.org/feed")
    err = await fail(feedserver.url("/ftp"))
    assert err.kind == "blocked" and "ftp" in err.message


@pytest.mark.parametrize("status,kind", [
    (401, "forbidden"), (403, "forbidden"), (404, "not-found"), (410, "not-found"),
    (429, "rate-limited"), (500, "server-error"), (503, "server-error"), (418, "http-error"),
    (300, "http-error"),
])
async def test_status_codes_are_classified(feedserver, status, kind):
    url = feedserver.add(f"/s{status}", b"error page", status=status, content_type="text/html")
    err = await fail(url)
    assert err.kind == kind
    assert err.status == status and str(status) in err.message


async def test_rate_limited_carries_retry_after_seconds_and_dates(feedserver):
    url = feedserver.add("/busy", status=429, headers={"Retry-After": "120"})
    err = await fail(url)
    assert err.kind == "rate-limited" and err.retry_after == 120.0
    now = datetime(2025, 11, 1, 10, 0, tzinfo=timezone.utc)
    url = feedserver.add("/busy2", status=503, headers={"Retry-After": "Sat, 01 Nov 2025 10:05:00 GMT"})
    with pytest.raises(SourceFailure) as info:
        async with Fetcher(policy(), clock=lambda: now) as f:
            await f.fetch(url)
    assert info.value.kind == "server-error" and info.value.retry_after == 300.0


async def test_slow_server_times_out(feedserver):
    url = feedserver.add("/slow", b"x" * 200, trickle=0.02)  # 4 s in all, a byte at a time
    loop = asyncio.get_running_loop()
    started = loop.time()
    err = await fail(url, policy(timeout=0.5))
    assert err.kind == "timeout" and "0.5" in err.message
    assert loop.time() - started < 3  # the deadline covers the whole body, not each read


@pytest.mark.parametrize("content_length", [True, False])
async def test_oversized_body_is_refused(feedserver, content_length):
    url = feedserver.add("/big", b"<rss>" + b"x" * 300_000, content_length=content_length)
    err = await fail(url, policy(max_size=100_000))
    assert err.kind == "too-large" and "100,000" in err.message
    # With a declared length the refusal comes before the body; without, while streaming.
    assert ("declares" in err.message) is content_length


async def test_size_cap_counts_decompressed_bytes(feedserver):
    bomb = b"<rss>" + b" " * 2_000_000
    assert len(gzip.compress(bomb)) < 100_000
    url = feedserver.add("/bomb", bomb, encoding="gzip")
    err = await fail(url, policy(max_size=1_000_000))
    assert err.kind == "too-large"


def _zeros_compressed(encoding: str, total: int) -> bytes:
    """`total` zero bytes, compressed without holding them: a bomb of a few hundred bytes."""
    import zlib

    import brotli

    block = bytes(1 << 20)
    if encoding == "br":
        c = brotli.Compressor(quality=5)
        return b"".join(c.process(block) for _ in range(total >> 20)) + c.finish()
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    inner = b"".join(z.compress(block) for _ in range(total >> 20)) + z.flush()
    return gzip.compress(inner)   # "gzip, gzip"


@pytest.mark.parametrize("encoding", ["br", "gzip, gzip"])
async def test_bombs_stop_at_the_cap_without_being_decoded_whole(feedserver, encoding):
    """256 MB of zeros in a few hundred bytes: httpx decoded each received chunk whole (256 MB
    at once) before the cap could count it; decoded in bounded pieces, the peak of Python
    allocations stays near the 1 MB cap."""
    import tracemalloc

    body = _zeros_compressed(encoding.split(",")[0], 256 << 20)
    assert len(body) < 400_000
    url = feedserver.add("/bomb", body, headers={"Content-Encoding": encoding})
    tracemalloc.start()
    try:
        err = await fail(url, policy(max_size=1 << 20))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert err.kind == "too-large" and "once decoded" in err.message
    assert peak < 32 << 20, f"peak {peak / 2**20:.0f} MB of allocations"


@pytest.mark.parametrize("encoding,encode", [
    ("gzip, gzip", lambda b: gzip.compress(gzip.compress(b))),
    ("deflate", lambda b: __import__("zlib").compress(b)[2:-4]),   # raw deflate, no zlib header
    ("br", lambda b: __import__("brotli").compress(b)),
    ("identity", lambda b: b),
])
async def test_layered_and_raw_encodings_decode_to_the_body(feedserver, encoding, encode):
    big = RSS * 2000   # several decoding pieces
    url = feedserver.add("/enc", encode(big), headers={"Content-Encoding": encoding})
    assert (await fetch(url)).body == big


async def test_connection_refused_and_reset_are_network(feedserver):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    err = await fail(f"http://127.0.0.1:{port}/feed")
    assert err.kind == "network"
    url = feedserver.add("/reset", reset=True)
    assert (await fail(url)).kind == "network"


async def test_dns_failure_is_network():
    async def resolver(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(SourceFailure) as info:
        async with Fetcher(policy(), resolver=resolver) as f:
            await f.fetch("http://no-such-host.invalid/feed")
    assert info.value.kind == "network" and "DNS" in info.value.message


async def test_tls_failure_and_success_with_trusted_ca(feedserver):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    feedserver.add("/tls.xml", RSS)
    raw = feedserver._server.socket  # wrap the same listening socket in TLS
    feedserver._server.socket = server_ctx.wrap_socket(raw, server_side=True)
    url = feedserver.url("/tls.xml").replace("http://", "https://")
    err = await fail(url)  # not our CA: certificate verification fails
    assert err.kind == "tls"
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    async with Fetcher(policy(), verify=client_ctx) as f:
        r = await f.fetch(url)
    assert r.body == RSS


async def test_private_network_guard(feedserver):
    url = feedserver.add("/feed.xml", RSS)
    guarded = FetchPolicy(timeout=5.0)  # allow_private defaults to False
    err = await fail(url, guarded)
    assert err.kind == "blocked" and "127.0.0.1" in err.message
    assert feedserver.hits("/feed.xml") == 0  # refused before any connection
    err = await fail(feedserver.url("/feed.xml").replace("127.0.0.1", "localhost"), guarded)
    assert err.kind == "blocked"
    assert (await fetch(url, policy(allow_private=True))).body == RSS


async def test_guard_applies_after_every_redirect(feedserver):
    """Loopback is allowed only as 127.0.0.1/32 here, so the server is reachable, and a
    redirect to another loopback or private address must be refused."""
    feedserver.add("/feed.xml", RSS)
    feedserver.redirect("/to-private", "http://10.0.0.1/admin")
    feedserver.redirect("/to-loopback", f"http://127.0.0.2:{feedserver.port}/feed.xml")
    feedserver.redirect("/to-public-ok", "/feed.xml")
    pol = FetchPolicy(timeout=5.0, allowed_networks=("127.0.0.1/32",))
    assert (await fetch(feedserver.url("/to-public-ok"), pol)).body == RSS
    for path in ("/to-private", "/to-loopback"):
        err = await fail(feedserver.url(path), pol)
        assert err.kind == "blocked", path
    assert feedserver.hits("/feed.xml") == 1


async def test_guard_checks_every_resolved_address():
    """A name that resolves to a public and a private address is refused (DNS rebinding)."""
    async def resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "192.168.1.10"]

    with pytest.raises(SourceFailure) as info:
        async with Fetcher(FetchPolicy(timeout=2.0), resolver=resolver) as f:
            await f.fetch("http://rebind.example/feed")
    assert info.value.kind == "blocked" and "192.168.1.10" in info.value.message


async def test_only_http_urls(feedserver):
    for url in ("file:///etc/passwd", "ftp://example.org/x"):
        assert (await fail(url)).kind == "blocked"


class SlowCounting:
    """A feed-server handler that answers after 50 ms and records the peak of requests in flight."""

    def __init__(self) -> None:
        self.active = self.peak = 0
        self.lock = threading.Lock()

    def __call__(self, req):
        from support.feedserver import Route

        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(0.05)
        with self.lock:
            self.active -= 1
        return Route(body=RSS)


async def test_per_host_limit_bounds_concurrency(feedserver):
    handler = SlowCounting()
    url = feedserver.add("/c", handler=handler)
    async with Fetcher(policy(per_host=2)) as f:
        results = await asyncio.gather(*(f.fetch(f"{url}?n={i}") for i in range(8)))
    assert all(r.body == RSS for r in results)
    assert handler.peak == 2


@pytest.mark.parametrize("addr,public", [
    ("8.8.8.8", True), ("2a00:1450:4007:80f::200e", True), ("127.0.0.1", False), ("10.1.2.3", False),
    ("172.16.0.1", False), ("192.168.0.1", False), ("169.254.169.254", False), ("100.64.0.1", False),
    ("224.0.0.1", False), ("0.0.0.0", False), ("240.0.0.1", False), ("::1", False), ("fe80::1", False),
    ("fc00::1", False), ("::ffff:127.0.0.1", False), ("ff02::1", False),
])
def test_public_address_table(addr, public):
    import ipaddress
    assert is_public_address(ipaddress.ip_address(addr)) is public


def test_header_helpers():
    now = datetime(2025, 11, 1, 10, 0, tzinfo=timezone.utc)
    assert retry_after_seconds("30", now) == 30.0
    assert retry_after_seconds("Sat, 01 Nov 2025 10:01:00 GMT", now) == 60.0
    assert retry_after_seconds("Sat, 01 Nov 2025 09:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon", now) is None
    assert max_age_seconds({"cache-control": "max-age=300, must-revalidate"}) == 300
    assert max_age_seconds({"cache-control": "no-cache, max-age=300"}) is None
    assert max_age_seconds({}) is None


async def test_connections_are_kept_alive_across_304s_and_redirects(feedserver):
    feedserver.add("/feed.xml", RSS, etag='"v1"')
    feedserver.redirect("/old", "/feed.xml", status=301)
    async with Fetcher(policy(per_host=1)) as f:
        for _ in range(3):
            assert (await f.fetch(feedserver.url("/old"), etag='"v1"')).not_modified
    ports = {r.client[1] for r in feedserver.requests}
    assert len(feedserver.requests) == 6 and len(ports) == 1


async def test_unchanged_body_has_the_same_hash(feedserver):
    url = feedserver.add("/nohdr.xml", RSS)  # no ETag/Last-Modified: only the hash tells
    async with Fetcher(policy()) as f:
        first, second = await f.fetch(url), await f.fetch(url)
        feedserver.add("/nohdr.xml", RSS.replace(b"Calais", b"Lyon"))
        third = await f.fetch(url)
    assert first.body_hash == second.body_hash != third.body_hash


CONTENT_TYPES = ["application/rss+xml", "text/xml", "text/html; charset=utf-8", "application/xml; charset=iso-8859-1",
                 "application/octet-stream", None]


async def test_real_corpus_over_http(feedserver, corpus):
    """Every corpus document, served with assorted (often wrong) content types and
    compressions, fetches and then parses into items or a classified error."""
    from bot.parse import parse_document

    names = sorted(p.name for p in (corpus / "feeds").iterdir() if p.name != "MANIFEST.md")
    outcomes: dict[str, str] = {}
    async with Fetcher(policy(per_host=4)) as f:
        async def one(i: int, name: str) -> None:
            body = (corpus / "feeds" / name).read_bytes()
            url = feedserver.add(f"/corpus/{name}", body, content_type=CONTENT_TYPES[i % len(CONTENT_TYPES)],
                                 encoding=(None, "gzip", "br")[i % 3])
            r = await f.fetch(url)
            assert r.body == body
            try:
                parsed = parse_document(r.body, url=r.url, content_type=r.content_type, source_id="c")
                outcomes[name] = f"{len(parsed.items)} items"
            except SourceFailure as exc:
                assert exc.kind in ("not-a-feed", "parse-error")
                outcomes[name] = exc.kind
        await asyncio.gather(*(one(i, n) for i, n in enumerate(names)))
    assert len(outcomes) == len(names)
    assert outcomes["rssparser__guardian.rss"] == "55 items"
    assert outcomes["rssparser__unrecognized.rss"] == "not-a-feed"
    assert sum(o.endswith("items") for o in outcomes.values()) >= 35


async def test_autodiscovery_end_to_end(feedserver):
    """type: auto on an HTML page: the discovered feed URL is absolute and fetchable."""
    from bot.parse import parse_document

    feedserver.add("/blog/feed/", RSS)
    page = feedserver.add("/blog/", b'<!doctype html><html><head><link rel="alternate" '
                                    b'type="application/rss+xml" href="feed/"></head><body>Hi</body></html>',
                          content_type="text/html")
    async with Fetcher(policy()) as f:
        r = await f.fetch(page)
        first = parse_document(r.body, url=r.url, content_type=r.content_type, kind="auto")
        assert first.discovered_url == feedserver.url("/blog/feed/") and first.items == []
        r2 = await f.fetch(first.discovered_url)
        parsed = parse_document(r2.body, url=r2.url, content_type=r2.content_type, kind="feed")
    assert [i.title for i in parsed.items] == ["Détention à Calais"]


def test_policy_from_sources_defaults():
    from datetime import timedelta

    from bot.config.sources import Defaults

    d = Defaults(timeout=timedelta(seconds=7), max_size="2MB", max_redirects=3, per_host=4)
    p = FetchPolicy.from_config(d, allow_private=True)
    assert (p.timeout, p.max_size, p.max_redirects, p.per_host, p.allow_private) == (7.0, 2 * 2**20, 3, 4, True)
    assert p.user_agent.startswith("newsbot/")
    assert FetchPolicy.from_config(Defaults(user_agent="custom/1")).user_agent == "custom/1"


async def test_connection_goes_to_the_checked_address(feedserver):
    """The guard resolves once and connects to the address it checked: a name the system
    resolver does not know is reached through the injected resolver's answer only, so DNS
    cannot answer differently between check and connect."""
    feedserver.add("/feed.xml", RSS)
    calls: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"]

    pol = FetchPolicy(timeout=5.0, allowed_networks=("127.0.0.1/32",))
    async with Fetcher(pol, resolver=resolver) as f:
        r = await f.fetch(f"http://feeds.newsbot-test:{feedserver.port}/feed.xml")
    assert r.body == RSS and calls == ["feeds.newsbot-test"]
    assert feedserver.requests[-1].headers["host"] == f"feeds.newsbot-test:{feedserver.port}"


async def test_truncated_body_is_a_network_error(feedserver):
    url = feedserver.add("/short", RSS, declared_length=len(RSS) + 500)
    err = await fail(url)
    assert err.kind == "network"


async def test_http2_where_the_server_offers_it():
    from support.h2server import H2Server

    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    with H2Server(server_ctx, {"/feed.xml": (RSS, '"h2v1"')}) as server:
        # Through the guard too: only 127.0.0.1 is allowed, and the h2 connection is reused.
        pol = FetchPolicy(timeout=5.0, allowed_networks=("127.0.0.1/32",))
        async with Fetcher(pol, verify=client_ctx) as f:
            r = await f.fetch(server.url("/feed.xml"))
            again = await f.fetch(server.url("/feed.xml"), etag=r.etag)
    assert (r.http_version, r.body, r.etag) == ("HTTP/2", RSS, '"h2v1"')
    assert again.not_modified and again.http_version == "HTTP/2"
    assert server.requests[-1][1]["if-none-match"] == '"h2v1"'
    assert server.requests[0][1]["user-agent"].startswith("newsbot/")


@pytest.mark.parametrize("name,content_type,title", [
    ("rssparser__encoding.rss", "text/xml; charset=utf-8", "Mãe de utente"),          # header lies: body is Latin-1
    ("rssparser__latin2.rss", "application/rss+xml; charset=utf-8", "ZAŻÓŁĆ GĘSLĄ JAŹŃ"),
    ("feedrs__rss_2.0_ilgiornale.xml", "text/xml; charset=iso-8859-1", "Arrestato in Pakistan Shabbar Abbas. In Italia è"),  # UTF-8 body
    ("rssparser__uolNoticias.rss", "text/xml", "Ibope: Bolsonaro perde de Haddad, Ciro e Alckmin em simulações de 2º"),  # no declaration
    ("rssparser__encoding-gb2312.xml", "text/html", "习近平"),
])
async def test_wrong_or_missing_charsets_still_decode(feedserver, corpus, name, content_type, title):
    from bot.parse import parse_document

    url = feedserver.add("/enc.xml", (corpus / "feeds" / name).read_bytes(), content_type=content_type)
    r = await fetch(url)
    items = parse_document(r.body, url=r.url, content_type=r.content_type, kind="feed").items
    assert items[0].title.startswith(title)


async def test_requests_in_flight_are_bounded_and_a_plain_resolver_runs_off_the_loop(feedserver):
    """max_connections bounds the requests in flight (one worker thread each), whatever the
    number of callers; a plain-function resolver is called on a worker thread, not the loop's."""
    handler = SlowCounting()
    feedserver.add("/c", handler=handler)
    threads: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        threads.append(threading.current_thread().name)
        return ["127.0.0.1"]

    async with Fetcher(policy(max_connections=3, per_host=8), resolver=resolver) as f:
        results = await asyncio.gather(*(f.fetch(f"http://h{i}.newsbot-test:{feedserver.port}/c?n={i}")
                                         for i in range(12)))
    assert all(r.body == RSS for r in results)
    assert handler.peak == 3
    assert len(threads) == 12 and all(t.startswith("newsbot-fetch") for t in threads)


class _HeaderTrickler:
    """A raw TCP server on 127.0.0.1 that answers every connection with a status line, then
    its headers one byte every 50 ms: each read gets data within any read timeout, so only a
    deadline on the whole response stops it."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                for _ in range(200):
                    if self.stop.is_set():
                        break
                    try:
                        conn.sendall(b"X")
                    except OSError:
                        break
                    time.sleep(0.05)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


def test_headers_trickled_byte_by_byte_end_at_the_deadline_on_the_calling_thread():
    """fetch_blocking (the poll crew's call) ends by the deadline however slowly the headers come:
    every read is bounded by the time left, not by a fresh read timeout."""
    server = _HeaderTrickler()
    fetcher = Fetcher(policy(timeout=0.5))
    try:
        started = time.monotonic()
        with pytest.raises(SourceFailure) as info:
            fetcher.fetch_blocking(f"http://127.0.0.1:{server.port}/feed")
        assert info.value.kind == "timeout"
        assert time.monotonic() - started < 2.0   # 200 bytes would take 10 s
    finally:
        fetcher._slots.close()
        server.close()


def test_blocking_fetches_from_many_threads_share_the_limits(feedserver):
    """Threads calling fetch_blocking at once (the poll crew) are bounded by per_host for one host
    and by max_connections across hosts, like async callers."""
    handler = SlowCounting()
    feedserver.add("/c", handler=handler)
    fetcher = Fetcher(policy(per_host=2, max_connections=3), resolver=lambda host, port: ["127.0.0.1"])
    results: list[FetchResult] = []

    def crew(urls: list[str]) -> None:
        for u in urls:
            results.append(fetcher.fetch_blocking(u))

    def run_crew(urls: list[str], threads: int) -> None:
        workers = [threading.Thread(target=crew, args=(urls[i::threads],)) for i in range(threads)]
        for t in workers:
            t.start()
        for t in workers:
            t.join(30)

    try:
        run_crew([f"http://same.newsbot-test:{feedserver.port}/c?n={i}" for i in range(6)], 3)
        assert handler.peak == 2 and len(results) == 6
        handler.peak = 0
        run_crew([f"http://h{i}.newsbot-test:{feedserver.port}/c?n={i}" for i in range(12)], 6)
        assert handler.peak == 3 and len(results) == 18
        assert all(r.body == RSS for r in results)
    finally:
        fetcher._slots.close()
