"""What every command shares: the config dir, settings, loaded config, the database,
output formats and the mapping from errors to exit codes."""

from __future__ import annotations

import functools
import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import click

from bot.config.settings import Settings
from bot.errors import ConfigError, NewsbotError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bot.config.deliveries import DeliveriesFile
    from bot.config.snapshot import ConfigSnapshot
    from bot.config.sources import SourcesConfig

EXIT_OK, EXIT_PROBLEMS, EXIT_CONFIG, EXIT_PARTIAL = 0, 1, 2, 3


@dataclass
class App:
    """Passed to every command as `click.get_current_context().obj`."""

    config_dir: Path
    settings: Settings
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from bot.storage.db import open_database

            self._engine = open_database(self.settings.database_url)
            # the pool's connections close with the command (a test, or any caller that
            # invokes several commands in one process, would otherwise keep them open)
            ctx = click.get_current_context(silent=True)
            if ctx is not None:
                ctx.find_root().call_on_close(self._engine.dispose)
        return self._engine

    def sources(self) -> SourcesConfig:
        from bot.config.sources import load_sources

        return load_sources(self.config_dir)

    def sources_or_none(self) -> SourcesConfig:
        """sources.yaml for the commands that only name, weigh or fetch like the sources: without a
        (valid) file, no sources: ids read fine, weights are 1, the fetch policy is the default."""
        from bot.config.sources import SOURCES_FILE, SourcesConfig, SourcesFile

        try:
            return self.sources()
        except (OSError, NewsbotError):
            return SourcesConfig(SourcesFile(), self.config_dir / SOURCES_FILE)

    def source_names(self) -> dict[str, str]:
        """Display name per source id; none without a (valid) sources.yaml: ids read fine."""
        return self.sources_or_none().display_names()

    def source_weights(self) -> dict[str, float]:
        """sources.yaml `weight` per source id, for ranking (all 1 without a valid file)."""
        return self.sources_or_none().weights()

    def schedule_tz(self) -> str | None:
        return self.settings.schedule_tz(self.deliveries())

    def deliveries(self) -> DeliveriesFile:
        from bot.config.deliveries import load_deliveries

        return load_deliveries(self.config_dir)

    def config(self) -> ConfigSnapshot:
        """sources.yaml, rules/ and deliveries.yaml validated together, rules compiled (what the
        daemon runs with), for the commands that poll."""
        from bot.config.snapshot import load_config

        return load_config(self.config_dir)

    def delivery_config(self) -> ConfigSnapshot:
        """rules/ and deliveries.yaml validated, for the commands that send or preview: they only
        name and weigh the sources, so sources.yaml may be missing (`sources_or_none`)."""
        from datetime import datetime, timezone

        from bot.config.snapshot import ConfigSnapshot, content_digest
        from bot.config.themes import load_themes

        deliveries = self.deliveries()
        return ConfigSnapshot(self.sources_or_none(), load_themes(self.config_dir), deliveries,
                              content_digest(self.config_dir), datetime.now(timezone.utc))


pass_app = click.make_pass_decorator(App)


def secrets_of(settings: Settings) -> tuple[str | None, ...]:
    """The secret values of `settings`, for bot.runtime.logs: the bot token, the SMTP and database
    passwords."""
    from urllib.parse import urlsplit

    def password(url: str | None) -> str | None:
        try:
            return urlsplit(url).password if url else None
        except ValueError:
            return None

    return settings.telegram_token, password(settings.smtp_url), password(settings.database_url)


def database_error(exc: Exception, urls: list[str]) -> str:
    """The one line for a database that cannot be reached (or refused us): the URLs with
    their passwords hidden, and the driver's first line, masked too."""
    from bot.config.settings import redact_url
    from bot.runtime.logs import redact

    text = str(getattr(exc, "orig", None) or exc).strip()  # dynamic: a DBAPIError's driver error, if any
    first = text.splitlines()[0] if text else type(exc).__name__
    return redact(f"database error ({', '.join(redact_url(u) for u in urls)}): {first}")


def _is_database_unreachable(exc: BaseException) -> bool:
    """A SQLAlchemy OperationalError (connection refused, bad password, unknown database...),
    without importing SQLAlchemy for commands that never loaded it."""
    sa_exc = sys.modules.get("sqlalchemy.exc")
    return sa_exc is not None and isinstance(exc, sa_exc.OperationalError)


