"""Which kind of source failure a transport exception is (timeout, tls, network, ...): the
sorting of fetch errors into `bot.errors.FAILURE_KINDS`. Pure: reads the exception only."""

from __future__ import annotations

import logging
import ssl

import httpx

from bot.errors import SourceFailure

log = logging.getLogger("bot.ingest.fetch")


def is_tls(exc: BaseException) -> bool:
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(e) or "SSL" in str(e)[:40]:
            return True
        e = e.__cause__ or e.__context__
    return False


def classify_exception(exc: Exception, url: str) -> SourceFailure:
    """Sort a transport exception into a SourceFailure kind."""
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return SourceFailure("timeout", f"timed out talking to {url}: {detail}", url=url)
    if is_tls(exc):
        return SourceFailure("tls", f"TLS failure with {url}: {detail}", url=url)
    if isinstance(exc, httpx.DecodingError):
        return SourceFailure("http-error", f"could not decode the compressed body from {url}: {detail}", url=url)
    if isinstance(exc, (httpx.TransportError, OSError)):
        return SourceFailure("network", f"network error with {url}: {detail}", url=url)
    log.warning("unexpected error fetching %s", url, exc_info=exc)
    return SourceFailure("http-error", f"unexpected error fetching {url}: {type(exc).__name__}: {detail}", url=url)
