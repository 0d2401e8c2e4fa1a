"""A minimal HTTP/2 server over TLS (ALPN "h2") on 127.0.0.1, port 0, in background threads,
built on the `h2` library httpx itself uses. For checking that the Fetcher speaks HTTP/2
where a server offers it. Serves `routes` {path: (body, etag)} with 304 on If-None-Match;
records (path, headers) of every request in `requests`.

    with H2Server(server_ssl_context, {"/feed.xml": (body, '"v1"')}) as server:
        url = server.url("/feed.xml")      # https://127.0.0.1:PORT/feed.xml
"""

from __future__ import annotations

import socket
import ssl
import threading

import h2.config
import h2.connection
import h2.events


class H2Server:
    def __init__(self, ssl_context: ssl.SSLContext, routes: dict[str, tuple[bytes, str | None]]):
        ssl_context.set_alpn_protocols(["h2"])
        self._ctx = ssl_context
        self.routes = routes
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sock = socket.socket()

    def __enter__(self) -> "H2Server":
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen()
        self._sock.settimeout(0.05)
        self._spawn(self._accept_loop)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
        self._sock.close()

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self._sock.getsockname()[1]}{path}"

    def _spawn(self, target, *args) -> None:
        t = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(t)
        t.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self._sock.accept()
            except (socket.timeout, OSError):
                continue
            self._spawn(self._serve, raw)

    def _serve(self, raw: socket.socket) -> None:
        try:
            raw.settimeout(5)
            tls = self._ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        with tls:
            if tls.selected_alpn_protocol() != "h2":
                return
            conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False))
            conn.initiate_connection()
            tls.sendall(conn.data_to_send())
            tls.settimeout(0.05)
            while not self._stop.is_set():
                try:
                    data = tls.recv(65535)
                except (socket.timeout, TimeoutError):
                    continue
                except (ssl.SSLError, OSError):
                    return
                if not data:
                    return
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        self._respond(conn, event)
                tls.sendall(conn.data_to_send())

    def _respond(self, conn: h2.connection.H2Connection, event: h2.events.RequestReceived) -> None:
        headers = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
                   for k, v in event.headers}
        path = headers.get(":path", "/")
        self.requests.append((path, headers))
        body, etag = self.routes.get(path, (b"not found", None))
        status = "200" if path in self.routes else "404"
        if etag and headers.get("if-none-match") == etag:
            conn.send_headers(event.stream_id, [(":status", "304"), ("etag", etag)], end_stream=True)
            return
        out = [(":status", status), ("content-type", "application/rss+xml"), ("content-length", str(len(body)))]
        if etag:
            out.append(("etag", etag))
        conn.send_headers(event.stream_id, out)
        conn.send_data(event.stream_id, body, end_stream=True)  # bodies here fit the initial window
