"""A real HTTP/1.1 server on 127.0.0.1 (port 0) in a background thread, for fetch and
pipeline tests. Routes are configured per test; every request is recorded.

Usage (the `feedserver` fixture in tests/support/fixtures_feedserver.py yields a started one):

    feedserver.add("/feed.xml", body=rss_bytes, etag='"v1"', last_modified="Sat, 01 Nov 2025 10:00:00 GMT")
    url = feedserver.url("/feed.xml")                  # http://127.0.0.1:PORT/feed.xml
    feedserver.redirect("/old", "/feed.xml", status=301)   # relative or absolute target
    feedserver.add("/gone", status=410)
    feedserver.add("/busy", status=429, headers={"Retry-After": "120"})
    feedserver.add("/slow", body=b"x" * 100, trickle=0.05)  # one byte every 0.05 s
    feedserver.add("/big", body=b"x" * 2_000_000, content_length=False)  # chunked, no length
    feedserver.add("/gz", body=rss_bytes, encoding="gzip")  # also "br", "deflate", "broken-gzip"
    feedserver.add("/reset", reset=True)               # close the connection without answering
    feedserver.add("/dyn", handler=lambda req: Route(body=...))   # computed per request
    feedserver.requests                                # [Request(method, path, query, headers, client)], in order
    feedserver.requests_for("/feed.xml")[-1].headers["if-none-match"]
    feedserver.hits("/feed.xml")                       # how many requests that path got

ETag / Last-Modified: when a route has them, they are sent, and a request whose
If-None-Match matches the ETag (or, without If-None-Match, whose If-Modified-Since equals
Last-Modified) gets 304 with no body. Unknown paths get 404. Paths match without the query.
`add` may be called while the server runs (it replaces the route).
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import brotli


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-case names
    client: tuple[str, int] = ("", 0)  # the client's address: same port = same kept-alive connection


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str | None = "application/rss+xml; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    encoding: str | None = None        # gzip | br | deflate | broken-gzip
    content_length: bool = True        # False: chunked transfer, no Content-Length
    declared_length: int | None = None # send this Content-Length (with a short body: a lie)
    trickle: float | None = None       # seconds between single body bytes
    reset: bool = False                # drop the connection without a response
    handler: Callable[[Request], "Route"] | None = None


def _encode(body: bytes, encoding: str | None) -> bytes:
    if encoding == "gzip":
        return gzip.compress(body)
    if encoding == "br":
        return brotli.compress(body)
    if encoding == "deflate":
        return zlib.compress(body)
    if encoding == "broken-gzip":
        return b"\x1f\x8b this is not gzip at all" + body[:50]
    return body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server: "_Server"

    def log_message(self, format: str, *args: object) -> None:  # quiet in tests
        pass

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _serve(self, send_body: bool) -> None:
        owner = self.server.owner
        parts = urlsplit(self.path)
        req = Request(self.command, parts.path, parts.query, {k.lower(): v for k, v in self.headers.items()},
                      tuple(self.client_address[:2]))  # type: ignore[arg-type]
        with owner._lock:
            owner.requests.append(req)
            route = owner._routes.get(parts.path)
        if route is None:
            route = Route(body=b"not found", status=404, content_type="text/plain")
        if route.handler is not None:
            route = route.handler(req)
        if route.reset:
            # SO_LINGER 0 turns close() into a TCP RST: the client sees a reset connection.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.close_connection = True
            return
        status = route.status
        if status == 200 and self._not_modified(req, route):
            status = 304
        self.send_response(status)
        body = b"" if status == 304 else _encode(route.body, route.encoding)
        if route.content_type and status != 304:
            self.send_header("Content-Type", route.content_type)
        if route.etag:
            self.send_header("ETag", route.etag)
        if route.last_modified:
            self.send_header("Last-Modified", route.last_modified)
        if route.encoding and status != 304:
            self.send_header("Content-Encoding", "gzip" if route.encoding == "broken-gzip" else route.encoding)
        for k, v in route.headers.items():
            self.send_header(k, v)
        chunked = not route.content_length and status != 304
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif status != 304:
            self.send_header("Content-Length", str(route.declared_length if route.declared_length is not None else len(body)))
        self.end_headers()
        if not send_body or status == 304:
            return
        try:
            if route.trickle:
                for i in range(len(body)):
                    if owner._stopping.is_set():
                        break
                    self._write(body[i:i + 1], chunked)
                    time.sleep(route.trickle)
            else:
                step = 65536
                for i in range(0, len(body), step):
                    self._write(body[i:i + step], chunked)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (size cap, timeout): expected in these tests.
            self.close_connection = True
        if route.declared_length is not None:
            self.close_connection = True

    def _write(self, data: bytes, chunked: bool) -> None:
        if chunked:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        else:
            self.wfile.write(data)
        self.wfile.flush()

    @staticmethod
    def _not_modified(req: Request, route: Route) -> bool:
        inm = req.headers.get("if-none-match")
        if inm is not None and route.etag:
            return route.etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
        ims = req.headers.get("if-modified-since")
        return bool(ims and route.last_modified and ims.strip() == route.last_modified)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: "FeedServer"

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up mid-response is part of the tests


class FeedServer:
    """See the module docstring. `start()`/`stop()`, or use as a context manager."""

    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests: list[Request] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "FeedServer":
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="feedserver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "FeedServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(self, path: str, body: bytes | str = b"", **options: object) -> str:
        """Serve `path` (see Route for options); returns its full URL."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        with self._lock:
            self._routes[path] = Route(body=body, **options)  # type: ignore[arg-type]
        return self.url(path)

    def redirect(self, path: str, to: str, status: int = 302) -> str:
        return self.add(path, status=status, content_type=None, headers={"Location": to})

    def requests_for(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def hits(self, path: str) -> int:
        return len(self.requests_for(path))

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()
