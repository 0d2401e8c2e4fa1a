"""HTTP fetching of sources: bytes, status and headers; nothing about feeds.

Owns: the HTTP clients (HTTP/2 where the server offers it, a clear User-Agent,
gzip/deflate/brotli), a per-host concurrency limit, a deadline for the whole response (all
redirect hops included), redirects followed by hand so that every hop is checked, a size cap
enforced while streaming (and while decoding, in bounded pieces: `fetch_decode.py`),
conditional GET (ETag / Last-Modified -> 304 -> `not_modified`), a sha256 of the body so an
unchanged feed is never parsed again, and the private-network guard. The policy and result
types, with their header readings, are `fetch_policy.py`; sorting transport errors into
`bot.errors.FAILURE_KINDS` is `fetch_failures.py`.

Must not parse documents, touch storage or read the environment: the policy (including
`allow_private`, from NEWSBOT_ALLOW_PRIVATE_NETWORKS) is passed in.

The API is async (`fetch`), with a blocking twin (`fetch_blocking`) for threads of the
caller's own. Each request runs on a thread with a guarded sync httpx transport taken from a
small set (`bot.ingest.fetch_limits.TransportSlots`): at most `max_connections` requests in flight, each transport used by one
request at a time, a host sent back to the transport that served it last (keep-alive, HTTP/2).
Why threads and sync transports: httpx's AsyncClient spends CPU per request in its connection
pool (a scan of every connection for every queued request) and in anyio, growing with the
pool; a blocking thread costs no CPU while it waits. And why the blocking twin: on this
machine a round trip between the event loop and a worker thread (wake the thread, wake the
loop) costs ~0.15 ms of CPU, a third of a 304 itself; bot.ingest.pipeline's poll crew calls
`fetch_blocking` from its own threads and never pays it (figures: README "Polling and
storage"). A crew thread keeps one transport for its whole run (`pinned`), so a host's
sources polled one after another share one kept-alive connection.

Every read and write of a request ends by its deadline (bot.ingest.netguard's deadline stream), so
a server that trickles its headers cannot hold a thread past the timeout.

The private-network guard lives in bot/ingest/netguard.py (the connection layer), which also
explains how it closes the race between the address check and the connect.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import NamedTuple, cast

import httpx

from bot.errors import FailureKind, SourceFailure
from bot.ingest.fetch_decode import BoundedDecoder
from bot.ingest.fetch_failures import classify_exception
from bot.ingest.fetch_policy import (ACCEPT, FetchPolicy, FetchResult, http_date, max_age_seconds,
                                     retry_after_seconds)
from bot.ingest.fetch_limits import HostLimits, SlotsClosed, TransportSlots
from bot.ingest.netguard import BlockedAddress, GuardedSyncTransport, Resolver, SyncResolver, is_public_address

__all__ = ["Fetcher", "FetchPolicy", "FetchResult", "BlockedAddress", "is_public_address",
           "http_date", "retry_after_seconds", "max_age_seconds"]

log = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Connections a transport keeps: one, to the host it served last (the host goes back to it).
# httpcore checks every idle connection of a pool on each request (a poll(2) each): with four,
# a 304 cost 25% more CPU in bench/poll_bench.py, and a cycle rarely meets a host twice in time.
_KEEPALIVE = 1
_GRACE = 2.0               # seconds an async resolver may take past the timeout
_PARSED_URLS_MAX = 100_000  # distinct URLs the Fetcher keeps parsed (sources, their redirects)


# --- the fetcher ---------------------------------------------------------------------

class _DeadlinePassed(Exception):
    """The whole-response deadline passed while the body was still coming."""


class Fetcher:
    """Fetches URLs under a FetchPolicy. Use as `async with Fetcher(policy) as f:`, then
    `await f.fetch(url)`; threads of the caller's own (bot.ingest.pipeline's poll crew) call
    `f.fetch_blocking(url)` directly, which costs no event-loop round trip.

    `verify`: an ssl.SSLContext (tests trust their own CA) or True for the system/certifi
    roots. `resolver`: (host, port) -> [ip, ...], async (run on the loop) or plain (run on the
    fetching thread, cheaper); default socket.getaddrinfo on the fetching thread.
    `clock`: aware-UTC now(), used for Retry-After dates.
    """

    def __init__(self, policy: FetchPolicy | None = None, *, verify: ssl.SSLContext | bool = True,
                 resolver: Resolver | SyncResolver | None = None, clock: Callable[[], datetime] | None = None):
        self.policy = policy or FetchPolicy()
        self._ssl = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify, trust_env=False)
        self._resolver = resolver
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots = TransportSlots(self.policy.max_connections, self._new_transport)
        self._hosts = HostLimits(self.policy.per_host)
        self._threads: ThreadPoolExecutor | None = None   # runs `fetch` for async callers
        self._current = threading.local()   # .deadline of the request this thread is making
        self._open = False
        # Parsed once: a source's URL is the same every poll, and httpx's URL parsing is a
        # tenth of the CPU of a 304. Checked URLs only; cleared when large.
        self._parsed_urls: dict[str, httpx.URL] = {}
        self._base_headers = httpx.Headers([("User-Agent", self.policy.user_agent), ("Accept", ACCEPT),
                                            ("Accept-Encoding", "gzip, deflate, br")])

    async def __aenter__(self) -> "Fetcher":
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def open(self) -> None:
        if not self._open:
            self._loop = asyncio.get_running_loop()
            self._threads = ThreadPoolExecutor(max(1, self.policy.max_connections),
                                               thread_name_prefix="newsbot-fetch")
            self._open = True

    async def aclose(self) -> None:
        """Close the connection pools after the requests in flight end (each is bounded by
        the timeout). Off the loop: a request in flight may still need it (an async resolver)."""
        if not self._open:
            return
        self._open = False
        threads, self._threads = self._threads, None

        def close_all() -> None:
            if threads is not None:
                threads.shutdown(wait=True)
            self._slots.close()

        await asyncio.to_thread(close_all)

    def _new_transport(self) -> httpx.HTTPTransport:
        p = self.policy
        resolve: Callable[[str, int], list[str]] | None = None
        if self._resolver is not None and not inspect.iscoroutinefunction(self._resolver):
            # a plain function (not a coroutine function, said so): called on the fetching thread
            resolve = cast("Callable[[str, int], list[str]]", self._resolver)
        elif self._resolver is not None:
            resolver, loop = self._resolver, self._loop
            assert loop is not None

            def resolve(host: str, port: int) -> list[str]:
                # An async resolver runs on the fetcher's loop.
                return asyncio.run_coroutine_threadsafe(resolver(host, port), loop).result(p.timeout + _GRACE)

        return GuardedSyncTransport(self._ssl, http2=p.http2, max_connections=_KEEPALIVE,
                                    allow_private=p.allow_private, allowed_networks=p.allowed_networks,
                                    resolver=resolve, deadline=self._deadline_of_thread)

    def _deadline_of_thread(self) -> float | None:
        return getattr(self._current, "deadline", None)  # dynamic: a thread-local, unset on new threads

    async def fetch(self, url: str, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """GET `url`; raises SourceFailure(kind, message) for every failure (see module doc)."""
        if not self._open:
            await self.open()
        assert self._threads is not None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, self.fetch_blocking, url, etag, last_modified)

    @contextmanager
    def pinned(self) -> Iterator[None]:
        """Keep one transport (one of the `max_connections`) for this thread's fetches until
        the block ends: a thread polling a host's sources one after another then reuses one
        kept-alive connection, whatever other threads fetch meanwhile."""
        with self._slots.take(None) as transport:
            self._current.pinned = transport
            try:
                yield
            finally:
                self._current.pinned = None

    def fetch_blocking(self, url: str, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """`fetch` on the calling thread (never the event loop's: it blocks for up to the
        timeout, plus any wait for a free connection or host slot)."""
        started = time.monotonic()
        deadline: float | None = None
        redirects: list[str] = []
        permanent = True
        current = url
        while True:
            parsed = self._check_url(current, url)
            host = parsed.host
            with self._hosts.slot(host):
                # The deadline starts once the first hop may go out: waiting for the
                # per-host slot is queueing, not the server's slowness.
                if deadline is None:
                    deadline = time.monotonic() + self.policy.timeout
                try:
                    pinned = getattr(self._current, "pinned", None)  # dynamic: thread-local, as above
                    with (nullcontext(pinned) if pinned is not None else self._slots.take(host)) as transport:
                        self._current.deadline = deadline
                        try:
                            outcome = self._hop(transport, parsed, etag, last_modified, deadline)
                        finally:
                            self._current.deadline = None
                except (TimeoutError, _DeadlinePassed, httpx.TimeoutException) as exc:
                    if isinstance(exc, httpx.TimeoutException) and time.monotonic() < deadline - 0.05:
                        raise classify_exception(exc, current) from exc   # e.g. a connect timeout of its own
                    raise SourceFailure("timeout", f"no complete response within {self.policy.timeout:g} s from {current}",
                                 url=current) from None
                except SourceFailure:
                    raise
                except SlotsClosed as exc:
                    raise SourceFailure("network", str(exc), url=current) from None
                except BlockedAddress as exc:
                    raise SourceFailure("blocked", f"{exc} (set NEWSBOT_ALLOW_PRIVATE_NETWORKS=1 to allow)",
                                 url=current) from None
                except Exception as exc:
                    raise classify_exception(exc, current) from exc
            if isinstance(outcome, _Redirect):
                permanent = permanent and outcome.status in (301, 308)
                redirects.append(current)
                if len(redirects) > self.policy.max_redirects:
                    raise SourceFailure("http-error", f"more than {self.policy.max_redirects} redirects from {url}", url=current)
                if outcome.url in redirects:
                    raise SourceFailure("http-error", f"redirect loop: {current} -> {outcome.url}", url=current)
                current = outcome.url
                continue
            moved = bool(redirects) and permanent
            status, headers, body, version = outcome
            elapsed = time.monotonic() - started
            if status == 304:
                return FetchResult(url=current, status=304, headers=headers, body=b"", not_modified=True,
                                   body_hash=None, etag=headers.get("etag") or etag,
                                   last_modified=headers.get("last-modified") or last_modified,
                                   elapsed=elapsed, redirects=redirects, http_version=version, permanent=moved)
            return FetchResult(url=current, status=status, headers=headers, body=body, not_modified=False,
                               body_hash=hashlib.sha256(body).hexdigest(), etag=headers.get("etag"),
                               last_modified=headers.get("last-modified"), elapsed=elapsed, redirects=redirects,
                               http_version=version, permanent=moved)

    def _check_url(self, current: str, original: str) -> httpx.URL:
        parsed = self._parsed_urls.get(current)
        if parsed is not None:
            return parsed
        try:
            parsed = httpx.URL(current)
        except (httpx.InvalidURL, ValueError) as exc:
            raise SourceFailure("http-error", f"invalid URL {current!r}: {exc}", url=current) from None
        if parsed.scheme not in ("http", "https"):
            where = "" if current == original else f" (redirected from {original})"
            raise SourceFailure("blocked", f"only http and https URLs are fetched, not {parsed.scheme!r}: {current}{where}",
                         url=current)
        if not parsed.host:
            raise SourceFailure("http-error", f"URL without a host: {current!r}", url=current)
        if len(self._parsed_urls) > _PARSED_URLS_MAX:
            self._parsed_urls.clear()
        self._parsed_urls[current] = parsed
        return parsed

    def _hop(self, transport: httpx.HTTPTransport, url: httpx.URL, etag: str | None, last_modified: str | None,
             deadline: float) -> "_Redirect | tuple[int, httpx.Headers, bytes, str]":
        """One request, on the calling thread: the next URL to follow, or (status, headers, body,
        http version). Every blocking read is bounded by the time left to the deadline.

        Straight to the transport, not through an httpx.Client: the client's layers (auth,
        cookies, redirects, hooks, header merging) are not used here and cost about a third
        of the CPU of a 304 (bench figures in the module doc); decoding, HTTP/2 and httpx's
        exception types come from the transport all the same."""
        headers = self._base_headers.copy()
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        left = deadline - time.monotonic()
        if left <= 0:
            raise _DeadlinePassed()
        request = httpx.Request("GET", url, headers=headers,
                                extensions={"timeout": {"connect": left, "read": left, "write": left, "pool": left}})
        response = transport.handle_request(request)
        try:
            status = response.status_code
            where = str(url)
            if status == 304:
                # Nothing to read but the (empty) body, so the connection goes back to the pool.
                self._drain(response)
                return status, response.headers, b"", response.http_version
            if status in REDIRECT_STATUSES:
                self._drain(response)
                location = response.headers.get("location")
                if not location:
                    raise SourceFailure("http-error", f"HTTP {status} redirect without a Location from {where}",
                                 status=status, url=where)
                try:
                    return _Redirect(str(url.join(location.strip())), status)
                except (httpx.InvalidURL, ValueError) as exc:
                    raise SourceFailure("http-error", f"bad redirect Location {location!r} from {where}: {exc}",
                                 status=status, url=where) from None
            if not 200 <= status < 300:
                raise self._statusSourceFailure(response, where)
            declared = response.headers.get("content-length", "").strip()
            if declared.isdigit() and int(declared) > self.policy.max_size:
                raise SourceFailure("too-large", f"{where} declares {int(declared):,} bytes, over the "
                                          f"{self.policy.max_size:,}-byte limit", status=status, url=where)
            chunks: list[bytes] = []
            size = 0
            for chunk in _decoded(response):
                size += len(chunk)
                if size > self.policy.max_size:
                    # Counted after decompression, in bounded pieces (bot.ingest.fetch_decode), so a
                    # brotli or gzip-in-gzip bomb stops here without being decoded whole.
                    encoding = response.headers.get("content-encoding")
                    how = f" once decoded ({encoding})" if encoding else ""
                    raise SourceFailure("too-large", f"{where} sent more than the {self.policy.max_size:,}-byte limit{how}",
                                 status=status, url=where)
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise _DeadlinePassed()   # a server trickling its body within each read timeout
            return status, response.headers, b"".join(chunks), response.http_version
        finally:
            response.close()

    @staticmethod
    def _drain(response: httpx.Response, limit: int = 65536) -> None:
        """Read a small body to its end so that the connection goes back to the pool
        (httpcore closes a connection whose response was not read through); a larger
        one is abandoned with its connection."""
        size = 0
        for chunk in response.iter_raw():
            size += len(chunk)
            if size > limit:
                break

    def _statusSourceFailure(self, response: httpx.Response, where: str) -> SourceFailure:
        status = response.status_code
        reason = f"HTTP {status} {response.reason_phrase}".rstrip()
        retry = retry_after_seconds(response.headers.get("retry-after"), self._clock())
        if status in (401, 403):
            kind: FailureKind = "forbidden"
        elif status in (404, 410):
            kind = "not-found"
        elif status == 429:
            kind = "rate-limited"
        elif 500 <= status < 600:
            kind = "server-error"
        else:
            kind = "http-error"
        extra = f" (Retry-After {retry:g} s)" if retry is not None else ""
        return SourceFailure(kind, f"{reason} from {where}{extra}", status=status, retry_after=retry, url=where)


def _decoded(response: httpx.Response) -> Iterator[bytes]:
    """The body as received (iter_raw), decoded in bounded pieces; httpx's iter_bytes would
    decode each received chunk whole, however far it expands."""
    decoder = BoundedDecoder(response.headers.get("content-encoding"))
    for raw in response.iter_raw():
        yield from decoder.feed(raw)
    yield from decoder.flush()


class _Redirect(NamedTuple):
    url: str
    status: int
