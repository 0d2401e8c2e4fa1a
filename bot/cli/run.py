"""`newsbot run`: start the daemon (bot/runtime/daemon.py) with logging configured for a terminal
or a log collector. Migrates the database at start; exits 2 on a configuration error or
when another daemon holds the database lock."""

from __future__ import annotations

import asyncio
import logging
import os
import sys

import click

from bot.cli.common import EXIT_CONFIG, App, handle_errors, pass_app, setup_logging


@click.command()
@click.option("--role", type=click.Choice(["all", "poller", "sender", "bot"]), default="all", show_default=True,
              help="What this process does (PostgreSQL: run any number of pollers and senders; one "
                   "process, the leader, runs the Telegram bot and the schedules). On SQLite, one process.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: one JSON object a line, for log collectors.")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
              default="INFO", show_default=True)
@pass_app
@handle_errors
def run(app: App, role: str, log_format: str, log_level: str) -> None:
    """Run the daemon: polling, alerts, digests, the weekly email, the Telegram bot.

    Reloads sources.yaml, rules/ and deliveries.yaml when they change (a broken edit is
    reported and the last good configuration keeps running). Stops cleanly on SIGTERM or
    SIGINT. Health and metrics on NEWSBOT_HTTP (default 127.0.0.1:8787; `off` disables).
    NEWSBOT_LEASE_TTL (seconds, default 300): how long a dead worker's sources and sends stay
    claimed before another process takes them over."""
    from bot.runtime.clock import Clock
    from bot.runtime.daemon import Daemon
    from bot.runtime.lock import LockHeld

    setup_logging(log_level.upper(), log_format)
    # Alembic's plugin set-up chatter is noise; its "Running upgrade" lines stay.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    try:
        clock = Clock.from_env(os.environ)
    except ValueError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    if not app.settings.telegram_token:
        click.echo("Notice: TELEGRAM_BOT_TOKEN is not set: alerts and digests are printed to the console.",
                   err=True)
    daemon = Daemon(app.settings, clock=clock, role=role, lease_ttl=app.settings.lease_ttl)
    try:
        daemon.prepare()
    except LockHeld as exc:
        click.echo(f"Error: {exc}", err=True)
        click.echo(f"Hint: {exc.hint}", err=True)
        sys.exit(EXIT_CONFIG)
    sys.exit(asyncio.run(daemon.run()))


def register(group: click.Group) -> None:
    group.add_command(run)
