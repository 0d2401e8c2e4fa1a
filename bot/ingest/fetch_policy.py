"""What a fetch may do and what it returns: `FetchPolicy` (timeouts, caps, the User-Agent,
from sources.yaml `defaults:`), `FetchResult` (bytes, status, headers) and the pure readings
of response headers (dates, Retry-After, Cache-Control max-age). No I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import httpx

from bot import __version__
from bot.ingest import scheduling

if TYPE_CHECKING:
    from bot.config.sources import Defaults

DEFAULT_USER_AGENT = (f"newsbot/{__version__} (news monitor of a migrants' and refugees' rights "
                      "coalition; feed reader)")
ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, "
          "text/xml;q=0.9, application/json;q=0.8, text/html;q=0.7, */*;q=0.5")


@dataclass(frozen=True)
class FetchPolicy:
    """How to fetch. Defaults follow SPEC "Fetching"; sources.yaml `defaults:` may change them."""

    timeout: float = 20.0             # seconds for the whole response, redirects included
    max_size: int = 10 * 2**20        # bytes of (decoded) body
    max_redirects: int = 5
    per_host: int = 2                 # concurrent requests to one host name
    user_agent: str = DEFAULT_USER_AGENT
    allow_private: bool = False
    # Private networks still allowed when allow_private is off, e.g. ("10.1.2.0/24",) for an
    # intranet server: narrower than opening every private address.
    allowed_networks: tuple[str, ...] = ()
    max_connections: int = 64         # requests in flight at once (one worker thread each)
    http2: bool = True

    @classmethod
    def from_config(cls, defaults: Defaults, *, allow_private: bool = False, **overrides: Any) -> "FetchPolicy":
        """From sources.yaml `defaults` (bot.config.sources.Defaults)."""
        return cls(timeout=defaults.timeout.total_seconds(), max_size=defaults.max_size,
                   max_redirects=defaults.max_redirects, per_host=defaults.per_host,
                   user_agent=defaults.user_agent or DEFAULT_USER_AGENT,
                   allow_private=allow_private, **overrides)


@dataclass
class FetchResult:
    url: str                          # final URL, after redirects
    status: int                       # 2xx, or 304
    headers: httpx.Headers
    body: bytes                       # b'' on 304
    not_modified: bool
    body_hash: str | None             # sha256 hex of body; None on 304
    etag: str | None                  # on 304, the one sent when the server repeats none
    last_modified: str | None
    elapsed: float                    # seconds, all hops
    redirects: list[str] = field(default_factory=list)  # URLs that redirected, in order
    permanent: bool = False           # every redirect was 301/308: the source could use `url`
    http_version: str = ""            # of the last hop: "HTTP/1.1", "HTTP/2"

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    @property
    def max_age(self) -> int | None:
        """Cache-Control max-age in seconds (None when absent, or no-cache/no-store)."""
        return max_age_seconds(self.headers)

    def retry_after(self, now: datetime | None = None) -> float | None:
        """Retry-After in seconds from `now`, if the server sent one."""
        return retry_after_seconds(self.headers.get("retry-after"), now)

    @property
    def expires(self) -> datetime | None:
        """The Expires header as aware UTC datetime."""
        return http_date(self.headers.get("expires"))


# --- header helpers (pure) -----------------------------------------------------------

def http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        dt = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date (bot.ingest.scheduling parses it)."""
    delay = scheduling.retry_after(value, now or datetime.now(timezone.utc))
    return None if delay is None else delay.total_seconds()


def max_age_seconds(headers: httpx.Headers | dict) -> int | None:
    """Cache-Control max-age (or s-maxage) in seconds; None when absent, no-cache or no-store."""
    age = scheduling.max_age(headers.get("cache-control"))
    return None if age is None else int(age.total_seconds())