def _is_token_rejected(exc: BaseException | None) -> bool:
    """python-telegram-bot's InvalidToken (the Bot API answered 401/404 to the token); its
    message, from `Bot.initialize`, repeats the token in clear."""
    tg_error = sys.modules.get("telegram.error")
    return tg_error is not None and isinstance(exc, tg_error.InvalidToken)


def token_rejected_message(exc: BaseException) -> str:
    """`TELEGRAM_BOT_TOKEN was rejected by the Bot API (<the server's answer>)`: the answer
    of the request (`Unauthorized`), never PTB's sentence that quotes the token."""
    cause = exc.__cause__ if _is_token_rejected(exc.__cause__) else exc
    answer = str(getattr(cause, "message", "") or "").strip()  # dynamic: PTB's errors have .message, others not
    if not answer or "token" in answer.lower():
        answer = "rejected"
    return f"TELEGRAM_BOT_TOKEN was rejected by the Bot API ({answer})"


TOKEN_HINT = "check the token with @BotFather (/mybots, API Token) and set TELEGRAM_BOT_TOKEN to it"


def handle_errors(fn: Callable) -> Callable:
    """Turn newsbot's errors into `Error: ...` on stderr and the documented exit codes.
    A bad environment value (NEWSBOT_TZ, NEWSBOT_HTTP, DATABASE_URL) is a configuration
    error of every command, reported before the command starts; so are a database that cannot
    be reached and a bot token the Bot API rejects (exit 2, which systemd does not restart).
    Any other exception is a bug: one masked `Error:` line naming its type, exit 1, and its
    (masked) traceback only when logging at DEBUG (`run --log-level DEBUG`): a traceback can
    quote secrets (python-telegram-bot's InvalidToken quotes the token). Output piped into a
    reader that stops early (`| head`) ends the command quietly, exit 1, as click does."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from bot.runtime.logs import redact, set_secrets

        app = None
        try:
            ctx = click.get_current_context(silent=True)
            app = ctx.find_object(App) if ctx is not None else None
            if app is not None:
                set_secrets(*secrets_of(app.settings))
                app.settings.check()
            try:
                return fn(*args, **kwargs)
            finally:
                # Output still buffered would meet a closed pipe (`newsbot ... | head`) only
                # at interpreter exit, as a traceback-like "Exception ignored" message: flush
                # here, where click's handler (below) turns BrokenPipeError into a quiet exit.
                sys.stdout.flush()
        except BrokenPipeError:
            raise  # click's main(): a reader that went away stops the command quietly (exit 1)
        except ConfigError as exc:
            for problem in exc.problems:
                click.echo(redact(f"Error: {problem}"), err=True)
            sys.exit(EXIT_CONFIG)
        except NewsbotError as exc:
            click.echo(redact(f"Error: {exc}"), err=True)
            if exc.hint:
                click.echo(redact(f"Hint: {exc.hint}"), err=True)
            sys.exit(EXIT_CONFIG)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence: no raw traceback
            if _is_token_rejected(exc):
                click.echo(redact(f"Error: {token_rejected_message(exc)}"), err=True)
                click.echo(f"Hint: {TOKEN_HINT}", err=True)
                sys.exit(EXIT_CONFIG)
            if _is_database_unreachable(exc):
                url = app.settings.database_url if app is not None else ""
                click.echo(f"Error: {database_error(exc, [url] if url else [])}", err=True)
                sys.exit(EXIT_CONFIG)
            if logging.getLogger().isEnabledFor(logging.DEBUG):
                import traceback

                click.echo(redact("".join(traceback.format_exception(exc))).rstrip(), err=True)
            first = (str(exc).strip().splitlines() or [""])[0]
            click.echo(redact(f"Error: unexpected {type(exc).__name__}" + (f": {first}" if first else "")), err=True)
            sys.exit(EXIT_PROBLEMS)

    return wrapper


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=_json_default))


def _json_default(value: Any) -> Any:
    from datetime import datetime

    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def format_option(*choices: str, default: str = "text") -> Callable:
    return click.option("--format", "fmt", type=click.Choice(list(choices)), default=default,
                        show_default=True, help="Output format; json is stable for scripts.")


def setup_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Only the CLI configures handlers. httpx logs URLs, and Bot API URLs hold the token;
    the configured secrets are masked in every line."""
    from bot.runtime.logs import configure

    ctx = click.get_current_context(silent=True)
    app = ctx.find_object(App) if ctx is not None else None
    configure(level=level, fmt=fmt, secrets=secrets_of(app.settings) if app is not None else None)
