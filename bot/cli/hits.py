"""`newsbot hits [--since 7d] [--theme T] [--format table|json|csv]`: list stored hits, one
line per item, with its story's other sources. JSON fields are those SPEC.md lists."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import click

from bot.cli.common import App, echo_json, format_option, handle_errors, pass_app

if TYPE_CHECKING:
    from click.decorators import FC


def since_option(default: str) -> Callable[[FC], FC]:
    def convert(_ctx: click.Context, _param: click.Parameter, value: str) -> timedelta:
        from bot.config.durations import parse_duration

        try:
            return parse_duration(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    return click.option("--since", default=default, show_default=True, callback=convert,
                        help="How far back, e.g. 12h, 7d, 2w.")


def check_theme(app: App, theme: str | None) -> None:
    """A --theme that is neither in rules/ nor among the stored hits is a typo: say so rather
    than answer "nothing found"."""
    if theme is None:
        return
    import difflib

    from bot.config.layout import theme_slugs
    from bot.storage import repo

    known = theme_slugs(app.config_dir)
    if theme in known:
        return
    with app.engine.connect() as conn:
        known |= repo.hit_themes(conn)
    if theme not in known:
        close = difflib.get_close_matches(theme, sorted(known), n=1)
        raise click.BadParameter(f"unknown theme {theme!r}" + (f" (did you mean {close[0]!r}?)" if close else ""),
                                 param_hint="--theme")


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def register(group: click.Group) -> None:
    @group.command("hits")
    @since_option("7d")
    @click.option("--theme", default=None, help="Only hits of this theme (slug).")
    @format_option("table", "json", "csv", default="table")
    @pass_app
    @handle_errors
    def hits_cmd(app: App, since: timedelta, theme: str | None, fmt: str) -> None:
        """List stored hits: one line per item, newest first."""
        from bot.insight.hitlist import FIELDS, list_item_hits

        check_theme(app, theme)
        now = datetime.now(timezone.utc)
        with app.engine.connect() as conn:
            records = list_item_hits(conn, now - since, theme)
        out: list[dict[str, Any]] = [{k: (_iso(r[k]) if k in ("published", "first_seen") else r[k]) for k in FIELDS}
               for r in records]
        if fmt == "json":
            echo_json(out)
        elif fmt == "csv":
            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\n")
            writer.writerow(FIELDS)
            for r in out:
                writer.writerow([";".join(map(str, r[k])) if isinstance(r[k], list)
                                 else ("" if r[k] is None else r[k]) for k in FIELDS])
            click.echo(buf.getvalue(), nl=False)
        else:
            if not out:
                click.echo(f"No hits in the last {_span(since)}.")
                return
            for r in out:
                also = f" (+{len(r['also_reported_by'])}: {', '.join(r['also_reported_by'])})" \
                    if r["also_reported_by"] else ""
                click.echo(f"{(r['first_seen'] or '')[:16].replace('T', ' ')}  {r['source']:<18} "
                           f"{','.join(r['themes']):<22} {r['title'][:90]}{also}")
                if r["url"]:
                    click.echo(f"{'':18}{r['url']}")


def _span(td: timedelta) -> str:
    from bot.config.durations import format_duration

    return format_duration(td)
