"""The weekly digest sent to a real aiosmtpd server on 127.0.0.1: plain, STARTTLS and
implicit TLS, AUTH LOGIN/PLAIN, injected 4xx/5xx replies and dropped connections; every
received message is parsed back with the email package and checked."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import ssl
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trustme
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select

from bot.delivery.email.weekly import WeeklyEmail
from bot.config.smtp import SmtpConfig, parse_smtp_url
from bot.errors import ConfigError
from bot.storage.schema import email_sends

from support.email_support import NOW, SOURCE_NAMES, THEMES, WEEK, deliveries, seed, settings

PASSWORD = "s3cr3t-Pa55!"
GREEK_ARABIC_EMOJI = "Συμμαχία · التحالف 🗞️"


# ---- the server ----------------------------------------------------------------------------

@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage
    raw: bytes
    tls: bool
    auth: tuple[str, str] | None


@dataclass
class Handler:
    """Records messages; scripts replies: `rcpt[addr]` and `data` are lists of replies to give
    before accepting (a reply of 'DROP' closes the connection instead)."""

    received: list[Received] = field(default_factory=list)
    rcpt: dict[str, list[str]] = field(default_factory=dict)
    data: list[str] = field(default_factory=list)
    auths: list[tuple[str, str, str]] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001
        script = self.rcpt.get(address)
        if script:
            return script.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001
        if self.data:
            reply = self.data.pop(0)
            if reply == "DROP":
                server.transport.abort()
                return "421 gone"
            return reply
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), msg, envelope.original_content,
                                      server.transport.get_extra_info("ssl_object") is not None,
                                      session.auth_data))
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data):  # noqa: ANN001
        assert isinstance(auth_data, LoginPassword)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        self.auths.append((mechanism, user, password))
        ok = (user, password) == ("newsbot", PASSWORD)
        return AuthResult(success=ok, handled=False, auth_data=(mechanism, user) if ok else None)


@pytest.fixture(scope="module")
def tls():
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    return server_ctx, client_ctx


class Server:
    def __init__(self):
        self.handler = Handler()
        self._server: asyncio.AbstractServer | None = None
        self.port = 0

    async def start(self, *, starttls_ctx=None, implicit_ctx=None, auth=False, require_tls=False,  # noqa: ANN001
                    exclude=()) -> "Server":
        handler = self.handler

        def factory():  # noqa: ANN202
            return SMTPServer(handler, hostname="mx.test", tls_context=starttls_ctx, require_starttls=require_tls,
                              authenticator=handler.authenticate if auth else None,
                              auth_required=auth and require_tls,   # else aiosmtpd warns (an error here)
                              # aiosmtpd counts only STARTTLS as TLS for AUTH; implicit TLS needs False.
                              auth_require_tls=require_tls,
                              auth_exclude_mechanism=list(exclude))

        self._server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0, ssl=implicit_ctx)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


@pytest.fixture
async def server():
    srv = Server()
    yield srv
    await srv.stop()


@pytest.fixture
def db(tmp_path):
    engine = seed(tmp_path / "email.db")
    yield engine
    engine.dispose()


class Sleeps(list):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def weekly(db, tmp_path, url, *, tls_context=None, lists=None, sleeps=None,  # noqa: ANN001, ANN201
           email_from=f"{GREEK_ARABIC_EMOJI} <digest@coalition.example>"):
    return WeeklyEmail(db, deliveries(lists), THEMES, settings(tmp_path, url, email_from), clock=lambda: NOW,
                       source_names=SOURCE_NAMES, tls_context=tls_context, sleep=sleeps if sleeps is not None else Sleeps())


def rows(db) -> dict[str, tuple[str, int, str | None]]:  # noqa: ANN001
    with db.connect() as conn:
        return {r.recipient: (r.status, r.attempts, r.error)
                for r in conn.execute(select(email_sends).where(email_sends.c.week == WEEK))}


LISTS = [{"name": "members", "title": "Μέλη — الأعضاء ✊", "to": ["ana@example.org", "bilal@example.org"]}]


def check_message(got: Received, recipient: str) -> None:
    msg = got.message
    assert got.rcpt_tos == [recipient]
    assert msg["To"] == recipient                       # one recipient a message, no address leaks
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    # Headers travel RFC 2047-encoded (the server has no SMTPUTF8), 7-bit on the wire, and
    # decode back exactly.
    head = got.raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii() and b"Subject: =?utf-8?" in head and b"From: =?utf-8?" in head
    assert got.raw.isascii()                            # bodies quoted-printable
    # URIs and list ids stay literal: clients do not decode RFC 2047 inside them.
    assert b"\r\nList-Unsubscribe: <mailto:digest@coalition.example?subject=unsubscribe%20members%20" in head
    assert b" <members.coalition.example>\r\n" in head
    assert msg["Subject"] == "Μέλη — الأعضاء ✊: weekly digest 16–22 Nov 2026 (7 stories)"
    assert msg["From"].addresses[0].display_name == GREEK_ARABIC_EMOJI
    assert msg["From"].addresses[0].addr_spec == "digest@coalition.example"
    assert got.mail_from == "digest@coalition.example"
    assert msg["Date"].datetime == NOW
    assert msg["Message-ID"].startswith("<") and msg["Message-ID"].endswith("@coalition.example>")
    assert msg["List-Id"] == "Μέλη — الأعضاء ✊ <members.coalition.example>"
    assert msg["List-Unsubscribe"] == "<mailto:digest@coalition.example?subject=unsubscribe%20members%20" + \
        recipient.replace("@", "%40") + ">"
    assert "List-Unsubscribe-Post" not in msg              # no https URL given
    text, html = parts[0].get_content(), parts[1].get_content()
    assert "Also reported by Εφημερίδα των Συντακτών, ECRE" in text
    assert "غرق قارب قبالة سواحل ليبيا وفقدان 60 مهاجراً" in text
    assert '<a class="nb-link" href="https://alarmphone.org/en/2026/11/17/lesvos-pushback/"' in html
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "javascript:" not in html


# ---- tests ---------------------------------------------------------------------------------

@pytest.mark.parametrize("url,expected", [
    ("smtp://mail.example.org", SmtpConfig("mail.example.org", 587, False)),
    ("smtp://mail.example.org:25", SmtpConfig("mail.example.org", 25, False)),
    ("smtps://u:p%40ss@mail.example.org", SmtpConfig("mail.example.org", 465, True, "u", "p@ss")),
    ("SMTPS://me%40org.example:pw@[::1]:2465", SmtpConfig("::1", 2465, True, "me@org.example", "pw")),
])
def test_parse_smtp_url(url, expected):
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize("url,message", [
    ("http://u:hunter2@mail.example.org", "scheme must be smtp or smtps"),
    ("smtp://:hunter2@", "no host"),
    ("smtp://u:hunter2@mail.example.org:99999", "not a valid URL"),
    ("smtp://u:hunter2@mail.example.org/path", "unexpected path"),
])
def test_parse_smtp_url_rejects_without_echoing_the_password(url, message):
    with pytest.raises(ConfigError) as info:
        parse_smtp_url(url)
    assert message in str(info.value) and "hunter2" not in str(info.value)


def test_config_repr_hides_the_password():
    cfg = parse_smtp_url(f"smtps://newsbot:{PASSWORD}@mail.example.org")
    assert PASSWORD not in repr(cfg) and PASSWORD not in str(cfg) and "newsbot:***@" in repr(cfg)


async def test_plain_send_one_message_per_recipient_and_no_resend(server, db, tmp_path):
    await server.start()
    w = weekly(db, tmp_path, f"smtp://127.0.0.1:{server.port}", lists=LISTS)
    report = await w.send_due()
    assert report.ok and [lr.sent for lr in report.lists] == [["ana@example.org", "bilal@example.org"]]
    got = server.handler.received
    assert len(got) == 2 and not any(r.tls for r in got)
    for r, rcpt in zip(got, ["ana@example.org", "bilal@example.org"]):
        check_message(r, rcpt)
    assert got[0].message["Message-ID"] != got[1].message["Message-ID"]
    assert {k: v[0] for k, v in rows(db).items()} == {"ana@example.org": "sent", "bilal@example.org": "sent"}
    # A re-run (or a restart of the daemon) the same week sends nothing again.
    again = await w.send_due()
    assert again.lists[0].sent == [] and sorted(again.lists[0].already_sent) == ["ana@example.org", "bilal@example.org"]
    assert len(server.handler.received) == 2


async def test_starttls_with_auth_plain(server, db, tmp_path, tls):
    server_ctx, client_ctx = tls
    await server.start(starttls_ctx=server_ctx, auth=True, require_tls=True)
    w = weekly(db, tmp_path, f"smtp://newsbot:{PASSWORD}@127.0.0.1:{server.port}", tls_context=client_ctx, lists=LISTS)
    report = await w.send_now()
    assert report.ok, report
    assert [r.tls for r in server.handler.received] == [True, True]
    assert [r.auth for r in server.handler.received] == [("PLAIN", "newsbot")] * 2
    check_message(server.handler.received[1], "bilal@example.org")


async def test_implicit_tls_with_auth_login(server, db, tmp_path, tls):
    server_ctx, client_ctx = tls
    await server.start(implicit_ctx=server_ctx, auth=True, exclude=("PLAIN",))
    w = weekly(db, tmp_path, f"smtps://newsbot:{PASSWORD.replace('!', '%21')}@127.0.0.1:{server.port}",
               tls_context=client_ctx, lists=LISTS)
    report = await w.send_now()
    assert report.ok, report
    assert [(r.tls, r.auth) for r in server.handler.received] == [(True, ("LOGIN", "newsbot"))] * 2
    check_message(server.handler.received[0], "ana@example.org")


async def test_untrusted_certificate_is_refused(server, db, tmp_path, tls):
    server_ctx, _ = tls
    await server.start(implicit_ctx=server_ctx)
    w = weekly(db, tmp_path, f"smtps://127.0.0.1:{server.port}", tls_context=ssl.create_default_context(), lists=LISTS)
    report = await w.send_now()
    assert not report.ok and server.handler.received == []
    assert "TLS failed" in report.lists[0].deferred["ana@example.org"]
    assert {v[0] for v in rows(db).values()} == {"queued"}


async def test_temporary_4xx_is_retried_with_backoff(server, db, tmp_path):
    await server.start()
    server.handler.rcpt["ana@example.org"] = ["451 4.3.0 Mailbox busy, try later", "452 4.2.2 Still busy"]
    sleeps = Sleeps()
    w = weekly(db, tmp_path, f"smtp://127.0.0.1:{server.port}", lists=LISTS, sleeps=sleeps)
    report = await w.send_now()
    assert report.ok and sorted(report.lists[0].sent) == ["ana@example.org", "bilal@example.org"]
    assert sleeps == [2.0, 4.0]                             # backoff, through the injected sleep
    assert [r.rcpt_tos for r in server.handler.received] == [["ana@example.org"], ["bilal@example.org"]]


async def test_temporary_failures_exhausted_stay_queued_for_the_next_run(server, db, tmp_path):
    await server.start()
    server.handler.rcpt["ana@example.org"] = ["421 4.7.0 Try again later"] * 4
    w = weekly(db, tmp_path, f"smtp://127.0.0.1:{server.port}", lists=LISTS)
    first = await w.send_now()
    assert not first.ok and "421" in first.lists[0].deferred["ana@example.org"]
    assert rows(db)["ana@example.org"][:2] == ("queued", 1)
    second = await w.send_now()                              # the server has recovered
    assert second.ok and second.lists[0].sent == ["ana@example.org"]
    assert [r.rcpt_tos for r in server.handler.received] == [["bilal@example.org"], ["ana@example.org"]]


async def test_permanent_5xx_recorded_for_that_recipient_only(server, db, tmp_path, caplog):
    await server.start()
    server.handler.rcpt["ana@example.org"] = ["550 5.1.1 No such user here"]
    sleeps = Sleeps()
    w = weekly(db, tmp_path, f"smtp://127.0.0.1:{server.port}", lists=LISTS, sleeps=sleeps)
    report = await w.send_now()
    assert not report.ok
    assert report.lists[0].failed == {"ana@example.org": "550 5.1.1 No such user here"}
    assert report.lists[0].sent == ["bilal@example.org"] and sleeps == []    # 5xx is not retried
    assert rows(db)["ana@example.org"] == ("failed", 1, "550 5.1.1 No such user here")
    again = await w.send_now()                                # not retried on a re-run either
    assert again.lists[0].sent == [] and len(server.handler.received) == 1


async def test_dropped_connection_mid_session_is_resent_once(server, db, tmp_path):
    await server.start()
    server.handler.data = ["DROP"]
    sleeps = Sleeps()
    w = weekly(db, tmp_path, f"smtp://127.0.0.1:{server.port}", lists=LISTS, sleeps=sleeps)
    report = await w.send_now()
    assert report.ok, report
    assert [r.rcpt_tos for r in server.handler.received] == [["ana@example.org"], ["bilal@example.org"]]
    assert sleeps == [2.0]


async def test_crashed_run_finishes_only_the_missed_recipients(server, db, tmp_path):
    await server.start()
    lists = [{"name": "members", "title": "Members", "to": ["a@example.org", "b@example.org", "c@example.org"]}]
    w = weekly(db, tmp_path, f"smtp://127.0.0.1:{server.port}", lists=lists)
    # A run that queued everyone, sent to `a`, claimed `b` and died before recording it.
    from sqlalchemy import insert
    with db.begin() as conn:
        for rcpt, status, attempts in (("a@example.org", "sent", 1), ("b@example.org", "queued", 1),
                                       ("c@example.org", "queued", 0)):
            conn.execute(insert(email_sends).values(list_name="members", week=WEEK, recipient=rcpt, status=status,
                                                    attempts=attempts, created_at=NOW))
    report = await w.send_due()
    assert report.ok and report.lists[0].sent == ["b@example.org", "c@example.org"]
    assert report.lists[0].already_sent == ["a@example.org"]
    assert [r.rcpt_tos for r in server.handler.received] == [["b@example.org"], ["c@example.org"]]


async def test_server_down_keeps_everyone_queued_then_delivers(server, db, tmp_path):
    await server.start()
    port = server.port
    await server.stop()                                       # nothing listens on the port now
    sleeps = Sleeps()
    w = weekly(db, tmp_path, f"smtp://127.0.0.1:{port}", lists=LISTS, sleeps=sleeps)
    down = await w.send_now()
    assert not down.ok and set(down.lists[0].deferred) == {"ana@example.org", "bilal@example.org"}
    assert len(sleeps) == 3                                   # 4 attempts, then the run stops
    assert {v[0] for v in rows(db).values()} == {"queued"}
    up = Server()
    up.handler = server.handler
    try:
        await up.start()
        w2 = weekly(db, tmp_path, f"smtp://127.0.0.1:{up.port}", lists=LISTS)
        report = await w2.send_now()
    finally:
        await up.stop()
    assert report.ok and len(server.handler.received) == 2


async def test_wrong_password_never_leaks(server, db, tmp_path, caplog):
    await server.start(auth=True)
    caplog.set_level(logging.DEBUG)
    wrong = "wr0ng-hunter2"
    w = weekly(db, tmp_path, f"smtp://newsbot:{wrong}@127.0.0.1:{server.port}", lists=LISTS)
    report = await w.send_now()
    assert not report.ok and server.handler.received == []
    assert server.handler.auths and server.handler.auths[0][2] == wrong     # it was really tried
    errors = " ".join(report.lists[0].deferred.values())
    assert "authentication failed" in errors
    assert wrong not in errors and wrong not in caplog.text and wrong not in repr(w.settings)
    mechanisms = [a[0] for a in server.handler.auths]          # one mechanism: a 535 is about the credentials,
    assert len(mechanisms) == len(set(mechanisms))             # and is never retried
    assert {v[0] for v in rows(db).values()} == {"queued"}      # fixed credentials will send them
    assert all(wrong not in (v[2] or "") for v in rows(db).values())


async def test_no_due_week_sends_nothing(server, db, tmp_path):
    await server.start()
    from datetime import timedelta
    w = weekly(db, tmp_path, f"smtp://127.0.0.1:{server.port}", lists=LISTS)
    w.clock = lambda: NOW - timedelta(hours=1)               # Monday 07:30, before 08:00
    assert w.due_week() is None or w.due_week() != WEEK
    w.clock = lambda: NOW + timedelta(days=3)                 # past the catch-up window
    assert w.due_week() is None
    report = await w.send_due()
    assert report.lists == [] and server.handler.received == []


# ---- the command line ----------------------------------------------------------------------

def _config(tmp_path: Path) -> Path:
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "deliveries.yaml").write_text(
        "timezone: Europe/Brussels\n"
        "email:\n  weekly:\n    lists:\n"
        "      - name: members\n        title: Coalition members\n"
        "        to: [ana@example.org, gone@example.org]\n", encoding="utf-8")
    return cfg


async def test_cli_preview_and_send_now(server, db, tmp_path):
    from click.testing import CliRunner

    from bot.cli import cli

    await server.start()
    server.handler.rcpt["gone@example.org"] = ["550 5.1.1 Mailbox unavailable"]
    cfg = _config(tmp_path)
    env = {"DATABASE_URL": str(db.url), "NEWSBOT_CONFIG_DIR": str(cfg), "SMTP_URL": "", "EMAIL_FROM": ""}
    runner = CliRunner()

    def invoke(*args: str, **extra: str):  # noqa: ANN202
        # The command runs its own event loop: give it a thread, this loop serves SMTP.
        return asyncio.to_thread(runner.invoke, cli, list(args), env={**env, **extra}, catch_exceptions=False)

    out = tmp_path / "preview" / "digest.html"
    res = await invoke("email", "--preview", str(out), "--week", WEEK)
    assert res.exit_code == 0, res.output
    assert "7 stories in 4 themes" in res.output
    assert "Boat with 40 people" in out.read_text(encoding="utf-8")
    assert "Boat with 40 people" in out.with_suffix(".txt").read_text(encoding="utf-8")
    assert server.handler.received == []                         # a preview sends nothing

    res = await invoke("email", "--send-now", "--week", WEEK)
    assert res.exit_code == 2 and "email is off" in res.output

    res = await invoke("email", "--send-now", "--week", "2026-W99")
    assert res.exit_code == 2 and "2026-W99" in res.output

    smtp = {"SMTP_URL": f"smtp://127.0.0.1:{server.port}", "EMAIL_FROM": "digest@coalition.example"}
    res = await invoke("email", "--send-now", "--week", WEEK, **smtp)
    assert res.exit_code == 3, res.output                        # one recipient failed for good
    assert "members 2026-W47: sent 1, already sent 0, failed 1" in res.output
    assert "gone@example.org: 550 5.1.1 Mailbox unavailable" in res.output
    assert [r.rcpt_tos for r in server.handler.received] == [["ana@example.org"]]

    res = await invoke("email", "--send-now", "--week", WEEK, "--list", "members", **smtp)
    assert res.exit_code == 0 and "sent 0, already sent 1" in res.output   # nothing twice
    assert len(server.handler.received) == 1

    res = await invoke("email", "--send-now", "--list", "nobody", **smtp)
    assert res.exit_code == 2 and "no email list named 'nobody'" in res.output


@pytest.mark.parametrize("given", ["d.txt", "d.html", "d", "d.week.txt"])
def test_cli_preview_names_never_collide(db, tmp_path, given):
    """Whatever suffix --preview gets, the HTML and the text land in two files named by the stem,
    and the message names both (`d.txt` once wrote the text over the HTML, "wrote d.txt and d.txt")."""
    from click.testing import CliRunner

    from bot.cli import cli

    cfg = _config(tmp_path)
    env = {"DATABASE_URL": str(db.url), "NEWSBOT_CONFIG_DIR": str(cfg), "SMTP_URL": "", "EMAIL_FROM": ""}
    out = tmp_path / "out" / given
    res = CliRunner().invoke(cli, ["email", "--preview", str(out), "--week", WEEK], env=env,
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    html_path, text_path = out.with_suffix(".html"), out.with_suffix(".txt")
    assert html_path != text_path
    assert html_path.read_text(encoding="utf-8").lstrip().lower().startswith(("<!doctype", "<html"))
    text = text_path.read_text(encoding="utf-8")
    assert "Boat with 40 people" in text and "<html" not in text.lower()
    assert f"wrote {html_path} and {text_path}" in res.output
    assert sorted(p.name for p in out.parent.iterdir()) == sorted({html_path.name, text_path.name})


async def test_temporary_failures_never_become_permanent_and_outlive_the_catch_up(server, db, tmp_path):
    """Six runs of 421s leave the recipient queued (no run limit); days later, past the
    catch-up window of its week, `send_due` still delivers it."""
    from datetime import timedelta
    await server.start()
    server.handler.rcpt["ana@example.org"] = ["421 4.7.0 Try again later"] * 24
    w = weekly(db, tmp_path, f"smtp://127.0.0.1:{server.port}", lists=LISTS)
    for run in range(6):
        w.clock = lambda run=run: NOW + timedelta(hours=run)
        report = await w.send_due()
        assert not report.ok and "421" in report.lists[0].deferred["ana@example.org"]
    assert rows(db)["ana@example.org"][0] == "queued"
    w.clock = lambda: NOW + timedelta(days=5)                 # past the catch-up: no week is due
    assert w.due_week() is None
    report = await w.send_due()
    assert report.ok and report.lists[0].sent == ["ana@example.org"]
    assert rows(db)["ana@example.org"][0] == "sent"
    assert [r.rcpt_tos for r in server.handler.received] == [["bilal@example.org"], ["ana@example.org"]]


# ---- an email worth opening ------------------------------------------------------------------

async def test_a_week_with_no_stories_is_not_sent_unless_the_list_asks(server, db, tmp_path):
    await server.start()
    lists = [{"name": "quiet", "title": "Quiet", "to": ["ana@example.org"], "themes": ["funding"]},
             {"name": "always", "title": "Always", "to": ["bilal@example.org"], "themes": ["funding"],
              "send_empty": True}]
    w = weekly(db, tmp_path, f"smtp://127.0.0.1:{server.port}", lists=lists)
    report = await w.send_due()
    quiet, always = report.lists
    assert quiet.sent == [] and "no stories" in quiet.skipped and report.ok
    assert always.sent == ["bilal@example.org"]
    assert [r.rcpt_tos for r in server.handler.received] == [["bilal@example.org"]]
    with db.connect() as conn:
        assert conn.execute(select(email_sends.c.list_name)).scalars().all() == ["always"]


async def test_a_week_that_ended_before_the_list_existed_is_not_sent(server, db, tmp_path):
    """A first start on Monday 08:30 (or a list added then) does not email last week; an
    explicit --send-now still can."""
    from bot.delivery.email.weekly import record_lists
    await server.start()
    w = weekly(db, tmp_path, f"smtp://127.0.0.1:{server.port}", lists=LISTS)
    assert record_lists(db, w.cfg, NOW) == 1 and record_lists(db, w.cfg, NOW) == 0
    report = await w.send_due()
    assert report.lists[0].sent == [] and "before the list" in report.lists[0].skipped
    assert server.handler.received == []
    explicit = await w.send_now()
    assert sorted(explicit.lists[0].sent) == ["ana@example.org", "bilal@example.org"]


async def test_name_addr_recipients_and_the_subject_said_once(server, db, tmp_path):
    await server.start()
    lists = [{"name": "members", "title": "Coalition weekly digest",
              "to": ["Zoë Ü <zoe@example.org>", "\"Doe, Jane\" <jane@example.org>", "bilal@example.org"]}]
    w = weekly(db, tmp_path, f"smtp://127.0.0.1:{server.port}", lists=lists)
    report = await w.send_due()
    assert report.ok and sorted(report.lists[0].sent) == ["bilal@example.org", "jane@example.org", "zoe@example.org"]
    got = sorted(server.handler.received, key=lambda r: r.rcpt_tos[0], reverse=True)
    assert [r.rcpt_tos for r in got] == [["zoe@example.org"], ["jane@example.org"], ["bilal@example.org"]]
    assert got[0].message["To"].addresses[0].display_name == "Zoë Ü"
    assert got[0].message["To"].addresses[0].addr_spec == "zoe@example.org"
    assert got[1].message["To"].addresses[0].display_name == "Doe, Jane"
    assert got[0].message["Subject"] == "Coalition weekly digest, 16–22 Nov 2026 (7 stories)"
    assert got[0].message["Subject"].count("digest") == 1
    text = got[0].message.get_body(("plain",)).get_content()
    assert text.splitlines()[0] == "Coalition weekly digest, 16–22 Nov 2026 (2026-W47)"
    assert rows(db)["zoe@example.org"][0] == "sent"


@pytest.mark.parametrize("bad", ["Zoë <zoe@example.org", "zoe@", "Zoë zoe@example.org", "<>"])
def test_a_bad_recipient_is_a_placed_config_error(tmp_path, bad):
    from bot.config.deliveries import load_deliveries
    (tmp_path / "deliveries.yaml").write_text(
        "email:\n  weekly:\n    lists:\n      - name: members\n        to:\n"
        f"          - ana@example.org\n          - '{bad}'\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_deliveries(tmp_path)
    text = str(exc.value)
    assert "deliveries.yaml:7" in text and "not an email address" in text


async def test_a_story_appears_once_under_its_first_theme_naming_the_others(server, db, tmp_path):
    from sqlalchemy import insert
    from bot.storage.schema import hits
    from support.email_support import at
    with db.begin() as conn:     # the rescue ship story (sea-rescue) is about detention too
        conn.execute(insert(hits).values(item_id=7, theme="detention", priority="normal", rules=["d"],
                                         explanations=[], created_at=at(21, 12)))
    await server.start()
    w = weekly(db, tmp_path, f"smtp://127.0.0.1:{server.port}", lists=LISTS)
    digest = w.digest(w.list_named("members"), WEEK)
    where = {s.slug: [e.title for e in s.entries] for s in digest.sections}
    ship = "Rescue ship detained in Italian port after disembarking 120 people"
    assert ship in where["sea-rescue"] and ship not in where["detention"]
    [entry] = [e for s in digest.sections for e in s.entries if e.title == ship]
    assert entry.also_in == [dict((s.slug, s.title) for s in digest.sections).get("detention", "Detention")]
    _, html, text = w.render(w.list_named("members"), WEEK)
    assert text.count(ship) == 1 and f"Also in {entry.also_in[0]}" in text and entry.also_in_label in html
