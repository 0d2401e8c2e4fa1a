"""`SMTP_URL`: its forms, parsed into an `SmtpConfig`, and what is wrong with a bad one.

Owns the URL's meaning only; connecting and sending is `bot.delivery.email.smtp`. Here so
that settings can check the URL before any command runs (`Settings.problems`) without the
configuration layer depending on delivery.

`SMTP_URL` forms:
  smtp://host[:port]                 port 587; STARTTLS when the server offers it
  smtp://user:pass@host[:port]       AUTH (LOGIN/PLAIN, whatever the server offers)
  smtps://user:pass@host[:port]      port 465; implicit TLS from the first byte
User and password are percent-decoded, so `p%40ss` means `p@ss`. The password lives only in
`SmtpConfig`, whose `repr` hides it; no message built here contains it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from bot.errors import ConfigError, Problem

# RFC 6409 (submission, STARTTLS) and RFC 8314 (implicit TLS) ports.
DEFAULT_PORTS = {"smtp": 587, "smtps": 465}


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to connect. `repr` never shows the password."""

    host: str
    port: int
    implicit_tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        auth = f"{self.username}:***@" if self.username else ""
        scheme = "smtps" if self.implicit_tls else "smtp"
        return f"SmtpConfig({scheme}://{auth}{self.host}:{self.port})"

    @property
    def display(self) -> str:
        """Safe to log: scheme, host and port only."""
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{self.host}:{self.port}"

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def _bad_url(message: str) -> ConfigError:
    return ConfigError([Problem("environment", None, None, f"SMTP_URL: {message}")])


def parse_smtp_url(url: str) -> SmtpConfig:
    """`SMTP_URL` -> SmtpConfig. Errors name the problem but never echo the URL (it may hold
    the password)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise _bad_url("not a valid URL (expected smtp://user:pass@host:port or smtps://...)") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise _bad_url(f"scheme must be smtp or smtps (got {scheme or 'none'!r})")
    if not parts.hostname:
        raise _bad_url("no host (expected smtp://user:pass@host:port)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise _bad_url("unexpected path or query after the host")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and not username:
        raise _bad_url("a password without a user name")
    return SmtpConfig(
        host=parts.hostname,
        port=port or DEFAULT_PORTS[scheme],
        implicit_tls=scheme == "smtps",
        username=username,
        password=password,
    )
