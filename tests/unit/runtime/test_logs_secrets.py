"""Secrets never reach a log line or a repr."""

import logging
from pathlib import Path

from bot.config.settings import Settings, redact_url
from bot.runtime.logs import RedactingFilter, configure, redact

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_settings_repr_hides_token_and_passwords(tmp_path: Path):
    s = Settings.load(tmp_path, {"TELEGRAM_BOT_TOKEN": TOKEN, "SMTP_URL": "smtp://u:hunter2@mail.org:587",
                                 "DATABASE_URL": "postgresql://app:dbpass@db/newsbot"})
    text = repr(s)
    assert TOKEN not in text and "hunter2" not in text and "dbpass" not in text
    assert "telegram_token=set" in text and "postgresql://app:***@db/newsbot" in text


def test_dotenv_is_read_and_the_environment_wins(tmp_path: Path):
    (tmp_path / ".env").write_text('# comment\nexport TELEGRAM_ADMIN_IDS="1, 2"\nEMAIL_FROM=a@b.org\n')
    s = Settings.load(tmp_path, {"EMAIL_FROM": "env@b.org"})
    assert s.admin_ids == frozenset({1, 2}) and s.email_from == "env@b.org"


def test_redact_masks_bot_urls_and_smtp_passwords():
    line = f"POST https://api.telegram.org/bot{TOKEN}/sendMessage via smtps://me:s3cr3t@mail.org"
    out = redact(line)
    assert TOKEN not in out and "s3cr3t" not in out
    assert "bot<token>/sendMessage" in out and "smtps://me:***@mail.org" in out
    assert redact_url("smtp://me@mail.org") == "smtp://me@mail.org"
    assert redact("could not connect to postgresql+psycopg://app:dbpass@db/newsbot") == \
        "could not connect to postgresql+psycopg://app:***@db/newsbot"


def test_log_records_are_redacted_by_the_cli_handler(capsys):
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("httpx").level)
    configure(level="INFO")
    try:
        logging.getLogger("bot.test").info("calling %s", f"https://x/bot{TOKEN}/getMe")
        err = capsys.readouterr().err
        assert TOKEN not in err and "bot<token>/getMe" in err
        # httpx logs request URLs at INFO; the CLI holds it at WARNING.
        assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
        assert any(isinstance(f, RedactingFilter) for h in logging.getLogger().handlers for f in h.filters)
    finally:
        root.handlers[:], level, httpx_level = saved
        root.setLevel(level)
        logging.getLogger("httpx").setLevel(httpx_level)


def test_tracebacks_are_redacted_too(capsys):
    """An exception's text can hold the URL it failed on; `log.exception` must not print it."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    for fmt in ("text", "json"):
        configure(level="INFO", fmt=fmt)
        try:
            try:
                raise ConnectionError(f"POST https://api.telegram.org/bot{TOKEN}/sendMessage failed "
                                      "(db postgresql://app:dbpass@db/newsbot)")
            except ConnectionError:
                logging.getLogger("bot.test").exception("send failed")
            err = capsys.readouterr().err
            assert "ConnectionError" in err and "bot<token>/sendMessage" in err, err
            assert TOKEN not in err and "dbpass" not in err
        finally:
            root.handlers[:], level = saved
            root.setLevel(level)


def _restore_logging(saved) -> None:  # noqa: ANN001
    root = logging.getLogger()
    root.handlers[:], level = saved
    root.setLevel(level)


def test_the_configured_token_is_masked_bare_too(capsys):
    """python-telegram-bot says "The token `123456:SECRET...` was rejected by the server":
    no `bot` before it, and a short token: the configured value itself is masked."""
    from bot.runtime.logs import set_secrets

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    token = "123456:SECRETTOKENabc"
    try:
        for fmt in ("text", "json"):
            configure(level="INFO", fmt=fmt, secrets=(token, "dbpassword", None, "pw"))
            log = logging.getLogger("bot.test")
            log.error("The token `%s` was rejected by the server.", token)
            log.info("again %s and its secret part %s", token, token.split(":")[1])
            try:
                raise RuntimeError(f"The token `{token}` was rejected; password dbpassword")
            except RuntimeError:
                log.exception("failed")
            err = capsys.readouterr().err
            assert "SECRETTOKENabc" not in err and "dbpassword" not in err, err
            assert "The token `<redacted>` was rejected" in err and "RuntimeError" in err
        # a value too short to mask bare is not (it would blot out words); in a URL it is
        assert redact("pw in a word, postgresql://u:pw@h/db") == "pw in a word, postgresql://u:***@h/db"
    finally:
        set_secrets()
        _restore_logging(saved)
    assert redact(f"The token `{token}`") == f"The token `{token}`"   # cleared


def _command(exc: Exception):  # noqa: ANN202
    import click

    from bot.cli.common import App, handle_errors

    @click.command()
    @click.pass_obj
    @handle_errors
    def boom(_app: App) -> None:
        raise exc

    return boom


def test_an_unexpected_exception_is_one_masked_error_line(tmp_path: Path):
    """No raw traceback from a command: one `Error:` line naming the exception's type, with
    the configured secrets masked, exit 1; the (masked) traceback only when logging at DEBUG."""
    from click.testing import CliRunner

    from bot.cli.common import App
    from bot.runtime.logs import set_secrets

    token = "123456:SECRETTOKENabc"
    settings = Settings.load(tmp_path, {"TELEGRAM_BOT_TOKEN": token,
                                        "DATABASE_URL": f"sqlite:///{tmp_path / 'n.db'}"})
    app = App(config_dir=tmp_path, settings=settings)
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        for level, traceback_shown in ((logging.WARNING, False), (logging.DEBUG, True)):
            root.setLevel(level)
            result = CliRunner().invoke(_command(KeyError(f"chat of {token}")), [], obj=app)
            assert result.exit_code == 1, result.output
            assert "SECRETTOKENabc" not in result.output
            errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
            assert errors == ["Error: unexpected KeyError: 'chat of <redacted>'"], result.output
            assert ("Traceback" in result.output) is traceback_shown, result.output
            assert not isinstance(result.exception, KeyError)       # handled: a SystemExit
    finally:
        set_secrets()
        _restore_logging(saved)
