"""What every command shares: the config dir, settings, loaded config, the database,
output formats and the mapping from errors to exit codes."""

from __future__ import annotations

import functools
import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import click

from bot.config.settings import Settings
from bot.errors import ConfigError, NewsbotError

EXIT_OK, EXIT_PROBLEMS, EXIT_CONFIG, EXIT_PARTIAL = 0, 1, 2, 3


@dataclass
class App:
    """Passed to every command as `click.get_current_context().obj`."""

    config_dir: Path
    settings: Settings
    _engine: Any = field(default=None, repr=False)

    @property
    def engine(self):  # noqa: ANN201
        if self._engine is None:
            from bot.storage.db import open_database

            self._engine = open_database(self.settings.database_url)
            # the pool's connections close with the command (a test, or any caller that
            # invokes several commands in one process, would otherwise keep them open)
            ctx = click.get_current_context(silent=True)
            if ctx is not None:
                ctx.find_root().call_on_close(self._engine.dispose)
        return self._engine

    def sources(self):  # noqa: ANN201
        from bot.config.sources import load_sources

        return load_sources(self.config_dir)

    def source_names(self) -> dict[str, str]:
        """Display name per source id; none without a (valid) sources.yaml: ids read fine."""
        try:
            return {s.id: s.display_name for s in self.sources().sources}
        except (OSError, NewsbotError):
            return {}

    def source_weights(self) -> dict[str, float]:
        """sources.yaml `weight` per source id, for ranking (all 1 without a valid file)."""
        try:
            return {s.id: s.weight for s in self.sources().sources}
        except (OSError, NewsbotError):
            return {}

    def schedule_tz(self) -> str | None:
        return self.settings.schedule_tz(self.deliveries())

    def deliveries(self):  # noqa: ANN201
        from bot.config.deliveries import load_deliveries

        return load_deliveries(self.config_dir)


pass_app = click.make_pass_decorator(App)


def handle_errors(fn: Callable) -> Callable:
    """Turn newsbot's errors into `Error: ...` on stderr and the documented exit codes.
    A bad environment value (NEWSBOT_TZ, NEWSBOT_HTTP, DATABASE_URL) is a configuration
    error of every command, reported before the command starts."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            ctx = click.get_current_context(silent=True)
            app = ctx.find_object(App) if ctx is not None else None
            if app is not None:
                app.settings.check()
            return fn(*args, **kwargs)
        except ConfigError as exc:
            for problem in exc.problems:
                click.echo(f"Error: {problem}", err=True)
            sys.exit(EXIT_CONFIG)
        except NewsbotError as exc:
            click.echo(f"Error: {exc}", err=True)
            if exc.hint:
                click.echo(f"Hint: {exc.hint}", err=True)
            sys.exit(EXIT_CONFIG)

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
    """Only the CLI configures handlers. httpx logs URLs, and Bot API URLs hold the token."""
    from bot.logs import configure

    configure(level=level, fmt=fmt)
