"""`newsbot demo`: the offline showcase (bot/runtime/demo.py) for someone with no token and no internet."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import click

from bot.cli.common import App, handle_errors, pass_app


@click.command()
@click.option("--email-preview", "email_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the weekly email preview (default: a file in the temp directory).")
@click.option("--keep", is_flag=True, help="Keep the throwaway database and demo config (prints where).")
@pass_app
@handle_errors
def demo(app: App, email_path: Path | None, keep: bool) -> None:
    """Offline showcase: serve sample feeds on loopback, poll once, print the digest, write the email."""
    from bot.runtime.demo import run_demo, shipped_rules_dir

    rules = shipped_rules_dir(app.config_dir)
    work = Path(tempfile.mkdtemp(prefix="newsbot-demo-"))
    email_path = email_path or Path(tempfile.gettempdir()) / "newsbot-demo-email.html"
    click.echo(f"Serving 5 sample feeds (invented items in 6 languages) on 127.0.0.1; rules from {rules}/",
               err=True)
    try:
        result = asyncio.run(run_demo(work, rules, email_path))
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    themes = ", ".join(f"{t} {n}" for t, n in sorted(result.hits_by_theme.items(), key=lambda kv: -kv[1]))
    click.echo(f"Polled {result.sources} sources: {result.items} new items, {result.hits} hits"
               + (f" ({themes})" if themes else "") + ".")
    if result.failures:
        click.echo(f"Failures: {result.failures}")
    click.echo("\nThe Telegram digest newsbot would send (shown as text; Telegram gets HTML):\n")
    click.echo(result.digest_text.rstrip() or "(no hits: the digest would be empty)")
    click.echo(f"\nWeekly email preview: {email_path} (plain text: {email_path.with_suffix('.txt')})")
    if keep:
        click.echo(f"Demo database and config kept in {work}")
    click.echo("\nWhere to go next:\n"
               "  1. edit sources.yaml (or `newsbot sources add URL`) and the themes in rules/\n"
               "  2. `newsbot check` validates them; `newsbot rules test \"some headline\"` tries a rule\n"
               "  3. set TELEGRAM_BOT_TOKEN (and SMTP_URL/EMAIL_FROM for email) in .env\n"
               "  4. `make run` starts the daemon")


def register(group: click.Group) -> None:
    group.add_command(demo)
