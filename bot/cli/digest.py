"""`newsbot digest --preview [--chat ID] [--since 1d]`: print the Telegram digest that would
be sent, as plain text. Reads only; sends and marks nothing."""

from __future__ import annotations

from datetime import datetime, timezone

import click

from bot.cli.common import App, echo_json, format_option, handle_errors, pass_app


@click.command()
@click.option("--preview", is_flag=True, help="Print the digest (the only mode; sending is `deliver`).")
@click.option("--chat", "chat", default=None, metavar="ID",
              help="The digest of this chat (its queued hits). Default: every stored hit of the period.")
@click.option("--since", default="1d", show_default=True, help="Only hits of this period, e.g. 12h, 1d, 7d.")
@click.option("--per-theme", default=8, show_default=True, help="Lines per theme before '+K more'.")
@format_option("text", "html", "json")
@pass_app
@handle_errors
def digest(app: App, preview: bool, chat: str | None, since: str, per_theme: int, fmt: str) -> None:
    """Print the Telegram digest that would be sent."""
    from bot.config.durations import parse_duration
    from bot.config.themes import load_themes
    from bot.delivery.console import to_plain
    from bot.delivery.telegram.digest import preview_messages, theme_titles
    from bot.delivery.destinations import find_destination

    if not preview:
        raise click.UsageError("use `newsbot digest --preview` (digests are sent by `deliver`/`run`)")
    try:
        period = parse_duration(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    now = datetime.now(timezone.utc)
    themes = load_themes(app.config_dir)
    names = app.source_names()
    tz = app.schedule_tz()
    with app.engine.connect() as conn:
        dest = None
        if chat is not None:
            dest = find_destination(conn, chat, None)
            if dest is None:
                raise click.BadParameter(f"no destination with chat id {chat}", param_hint="--chat")
        parts = preview_messages(conn, dest=dest, since=now - period, titles=theme_titles(themes),
                                 source_names=names, per_theme=per_theme, default_tz=tz, now=now,
                                 weights=app.source_weights())
    if fmt == "json":
        echo_json([{"html": p.html, "text": to_plain(p.html), "length": p.length} for p in parts])
        return
    if not parts:
        click.echo("Nothing for the digest in this period.", err=True)
        return
    for i, part in enumerate(parts, 1):
        if len(parts) > 1:
            click.echo(f"── part {i}/{len(parts)} ({part.length} characters) ──")
        click.echo(part.html if fmt == "html" else to_plain(part.html))
        click.echo()


def register(group: click.Group) -> None:
    group.add_command(digest)
