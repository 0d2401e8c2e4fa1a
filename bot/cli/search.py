"""`newsbot search QUERY [--since 30d] [--theme T] [--format text|json]`: stored items that
match a query in the rule language, best first, one per story."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import click

from bot.cli.common import EXIT_CONFIG, App, echo_json, format_option, handle_errors, pass_app
from bot.cli.hits import check_theme, since_option


def register(group: click.Group) -> None:
    @group.command("search")
    @click.argument("query")
    @since_option("30d")
    @click.option("--theme", default=None, help="Only items with a hit of this theme.")
    @click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500))
    @format_option("text", "json", default="text")
    @pass_app
    @handle_errors
    def search_cmd(app: App, query: str, since: timedelta, theme: str | None, limit: int,
                   fmt: str) -> None:
        """Search stored items with the rule query language (see `newsbot rules test`)."""
        from bot.errors import RuleSyntaxError
        from bot.insight.search import search

        check_theme(app, theme)
        now = datetime.now(timezone.utc)
        weights = app.source_weights()   # search works without a (valid) sources.yaml: weights 1
        try:
            with app.engine.connect() as conn:
                results = search(conn, query, now - since, theme, limit, now=now, weights=weights)
        except RuleSyntaxError as exc:
            click.echo(f"Error: query, column {exc.pos + 1}: {exc.in_columns()}", err=True)
            click.echo(f"  {query}\n  {' ' * exc.pos}^", err=True)
            raise SystemExit(EXIT_CONFIG) from None
        if fmt == "json":
            echo_json([r.to_dict() for r in results])
            return
        if not results:
            click.echo("No matching items.")
            return
        for i, r in enumerate(results, 1):
            when = (r.published or r.first_seen).strftime("%Y-%m-%d")
            also = f"  also: {', '.join(r.also_reported_by)}" if r.also_reported_by else ""
            themes = f"  [{', '.join(r.themes)}]" if r.themes else ""
            click.echo(f"{i:>2}. {when}  {r.source}: {r.title}{themes}{also}")
            if r.url:
                click.echo(f"    {r.url}")
