"""`newsbot check`: validate sources.yaml, rules/ and deliveries.yaml, print every problem."""

from __future__ import annotations

import sys

import click

from bot.cli.common import EXIT_OK, EXIT_PROBLEMS, App, pass_app
from bot.config.deliveries import DELIVERIES_FILE, DeliveriesFile
from bot.config.layout import RULES_DIR
from bot.config.sources import SOURCES_FILE
from bot.errors import ConfigError, Problem


def collect_problems(app: App) -> tuple[list[Problem], list[str]]:
    """Every problem of every config file, and notices (things off but not wrong)."""
    from bot.config.deliveries import load_deliveries
    from bot.config.sources import load_sources
    from bot.config.themes import load_themes

    problems: list[Problem] = []
    notices: list[str] = []
    for loader in (load_sources, load_themes):
        try:
            loader(app.config_dir)
        except ConfigError as exc:
            problems.extend(exc.problems)
    try:
        deliveries_cfg = load_deliveries(app.config_dir)
    except ConfigError as exc:
        problems.extend(exc.problems)
    else:
        notices.extend(migrated_chat_notices(app, deliveries_cfg))
    if not (app.config_dir / RULES_DIR).is_dir():
        notices.append(f"{RULES_DIR}/ is absent: no themes, so nothing matches")
    if not (app.config_dir / DELIVERIES_FILE).exists():
        notices.append(f"{DELIVERIES_FILE} is absent: defaults used (no chats, no email lists, UTC)")
    s = app.settings
    problems.extend(s.problems())
    if not s.telegram_token:
        notices.append("TELEGRAM_BOT_TOKEN is not set: alerts and digests go to the console")
    if not s.smtp_url:
        notices.append("SMTP_URL is not set: the weekly email is off")
    return problems, notices


def migrated_chat_notices(app: App, deliveries_cfg: DeliveriesFile | None) -> list[str]:
    """deliveries.yaml entries naming a group Telegram has since upgraded (read from the
    database, when there is one: `check` never creates it)."""
    from pathlib import Path

    url = app.settings.database_url
    if deliveries_cfg is None or not deliveries_cfg.telegram.chats:
        return []
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if not path or path == ":memory:" or not Path(path).exists():
            return []
    try:
        from bot.delivery.destinations import migrated_config_chats, migration_advice

        with app.engine.connect() as conn:
            return [migration_advice(chat, new) for chat, new in migrated_config_chats(conn, deliveries_cfg)]
    except Exception:  # noqa: BLE001 - an unreachable database is for `newsbot db` to report
        return []


@click.command()
@pass_app
def check(app: App) -> None:
    """Validate sources.yaml, rules/ and deliveries.yaml; print every problem."""
    problems, notices = collect_problems(app)
    for notice in notices:
        click.echo(f"Notice: {notice}", err=True)
    for problem in problems:
        click.echo(str(problem))
    if problems:
        click.echo(f"{len(problems)} problem(s) found", err=True)
        sys.exit(EXIT_PROBLEMS)
    click.echo(ok_message(app))
    sys.exit(EXIT_OK)


def ok_message(app: App) -> str:
    """What was validated: only the files that are there (rules/ and deliveries.yaml may be
    absent, which is legal; the notices say what that means)."""
    checked = [SOURCES_FILE]
    absent = []
    if (app.config_dir / RULES_DIR).is_dir():
        checked.append(f"{RULES_DIR}/")
    else:
        absent.append(f"{RULES_DIR}/ absent: no themes")
    if (app.config_dir / DELIVERIES_FILE).exists():
        checked.append(DELIVERIES_FILE)
    else:
        absent.append(f"{DELIVERIES_FILE} absent: defaults used")
    if len(checked) == 1:
        message = f"ok: {checked[0]} is valid"
    else:
        message = f"ok: {', '.join(checked[:-1])} and {checked[-1]} are valid"
    return message + (f" ({'; '.join(absent)})" if absent else "")


def register(group: click.Group) -> None:
    group.add_command(check)
