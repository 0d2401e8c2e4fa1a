"""What bounds bot.ingest.fetch's requests in flight, across threads: the transports (connection
pools) handed out one per request or kept by a thread (`TransportSlots`), and the per-host
limit (`HostLimits`).

Must not make requests, parse or classify anything: bot.ingest.fetch does, with what these hand out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx


class SlotsClosed(Exception):
    """The slots were closed (the fetcher is shutting down)."""


class TransportSlots:
    """The transports (connection pools) of the requests in flight: at most `size`, each used
    by one request at a time. A host goes back to the transport that served it last when that
    one is free, so keep-alive (HTTP/1.1 and HTTP/2) still reuses its connections."""

    def __init__(self, size: int, make: Callable[[], httpx.HTTPTransport]):
        self._size, self._make = max(1, size), make
        self._cond = threading.Condition()
        self._all: list[httpx.HTTPTransport] = []
        self._idle: list[httpx.HTTPTransport] = []       # most recently freed last
        self._affinity: dict[str, httpx.HTTPTransport] = {}
        self._closed = False

    @contextmanager
    def take(self, host: str | None) -> Iterator[httpx.HTTPTransport]:
        """A free transport (None: any), the host's last one if free, else the least recently
        used; blocks while `size` are in use."""
        with self._cond:
            while True:
                if self._closed:
                    raise SlotsClosed("the fetcher is closed")
                transport = self._affinity.get(host) if host is not None else None
                if transport is not None and transport in self._idle:
                    self._idle.remove(transport)
                elif self._idle:
                    transport = self._idle.pop()
                elif len(self._all) < self._size:
                    transport = self._make()
                    self._all.append(transport)
                else:
                    self._cond.wait()
                    continue
                if host is not None:
                    self._affinity[host] = transport
                break
        try:
            yield transport
        finally:
            with self._cond:
                self._idle.append(transport)
                self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            transports, self._all, self._idle = self._all, [], []
            self._affinity.clear()
            self._cond.notify_all()
        for transport in transports:
            transport.close()


class HostLimits:
    """At most `per_host` requests to one host name at once, across threads."""

    def __init__(self, per_host: int):
        self._per_host = max(1, per_host)
        self._lock = threading.Lock()
        self._hosts: dict[str, threading.Semaphore] = {}

    def slot(self, host: str) -> threading.Semaphore:
        with self._lock:
            sem = self._hosts.get(host)
            if sem is None:
                sem = self._hosts[host] = threading.Semaphore(self._per_host)
            return sem
