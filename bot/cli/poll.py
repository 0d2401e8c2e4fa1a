"""`newsbot poll --once [--source ID]...`: one poll cycle now, and a summary.

Composes the Fetcher, the Poller, the themes and the outbox's destinations; prints the
summary (text or JSON) and exits 3 when some sources failed."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timezone

import click

from bot.cli.common import EXIT_CONFIG, EXIT_OK, EXIT_PARTIAL, App, echo_json, format_option, handle_errors, pass_app, setup_logging


async def run_poll(app: App, source_ids: tuple[str, ...], due_only: bool, show_progress: bool):  # noqa: ANN201
    from bot.config.themes import load_themes
    from bot.ingest.fetch import Fetcher, FetchPolicy
    from bot.ingest.pipeline import Poller

    sources_cfg = app.sources()
    themes = load_themes(app.config_dir)
    engine = app.engine
    now = datetime.now(timezone.utc)
    _sync_destinations(app, engine, now)
    policy = FetchPolicy.from_config(sources_cfg.defaults, allow_private=app.settings.allow_private_networks)

    def progress(result, done: int, total: int) -> None:  # noqa: ANN001
        click.echo(f"\r{done}/{total} sources polled", nl=False, err=True)
        if done == total:
            click.echo("", err=True)

    async with Fetcher(policy) as fetcher:
        poller = Poller(engine, sources_cfg, themes, fetcher)
        return await poller.poll(source_ids or None, due_only=due_only,
                                 progress=progress if show_progress else None)


def _sync_destinations(app: App, engine, now: datetime) -> None:  # noqa: ANN001
    """Queue deliveries for the chats in deliveries.yaml too, not only for self-subscribed ones."""
    from bot.delivery.destinations import sync_config_destinations

    deliveries_cfg = app.deliveries()
    with engine.begin() as conn:
        sync_config_destinations(conn, deliveries_cfg, now)


@click.command()
@click.option("--once", is_flag=True, help="Poll once and exit (the daemon is `newsbot run`).")
@click.option("--source", "source_ids", multiple=True, metavar="ID",
              help="Poll this source now, due or not (repeatable). Default: every due source.")
@click.option("--all", "poll_all", is_flag=True, help="Poll every enabled source, due or not.")
@click.option("-v", "--verbose", is_flag=True, help="Log each cycle (and more) on stderr.")
@format_option("text", "json")
@pass_app
@handle_errors
def poll(app: App, once: bool, source_ids: tuple[str, ...], poll_all: bool, verbose: bool, fmt: str) -> None:
    """Fetch the due (or named) sources now, store new items, match, queue deliveries."""
    if not once:
        click.echo("Error: use `newsbot poll --once`; continuous polling is `newsbot run`", err=True)
        sys.exit(EXIT_CONFIG)
    setup_logging("INFO" if verbose else "WARNING")
    show_progress = fmt == "text" and sys.stderr.isatty()
    summary = asyncio.run(run_poll(app, source_ids, not poll_all, show_progress))
    if fmt == "json":
        echo_json(summary.to_dict())
    else:
        _print_text(summary)
        if summary.polled == 0 and not poll_all and not source_ids:
            click.echo("no source is due now (each waits for its next poll, failing ones back off); "
                       "`newsbot sources health` shows when, `newsbot poll --once --all` polls them all now",
                       err=True)
    sys.exit(EXIT_PARTIAL if summary.failed else EXIT_OK)


def _print_text(summary) -> None:  # noqa: ANN001
    click.echo(f"polled {summary.polled} sources: {summary.changed} changed, {summary.unchanged} unchanged, "
               f"{summary.failed} failed; {summary.new_items} new items, {summary.hits} hits, "
               f"{summary.queued} deliveries queued ({summary.elapsed:.1f} s)")
    backlog = [r for r in summary.results if r.backlog and r.new_items]
    if backlog:
        click.echo(f"first poll of {len(backlog)} source(s): their {sum(r.new_items for r in backlog)} items "
                   "are stored as backlog, not sent")
    if summary.failures:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(summary.failures.items(), key=lambda kv: -kv[1]))
        click.echo(f"failures by kind: {kinds}")
        for r in sorted((r for r in summary.results if r.outcome == "failed"), key=lambda r: (r.error_kind or "", r.source_id)):
            click.echo(f"  {r.source_id}: {r.error_kind}: {r.error}")


def register(group: click.Group) -> None:
    group.add_command(poll)
