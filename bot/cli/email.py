"""`newsbot email`: write the weekly digest to files (--preview) or send it now (--send-now).

Composition only: loads config, builds `bot.delivery.email.weekly.WeeklyEmail` through
bot.runtime.wiring (as the daemon does), prints the outcome.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli.common import EXIT_CONFIG, EXIT_OK, EXIT_PARTIAL, App, handle_errors, pass_app

if TYPE_CHECKING:
    from bot.delivery.email.weekly import WeeklyEmail


def _weekly(app: App) -> WeeklyEmail:
    from bot.runtime import wiring

    engine = app.engine
    return wiring.weekly_email(engine, app.settings, app.delivery_config())


def preview_paths(preview: Path) -> tuple[Path, Path]:
    """FILE.html and FILE.txt from the stem of what was given, whatever its suffix (`d.txt`,
    `d.html`, `d`), so the text version never overwrites the HTML one."""
    return preview.with_suffix(".html"), preview.with_suffix(".txt")


@click.command("email")
@click.option("--preview", "preview", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE.html", help="Write the digest as HTML to FILE.html and as text to FILE.txt (whatever suffix "
              "FILE has); send nothing.")
@click.option("--send-now", is_flag=True, help="Send the last complete week's digest now to whoever has not had it.")
@click.option("--list", "list_name", default=None, metavar="NAME", help="One list of deliveries.yaml (default: "
              "the first for --preview, every list for --send-now).")
@click.option("--week", default=None, metavar="YYYY-Www", help="ISO week, e.g. 2026-W47 (default: --preview "
              "shows the current week so far, --send-now the last complete week).")
@pass_app
@handle_errors
def email(app: App, preview: Path | None, send_now: bool, list_name: str | None, week: str | None) -> None:
    """Preview or send the weekly digest email."""
    from bot.delivery.email.weekly import parse_week

    if bool(preview) == send_now:
        raise click.UsageError("give exactly one of --preview FILE.html or --send-now")
    if week is not None:
        try:
            parse_week(week)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--week") from None
    if send_now:
        s = app.settings
        if not (s.smtp_url and s.email_from):
            missing = " and ".join(n for n, v in (("SMTP_URL", s.smtp_url), ("EMAIL_FROM", s.email_from)) if not v)
            click.echo(f"Error: email is off: {missing} not set; nothing sent", err=True)
            sys.exit(EXIT_CONFIG)
        weekly = _weekly(app)
        report = asyncio.run(weekly.send_now(list_name, week))
        for lr in report.lists:
            click.echo(f"{lr.list_name} {lr.week}: sent {len(lr.sent)}, already sent {len(lr.already_sent)}, "
                       f"failed {len(lr.failed)}, retry later {len(lr.deferred)} ({lr.stories} stories)")
            for rcpt, error in {**lr.failed, **lr.deferred}.items():
                click.echo(f"  {rcpt}: {error}", err=True)
        sys.exit(EXIT_OK if report.ok else EXIT_PARTIAL)
    weekly = _weekly(app)
    if not weekly.enabled:
        click.echo("Notice: email is off (SMTP_URL/EMAIL_FROM not set); writing the preview only", err=True)
    lst = weekly.list_named(list_name)
    digest, html, text = weekly.render(lst, week or weekly.current_week())
    assert preview is not None  # exactly one of --preview and --send-now, checked above
    html_path, text_path = preview_paths(preview)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(html, encoding="utf-8")
    text_path.write_text(text, encoding="utf-8")
    click.echo(f"{lst.name} {digest.week}: {digest.stories} stories in {len(digest.sections)} themes; "
               f"wrote {html_path} and {text_path}")
    sys.exit(EXIT_OK)


def register(group: click.Group) -> None:
    group.add_command(email)
