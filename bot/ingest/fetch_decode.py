"""Content-Encoding decoding in bounded pieces, for bot.ingest.fetch's size cap.

httpx decodes a whole received chunk at once: 2 KB of brotli that expand to 1.2 GB, or gzip
inside gzip (`Content-Encoding: gzip, gzip`), are 1.2 GB in memory before a cap counted after
decoding can say no. Here each layer hands on at most `PIECE` bytes at a time (zlib's
`max_length`, brotli's `output_buffer_limit`), so the caller's cap trips after at most a
piece per layer beyond it, whatever the ratio.

Reads what httpx reads: gzip (x-gzip), deflate (zlib-wrapped or raw), br, identity, in the
order the header lists them; an encoding it does not know is passed through as httpx does.
A corrupt stream raises httpx.DecodingError (bot.ingest.fetch classifies it).
Must not do I/O, nor know the cap: the caller counts.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Protocol

import brotli
import httpx

PIECE = 256 * 1024   # bytes a layer hands on at a time


class _Layer(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]: ...
    def flush(self) -> Iterator[bytes]: ...


class _Zlib:
    """gzip (wbits 31) or deflate (15, else raw -15 if the first bytes are not zlib's)."""

    def __init__(self, wbits: int, *, raw_fallback: bool = False) -> None:
        self._d = zlib.decompressobj(wbits)
        self._raw_fallback = raw_fallback
        self._started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not self._started and data:
            self._started = True
            if self._raw_fallback:
                try:
                    zlib.decompressobj().decompress(data[:64], 1)
                except zlib.error:
                    self._d = zlib.decompressobj(-zlib.MAX_WBITS)
        while True:
            try:
                out = self._d.decompress(data, PIECE)
            except zlib.error as exc:
                raise httpx.DecodingError(str(exc)) from None
            if out:
                yield out
            data = self._d.unconsumed_tail
            if (not data and len(out) < PIECE) or self._d.eof:
                return   # what follows the end of the stream is ignored, as httpx does

    def flush(self) -> Iterator[bytes]:
        yield from self.feed(b"")


class _Brotli:
    def __init__(self) -> None:
        self._d = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            out = self._d.process(data, output_buffer_limit=PIECE)
            if out:
                yield out
            while not self._d.can_accept_more_data() and not self._d.is_finished():
                out = self._d.process(b"", output_buffer_limit=PIECE)
                if not out:
                    return
                yield out
        except brotli.error as exc:
            raise httpx.DecodingError(f"brotli: {exc}") from None

    def flush(self) -> Iterator[bytes]:
        yield from self.feed(b"")


def _layer(name: str) -> _Layer | None:
    if name in ("gzip", "x-gzip"):
        return _Zlib(zlib.MAX_WBITS | 16)
    if name == "deflate":
        return _Zlib(zlib.MAX_WBITS, raw_fallback=True)
    if name == "br":
        return _Brotli()
    return None   # identity, or unknown: as httpx, pass the bytes on


class BoundedDecoder:
    """Decodes a body as its Content-Encoding says, in pieces of at most PIECE bytes:
    `for piece in decoder.feed(raw)` for each received chunk, then `decoder.flush()`."""

    def __init__(self, content_encoding: str | None) -> None:
        names = [n.strip().lower() for n in (content_encoding or "").split(",") if n.strip()]
        # Listed in the order applied: decode from the last.
        self._layers = [layer for layer in map(_layer, reversed(names)) if layer is not None]

    def feed(self, data: bytes) -> Iterator[bytes]:
        return self._through(0, data) if data else iter(())

    def flush(self) -> Iterator[bytes]:
        for n, layer in enumerate(self._layers):
            for piece in layer.flush():
                yield from self._through(n + 1, piece)

    def _through(self, n: int, data: bytes) -> Iterator[bytes]:
        if n == len(self._layers):
            yield data
            return
        for piece in self._layers[n].feed(data):
            yield from self._through(n + 1, piece)
