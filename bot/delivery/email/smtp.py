"""SMTP delivery of ready-made messages: holds one connection to the server of an
`SmtpConfig` (`SMTP_URL`, parsed by `bot.config.smtp`), sends one message to one recipient
at a time, and sorts every failure into temporary (4xx, network, dropped connection: retried
here with backoff) or permanent (5xx).

It owns no database and no content: the weekly digest (`bot.delivery.email.weekly`) decides
what to send and records the outcome. No log line or exception message built here contains
the password. A password is never sent over an unencrypted connection, except to a loopback
address (a local relay, tests).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Awaitable, Callable, Literal

import aiosmtplib

from bot.config.smtp import SmtpConfig
from bot.errors import DeliveryError

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class SmtpUnavailable(DeliveryError):
    """No message can go out through this server now (cannot connect, TLS refused,
    authentication failed). The caller keeps every unsent recipient for a later run."""


@dataclass(frozen=True)
class SendResult:
    """What became of one message to one recipient."""

    recipient: str
    status: Literal["sent", "temporary", "permanent"]
    attempts: int
    error: str | None = None
    code: int | None = None


class SmtpSender:
    """One SMTP connection, opened on first use and re-opened after a drop.

    `send` retries a temporary failure up to `max_attempts` times, waiting
    `backoff * 2**n` seconds (capped at `max_backoff`) through the injected `sleep`.
    """

    def __init__(self, config: SmtpConfig, *, tls_context: ssl.SSLContext | None = None,
                 sleep: Sleep = asyncio.sleep, max_attempts: int = 4, backoff: float = 2.0,
                 max_backoff: float = 60.0, timeout: float = 30.0):
        self.config = config
        self._tls_context = tls_context
        self._sleep = sleep
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self._smtp: aiosmtplib.SMTP | None = None

    def __repr__(self) -> str:
        return f"SmtpSender({self.config!r})"

    async def __aenter__(self) -> "SmtpSender":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None or not smtp.is_connected:
            return
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError):
            smtp.close()

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    async def _connection(self) -> aiosmtplib.SMTP:
        if self._smtp is not None and self._smtp.is_connected:
            return self._smtp
        self._drop()
        cfg = self.config
        smtp = aiosmtplib.SMTP(
            hostname=cfg.host, port=cfg.port, use_tls=cfg.implicit_tls,
            # None: STARTTLS when the server offers it; implicit TLS needs False.
            start_tls=False if cfg.implicit_tls else None,
            tls_context=self._tls_context, timeout=self.timeout,
        )
        await smtp.connect()
        try:
            if cfg.username:
                encrypted = smtp.get_transport_info("sslcontext") is not None
                if not encrypted and not cfg.is_loopback:
                    raise SmtpUnavailable(
                        f"{cfg.display} offers no STARTTLS; refusing to send the password unencrypted",
                        hint="use smtps:// or a server that supports STARTTLS")
                await smtp.ehlo()          # STARTTLS forgets the first EHLO's extensions
                if not smtp.supports_extension("auth"):
                    raise SmtpUnavailable(f"{cfg.display} does not offer AUTH, but SMTP_URL has a user name",
                                          hint="remove user:pass from SMTP_URL, or use the submission port")
                await _login(smtp, cfg.username, cfg.password or "")
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        log.debug("smtp connected to %s tls=%s", cfg.display, smtp.get_transport_info("sslcontext") is not None)
        return smtp

    async def send(self, message: EmailMessage, recipient: str, *, sender: str) -> SendResult:
        """Send `message` to `recipient` alone. Raises SmtpUnavailable when the server
        cannot be reached or refuses us altogether; returns a SendResult otherwise."""
        last_error, last_code, connect_failed = "", None, False
        for attempt in range(1, self.max_attempts + 1):
            if attempt > 1:
                await self._sleep(min(self.max_backoff, self.backoff * 2 ** (attempt - 2)))
            connect_failed = True
            try:
                smtp = await self._connection()
            except SmtpUnavailable:
                raise
            except aiosmtplib.SMTPAuthenticationError as exc:
                self._drop()
                if 400 <= exc.code < 500:
                    last_error, last_code = f"authentication deferred: {exc.code} {exc.message}", exc.code
                    continue
                raise SmtpUnavailable(f"{self.config.display}: authentication failed ({exc.code} {exc.message})",
                                      hint="check the user and password in SMTP_URL") from None
            except aiosmtplib.SMTPNotSupported as exc:
                self._drop()
                raise SmtpUnavailable(f"{self.config.display}: {exc.message}") from None
            except aiosmtplib.SMTPResponseException as exc:
                self._drop()
                last_error, last_code = f"server refused the session: {exc.code} {exc.message}", exc.code
                if exc.code >= 500:
                    raise SmtpUnavailable(f"{self.config.display}: {last_error}") from None
                continue
            except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
                self._drop()
                if (tls_error := _tls_error(exc)) is not None:
                    raise SmtpUnavailable(f"{self.config.display}: TLS failed ({tls_error})",
                                          hint="check the server's certificate and the smtp/smtps scheme") from None
                last_error, last_code = f"cannot connect to {self.config.display}: {_describe(exc)}", None
                log.info("smtp connect attempt=%d failed: %s", attempt, last_error)
                continue
            connect_failed = False
            try:
                await smtp.send_message(message, sender=sender, recipients=[recipient])
            except aiosmtplib.SMTPRecipientsRefused as exc:
                refused = exc.recipients[0]
                last_error, last_code = f"{refused.code} {refused.message}", refused.code
            except aiosmtplib.SMTPResponseException as exc:
                last_error, last_code = f"{exc.code} {exc.message}", exc.code
            except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
                # A drop mid-session: the server did not accept the message, send it again.
                self._drop()
                last_error, last_code = f"connection lost: {_describe(exc)}", None
                log.info("smtp send to=%s attempt=%d: %s", recipient, attempt, last_error)
                continue
            else:
                log.debug("smtp sent to=%s attempt=%d", recipient, attempt)
                return SendResult(recipient, "sent", attempt)
            if last_code is not None and last_code >= 500:
                log.warning("smtp permanent failure to=%s: %s", recipient, last_error)
                return SendResult(recipient, "permanent", attempt, last_error, last_code)
            log.info("smtp temporary failure to=%s attempt=%d: %s", recipient, attempt, last_error)
        if connect_failed:
            # The last attempts could not even connect: nothing else will go through either.
            raise SmtpUnavailable(last_error or f"cannot connect to {self.config.display}")
        return SendResult(recipient, "temporary", self.max_attempts, last_error, last_code)


# RFC 4954: the credentials are wrong. Another mechanism will not make them right, and a
# server may stop answering after a failed AUTH (which turned a wrong password into four
# 30-second timeouts, reported as "Timed out").
_CREDENTIALS_INVALID = 535


async def _login(smtp: aiosmtplib.SMTP, username: str, password: str) -> None:
    """AUTH with the mechanisms the server offers, in aiosmtplib's order of preference,
    moving on only when a mechanism itself fails (a server may offer one it cannot do)."""
    failed: aiosmtplib.SMTPAuthenticationError | None = None
    for name in smtp.supported_auth_methods:
        try:
            await getattr(smtp, f"auth_{name.replace('-', '')}")(username, password)
            return
        except aiosmtplib.SMTPAuthenticationError as exc:
            if exc.code == _CREDENTIALS_INVALID:
                raise
            failed = exc
    raise failed or aiosmtplib.SMTPNotSupported("no authentication mechanism in common with the server")


def _tls_error(exc: BaseException) -> str | None:
    """A certificate or handshake failure, which retrying will not fix (aiosmtplib wraps
    it in SMTPConnectError)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen.verify_message or "certificate verify failed"
        if isinstance(seen, ssl.SSLError) and not isinstance(seen, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
            return seen.reason or str(seen)
        seen = seen.__cause__ or seen.__context__
    return None


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 300 else text[:297] + "..."
