"""`newsbot sources list|health|add|remove|enable|disable|import|export`: the source list and its health.

Reads sources.yaml and the per-source state in the database; edits go through
bot.config.sources_edit (round-trip, validated before writing)."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from bot.cli.common import EXIT_PROBLEMS, App, echo_json, format_option, handle_errors, pass_app
from bot.errors import FAILURE_KINDS

_STATUS_ORDER = {"failing": 0, "new": 1, "paused": 2, "disabled": 3, "ok": 4}


def source_rows(app: App) -> list[dict[str, Any]]:
    """Every configured source with its state: what list, health and /health show."""
    from bot.storage import repo

    config = app.sources()
    with app.engine.connect() as conn:
        states = repo.source_states(conn)
    rows = []
    for s in config.sources:
        st = states.get(s.id)
        status = (st.status if st else "new") if s.enabled else "disabled"
        interval = config.interval(s)
        rows.append({
            "id": s.id, "name": s.display_name, "url": s.url, "type": s.type, "tags": list(s.tags),
            "enabled": s.enabled, "status": status,
            "last_success": st.last_success_at if st else None,
            "last_poll": st.last_poll_at if st else None,
            "last_error_kind": st.last_error_kind if st else None,
            "last_error": st.last_error if st else None,
            "error_count": st.error_count if st else 0,
            "failing_since": st.failing_since if st else None,
            "items": st.items_seen if st else 0,
            "interval": int(interval.total_seconds()),
            "current_interval": (st.interval_seconds if st and st.interval_seconds else int(interval.total_seconds())),
            "next_poll": st.next_poll_at if st else None,
            "feed_url": st.feed_url if st else None,
        })
    return rows


def _when(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "-"
    delta = (value - now).total_seconds()
    span = abs(delta)
    if span < 60:
        text = f"{int(span)}s"
    elif span < 3600:
        text = f"{int(span // 60)}m"
    elif span < 172800:
        text = f"{int(span // 3600)}h"
    else:
        text = f"{int(span // 86400)}d"
    return f"in {text}" if delta > 0 else f"{text} ago"


def _table(rows: list[dict[str, Any]], columns: list[tuple[str, str]], now: datetime) -> None:
    cells = [[_cell(r[key], now) for key, _ in columns] for r in rows]
    widths = [max([len(title)] + [len(c[i]) for c in cells]) for i, (_, title) in enumerate(columns)]
    click.echo("  ".join(t.ljust(w) for (_, t), w in zip(columns, widths)).rstrip())
    for c in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(c, widths)).rstrip())


def _cell(value: Any, now: datetime) -> str:
    if isinstance(value, datetime):
        return _when(value, now)
    if value is None:
        return "-"
    if isinstance(value, (list, tuple)):
        return ",".join(value) or "-"
    text = str(value).replace("\n", " ")
    return text if len(text) <= 60 else text[:59] + "…"


@click.group()
def sources() -> None:
    """List, check and edit the sources newsbot polls."""


@sources.command("list")
@format_option("table", "json", default="table")
@pass_app
@handle_errors
def list_cmd(app: App, fmt: str) -> None:
    """Sources with their status, last success, last error, items and next poll."""
    rows = source_rows(app)
    if fmt == "json":
        echo_json(rows)
        return
    now = datetime.now(timezone.utc)
    # the error's kind only: `sources health` has room for its message
    _table(rows, [("id", "ID"), ("status", "STATUS"), ("tags", "TAGS"), ("items", "ITEMS"),
                  ("last_success", "LAST SUCCESS"), ("last_error_kind", "LAST ERROR"), ("next_poll", "NEXT POLL"),
                  ("url", "URL")], now)


@sources.command("health")
@format_option("table", "json", default="table")
@pass_app
@handle_errors
def health_cmd(app: App, fmt: str) -> None:
    """Broken sources first: error kind, message, how many failures in a row, next retry."""
    rows = source_rows(app)
    far = datetime.max.replace(tzinfo=timezone.utc)
    rows.sort(key=lambda r: (_STATUS_ORDER.get(r["status"], 9), r["failing_since"] or far, r["id"]))
    if fmt == "json":
        echo_json(rows)
        return
    now = datetime.now(timezone.utc)
    _table(rows, [("id", "ID"), ("status", "STATUS"), ("error_count", "ERRORS"), ("last_error_kind", "KIND"),
                  ("last_success", "LAST SUCCESS"), ("next_poll", "NEXT POLL"), ("items", "ITEMS"),
                  ("last_error", "LAST ERROR")], now)
    by_status: dict[str, int] = {}
    kinds: dict[str, int] = {}
    for r in rows:
        by_status[r["status"]] = by_status.get(r["status"], 0) + 1
        if r["status"] == "failing" and r["last_error_kind"]:
            kinds[r["last_error_kind"]] = kinds.get(r["last_error_kind"], 0) + 1
    order: dict[str, int] = {k: i for i, k in enumerate(FAILURE_KINDS)}
    summary = ", ".join(f"{n} {s}" for s, n in sorted(by_status.items(), key=lambda kv: _STATUS_ORDER.get(kv[0], 9)))
    if kinds:
        summary += " (" + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items(), key=lambda kv: order.get(kv[0], 99))) + ")"
    click.echo(f"{len(rows)} sources: {summary}", err=True)


def _edit(fn, *args: Any, **kwargs: Any) -> Any:
    """Run an edit; a refused edit is exit 1 (the file is unchanged), a broken file exit 2."""
    from bot.config.sources_edit import SourceEditError

    try:
        return fn(*args, **kwargs)
    except SourceEditError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_PROBLEMS)


@sources.command("add")
@click.argument("url")
@click.option("--id", "source_id", help="Slug of a-z, 0-9 and '-' (default: from --name or the host).")
@click.option("--tags", default="", help="Comma-separated labels, e.g. ngo,europe.")
@click.option("--name", help="Display name.")
@click.option("--type", "type_", type=click.Choice(["auto", "feed", "html"]), default=None,
              help="auto (default) finds the feed of a page; html scrapes a page with the selectors below.")
@click.option("--language", help="Two-letter code of the items' language (default: detected).")
@click.option("--item", "sel_item", metavar="CSS", help="--type html: the selector of one item on the page.")
@click.option("--title", "sel_title", metavar="CSS", help="--type html: the title, within an item.")
@click.option("--link", "sel_link", metavar="CSS", help="--type html: the link (an <a>, or CSS@attr), within an item.")
@click.option("--date", "sel_date", metavar="CSS", help="--type html: the date, within an item (optional).")
@click.option("--summary", "sel_summary", metavar="CSS", help="--type html: the summary, within an item (optional).")
@click.option("--no-check", is_flag=True, help="Add without fetching the URL first.")
@pass_app
@handle_errors
def add_cmd(app: App, url: str, source_id: str | None, tags: str, name: str | None,
            type_: str | None, language: str | None, sel_item: str | None, sel_title: str | None,
            sel_link: str | None, sel_date: str | None, sel_summary: str | None, no_check: bool) -> None:
    """Add a source to sources.yaml, keeping its comments and order. The URL is fetched first
    and must give items (a page is followed to its feed), as /addsource does."""
    from bot.config.sources_edit import add_source

    html = _selectors(type_, sel_item, sel_title, sel_link, sel_date, sel_summary)
    target, page = url, None
    if not no_check:
        found = _probe(app, url, html)
        if found.discovered and type_ in (None, "auto"):
            target, page = found.feed_url, url
        click.echo(f"{found.feed_url}: {found.items} items" +
                   (f" (the feed of {url})" if found.discovered else "") +
                   "".join(f"\n  - {t}" for t in found.titles), err=True)
    sid = _edit(add_source, app.config_dir, target, source_id=source_id, name=name, tags=tags,
                type_=type_, language=language, html=html, page_url=page,
                known_feeds=_discovered_feeds(app, app.sources(), quiet=True))
    click.echo(f"added {sid}: {target}")


def _selectors(type_: str | None, *values: str | None) -> dict[str, str] | None:
    names = ("item", "title", "link", "date", "summary")
    given = {k: v for k, v in zip(names, values) if v}
    if type_ != "html":
        if given:
            raise click.UsageError(f"--{next(iter(given))} is for --type html")
        return None
    missing = [f"--{k}" for k in ("item", "title", "link") if k not in given]
    if missing:
        raise click.UsageError(f"--type html needs {', '.join(missing)} (CSS selectors)")
    return given


def _probe(app: App, url: str, html: dict[str, str] | None):  # noqa: ANN202
    """Fetch the URL once (bot.ingest.probe); a URL that gives no item is exit 1."""
    import asyncio

    from bot.config.sources import HtmlSelectors
    from bot.ingest.probe import ProbeError, probe
    from bot.runtime import wiring

    policy = wiring.fetch_policy(app.settings, app.sources())
    try:
        return asyncio.run(probe(url, policy, selectors=HtmlSelectors(**html) if html else None))
    except ProbeError as exc:
        click.echo(f"Error: not added: {exc} (--no-check adds it anyway)", err=True)
        sys.exit(EXIT_PROBLEMS)


def _each(app: App, ids: tuple[str, ...], fn, done: str, *extra: Any) -> None:  # noqa: ANN001
    """Apply an edit to several ids: every known id is done, unknown ones are reported (exit 1)."""
    from bot.config.sources_edit import SourceEditError

    failed = False
    for sid in ids:
        try:
            fn(app.config_dir, sid, *extra)
        except SourceEditError as exc:
            click.echo(f"Error: {exc}", err=True)
            failed = True
            continue
        click.echo(f"{done} {sid}")
    if failed:
        sys.exit(EXIT_PROBLEMS)


@sources.command("remove")
@click.argument("source_ids", metavar="ID...", nargs=-1, required=True)
@pass_app
@handle_errors
def remove_cmd(app: App, source_ids: tuple[str, ...]) -> None:
    """Remove sources from sources.yaml (their stored items stay)."""
    from bot.config.sources_edit import remove_source

    _each(app, source_ids, remove_source, "removed")


@sources.command("enable")
@click.argument("source_ids", metavar="ID...", nargs=-1, required=True)
@pass_app
@handle_errors
def enable_cmd(app: App, source_ids: tuple[str, ...]) -> None:
    """Poll these sources again (removes `enabled: false`)."""
    from bot.config.sources_edit import set_enabled

    _each(app, source_ids, set_enabled, "enabled", True)


@sources.command("disable")
@click.argument("source_ids", metavar="ID...", nargs=-1, required=True)
@pass_app
@handle_errors
def disable_cmd(app: App, source_ids: tuple[str, ...]) -> None:
    """Stop polling these sources (`enabled: false`; they stay in the file)."""
    from bot.config.sources_edit import set_enabled

    _each(app, source_ids, set_enabled, "disabled", False)


@sources.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tags", default="", help="Comma-separated labels added to every imported source.")
@pass_app
@handle_errors
def import_cmd(app: App, file: Path, tags: str) -> None:
    """Add the feeds of an OPML file; URLs already present are skipped."""
    from bot.config.opml import import_opml

    result = _edit(import_opml, app.config_dir, file.read_bytes(), extra_tags=tags.split(","))
    for note in result.repaired:
        click.echo(f"repaired: {note}", err=True)
    for sid, url in result.added:
        click.echo(f"added {sid}: {url}")
    for url, why in result.skipped:
        click.echo(f"skipped {url}: {why}", err=True)
    click.echo(f"{len(result.added)} added, {len(result.skipped)} skipped", err=True)


@sources.command("export")
@pass_app
@handle_errors
def export_cmd(app: App) -> None:
    """Print the sources as OPML 2.0 on stdout (a page's discovered feed as its xmlUrl)."""
    from bot.config.opml import export_opml

    config = app.sources()
    click.echo(export_opml(config, feed_urls=_discovered_feeds(app, config)), nl=False)


def _discovered_feeds(app: App, config: Any, quiet: bool = False) -> dict[str, str]:
    """Feed URL found by `type: auto` per source id, from the database; only for a state row
    of the source's current URL. Without a readable database the configured URLs are exported."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.errors import NewsbotError
    from bot.storage import repo

    try:
        with app.engine.connect() as conn:
            states = repo.source_states(conn, [s.id for s in config.sources])
    except (NewsbotError, SQLAlchemyError, OSError) as exc:
        if not quiet:
            click.echo(f"Notice: database not read ({exc}); exporting the configured URLs", err=True)
        return {}
    return {s.id: st.feed_url for s in config.sources
            if (st := states.get(s.id)) is not None and st.feed_url and st.url == s.url}


def register(group: click.Group) -> None:
    group.add_command(sources)
