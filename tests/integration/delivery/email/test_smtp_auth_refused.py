"""A wrong SMTP password is "authentication failed" at once, also from a server that stops
answering after a failed AUTH (the other mechanisms are not tried: each would have waited
out the timeout, four attempts in all, and been reported as "Timed out")."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

import pytest
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult

from bot.config.smtp import parse_smtp_url
from bot.delivery.email.smtp import SmtpSender, SmtpUnavailable


class Accepting:
    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001
        return "250 OK"


class Tarpit(SMTPServer):
    """Answers the first AUTH of a session with 535, then never answers another one."""

    async def smtp_AUTH(self, arg: str) -> None:
        if getattr(self, "failed_once", False):
            await asyncio.Event().wait()
        self.failed_once = True
        await super().smtp_AUTH(arg)


class Sleeps(list):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
async def tarpit():
    attempts: list[str] = []

    def authenticate(server, session, envelope, mechanism, auth_data):  # noqa: ANN001
        attempts.append(mechanism)
        return AuthResult(success=False, handled=False)

    def factory() -> SMTPServer:
        return Tarpit(Accepting(), hostname="mx.test", authenticator=authenticate, auth_require_tls=False)

    server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1], attempts
    server.close()
    await server.wait_closed()


async def test_a_wrong_password_is_refused_at_once_not_timed_out(tarpit):
    port, attempts = tarpit
    message = EmailMessage()
    message["Subject"] = "weekly digest"
    message.set_content("hello")
    sleeps = Sleeps()
    config = parse_smtp_url(f"smtp://newsbot:wr0ng@127.0.0.1:{port}")
    async with SmtpSender(config, sleep=sleeps, timeout=2.0) as sender:
        with pytest.raises(SmtpUnavailable) as info:
            await sender.send(message, "ana@example.org", sender="digest@coalition.example")
    assert "authentication failed (535" in str(info.value) and "Timed out" not in str(info.value)
    assert attempts == ["PLAIN"], "one mechanism tried: the credentials, not the mechanism, are wrong"
    assert sleeps == [], "a refused password is not retried"
