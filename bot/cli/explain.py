"""`newsbot explain URL|TEXT [--theme T] [--format text|json]`: why an article matches the
theme rules, or which rules nearly matched and what they lacked.

A URL is fetched like a source (bot.ingest.page: the guarded fetcher under sources.yaml's
`defaults:` and NEWSBOT_ALLOW_PRIVATE_NETWORKS), its title and lead read, its language
detected; any other argument is the text itself. Composes bot.match.why. Prints; never writes
to the database. A URL that cannot be fetched is one `Error:` line and exit 3 (as a failed
source in `poll`).
"""

from __future__ import annotations

import asyncio
import sys

import click

from bot.cli.common import EXIT_PARTIAL, App, echo_json, format_option, handle_errors, pass_app
from bot.cli.rules import _check_lang, _detect, check_theme_options
from bot.model import Item


def _is_url(arg: str) -> bool:
    return arg.strip().lower().startswith(("http://", "https://")) and " " not in arg.strip()


def register(group: click.Group) -> None:
    @group.command("explain")
    @click.argument("target")
    @click.option("--theme", default=None, help="Explain this theme only: its near misses when it did not match.")
    @click.option("--title", default="", help="Title of the TEXT (not with a URL).")
    @click.option("--lang", default=None, callback=_check_lang, help="Language of the TEXT (detected when left out).")
    @format_option("text", "json")
    @pass_app
    @handle_errors
    def explain_cmd(app: App, target: str, theme: str | None, title: str, lang: str | None, fmt: str) -> None:
        """Why URL (an article, fetched) or TEXT matches the rules, or which rules nearly matched."""
        from bot.config.themes import load_themes
        from bot.errors import SourceFailure
        from bot.match.why import render_text, verdict

        themes = load_themes(app.config_dir)
        if theme is not None:
            theme = check_theme_options([theme], themes.slugs)[0]  # type: ignore[index]
        if _is_url(target):
            if title or lang:
                raise click.UsageError("--title and --lang are for a TEXT; a page has its own")
            from bot.ingest.page import fetch_page
            from bot.runtime import wiring

            # sources.yaml `defaults:` when there is a valid file, else the default policy
            policy = wiring.fetch_policy(app.settings, app.sources_or_none())
            try:
                item = asyncio.run(fetch_page(target.strip(), policy))
            except SourceFailure as exc:
                click.echo(f"Error: {target.strip()[:300]} could not be read ({exc.kind}): {exc}", err=True)
                sys.exit(EXIT_PARTIAL)
        else:
            item = Item(source_id="explain", guid="explain", url=None, title=title, text=target,
                        language=lang or _detect(f"{title}\n{target}"))
        result = verdict(themes.matcher(), item, theme)
        if fmt == "json":
            echo_json({"url": item.url, "title": item.title, "text": item.summary or item.text, **result.to_dict()})
        else:
            if item.url:
                click.echo(f"url: {item.url}")
            click.echo(render_text(result, item.title), nl=False)
