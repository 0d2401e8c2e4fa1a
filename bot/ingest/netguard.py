"""The private-network guard: which addresses a source may reach, enforced where sockets open.

Owns: the address policy (no loopback, private, link-local, multicast, reserved or otherwise
non-global address unless allowed), name resolution (getaddrinfo), and an httpx transport
(GuardedSyncTransport; bot.ingest.fetch hands them out, one request or one thread at a time) whose
connection pool connects only through that check, and whose reads and writes end by the
request's deadline.

The race between check and connect: a check "resolve, then let the client connect" leaves
a gap in which DNS may answer differently (DNS rebinding). Here the check is the connect:
a httpcore network backend resolves the name once, checks every address, and opens the
socket to that same checked address (TLS still verifies the certificate against the host
name, which httpcore passes separately). There is no second resolution to race with, and
redirects are covered because every new host means a new connection. Proxies from the
environment are not used (trust_env=False), so they cannot bypass the check either.

Must not know about feeds, policies of retry, or storage.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore
import httpx

Resolver = Callable[[str, int], Awaitable[list[str]]]
SyncResolver = Callable[[str, int], list[str]]


class BlockedAddress(Exception):
    """Raised in the connection layer; bot.ingest.fetch turns it into SourceFailure('blocked')."""


# IPv6 forms that carry an IPv4 address inside them. A host that routes them (a 6to4 relay,
# a NAT64 gateway, a Teredo tunnel) ends up at the IPv4 address, and the stdlib tables call
# some of them global (2002::/16 is, whatever it embeds): they are judged by what they embed.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")            # RFC 6052: the IPv4 address is the last 32 bits
NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")    # RFC 8215: local use, the embedding varies
TEREDO = ipaddress.IPv6Network("2001::/32")              # RFC 4380: server and (obfuscated) client
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")         # RFC 4291, deprecated: ::a.b.c.d
IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # RFC 2765 (SIIT): ::ffff:0:a.b.c.d


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (IPv4-mapped, -compatible and -translated,
    6to4, NAT64 well-known prefix, both of Teredo's), none for an ordinary address."""
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)
    if ip in NAT64 or ip in IPV4_TRANSLATED or (ip in IPV4_COMPATIBLE and int(ip) > 1):  # not :: nor ::1
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    return []


def is_public_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if ip.ipv4_mapped is not None or ip in NAT64:
            return _is_public(inner[0])  # the IPv4 address is where the connection goes
        if any(ip in net for net in (TEREDO, NAT64_LOCAL, IPV4_COMPATIBLE, IPV4_TRANSLATED)):
            return False  # obsolete or local-use: no feed is served from there
        if not all(_is_public(v4) for v4 in inner):
            return False  # 6to4 of 127.0.0.1 (2002:7f00:1::) or 169.254.169.254 (2002:a9fe:a9fe::)
    return _is_public(ip)


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified or not ip.is_global)


def describe_address(addr: str) -> str:
    """`addr`, followed by the IPv4 address it embeds when it is such an IPv6 form."""
    try:
        ip = ipaddress.ip_address(addr.split("%", 1)[0])
    except ValueError:
        return addr
    inner = embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else []
    return f"{addr} (which embeds {', '.join(map(str, inner))})" if inner else addr


class _Policy:
    """Which addresses may be reached."""

    def __init__(self, allow_private: bool, allowed_networks: Iterable[str]):
        self._allow_private = allow_private
        self._allowed = [ipaddress.ip_network(n, strict=False) for n in allowed_networks]

    def allowed(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return self._allow_private or is_public_address(ip) or any(ip in net for net in self._allowed)

    def checked(self, host: str, answer: Iterable[str]) -> list[str]:
        """The resolver's answer, de-duplicated, once every address in it passed the check."""
        addresses = list(dict.fromkeys(answer))
        if not addresses:
            raise httpcore.ConnectError(f"DNS lookup for {host} returned no address")
        if not self._allow_private:
            for addr in addresses:
                ip = ipaddress.ip_address(addr.split("%", 1)[0])
                if not self.allowed(ip):
                    # Any private answer blocks the host: a name that resolves to both a public
                    # and a private address is exactly what a rebinding attack looks like.
                    raise BlockedAddress(f"{host} resolves to {describe_address(addr)}, "
                                         "a loopback/private/reserved address")
        return addresses


def _getaddrinfo_sync(host: str, port: int) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write ends by the request's deadline (`deadline()`,
    a time.monotonic() value or None): httpcore gives each read the same timeout, so a server
    trickling its headers a byte at a time could otherwise hold a thread far past it."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: Callable[[], float | None]):
        self._inner, self._deadline = inner, deadline

    def _bounded(self, timeout: float | None, expired: type[httpcore.TimeoutException]) -> float | None:
        deadline = self._deadline()
        if deadline is None:
            return timeout
        left = deadline - time.monotonic()
        if left <= 0:
            raise expired("the deadline for the whole response passed")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        bounded = self._bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, bounded), self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _GuardedSyncBackend(httpcore.NetworkBackend):
    """Resolves once, checks every address, connects to exactly the checked address."""

    def __init__(self, allow_private: bool, allowed_networks: Iterable[str], resolver: SyncResolver | None,
                 deadline: Callable[[], float | None]):
        self._inner = httpcore.SyncBackend()
        self._policy = _Policy(allow_private, allowed_networks)
        self._resolve = resolver or _getaddrinfo_sync
        self._deadline = deadline

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None, socket_options: Any = None) -> httpcore.NetworkStream:
        try:
            answer = self._resolve(host, port)
        except (socket.gaierror, UnicodeError) as exc:
            raise httpcore.ConnectError(f"DNS lookup failed for {host}: {exc}") from exc
        last: Exception | None = None
        for addr in self._policy.checked(host, answer):
            try:
                stream = self._inner.connect_tcp(addr, port, timeout=timeout, local_address=local_address,
                                                 socket_options=socket_options)
                return _DeadlineStream(stream, self._deadline)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used for sources")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class GuardedSyncTransport(httpx.HTTPTransport):
    """httpx's own transport, whose connection pool opens sockets through _GuardedSyncBackend.
    Used by one request at a time (bot.ingest.fetch hands it out). `deadline`: () -> the current
    request's deadline (time.monotonic()) or None; no read or write outlives it."""

    def __init__(self, ssl_context: ssl.SSLContext, *, http2: bool, max_connections: int, allow_private: bool,
                 allowed_networks: Iterable[str] = (), resolver: SyncResolver | None = None,
                 deadline: Callable[[], float | None] = lambda: None):
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections,
                              keepalive_expiry=30.0)
        super().__init__(verify=ssl_context, http2=http2, limits=limits, trust_env=False)
        # httpx has no public way to hand its pool a network backend; only the pool is
        # replaced, built with the settings httpx itself would use (httpx <1 pinned).
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context, max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry, http1=True, http2=http2,
            network_backend=_GuardedSyncBackend(allow_private, allowed_networks, resolver, deadline),
        )
