"""`newsbot deliver --once [--dry-run]`: send the queued alerts and due digests now, exit.

Builds the Sender (Telegram with a token, else the console) through bot.runtime.wiring;
prints a summary and exits 3 when some sends failed."""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable

import click

from bot.cli.common import EXIT_OK, EXIT_PARTIAL, App, echo_json, format_option, handle_errors, pass_app, setup_logging

if TYPE_CHECKING:
    from bot.config.snapshot import ConfigSnapshot
    from bot.delivery.telegram.sender import SendReport


def _dry_run(app: App, config: ConfigSnapshot, show: Callable[[str], None]) -> dict[str, int]:
    """What a run would send now, printed as plain text; the outbox is not touched."""
    from bot.delivery import outbox
    from bot.delivery.console import to_plain
    from bot.delivery.destinations import active_destinations
    from bot.delivery.telegram.digest import is_due, load_entries, preview_messages, resolve_tz, theme_titles
    from bot.delivery.telegram.format import render_alert

    now = datetime.now(timezone.utc)
    tz = app.settings.schedule_tz(config.deliveries)
    names, weights = config.sources.display_names(), config.sources.weights()
    titles = theme_titles(config.themes)
    counts = {"alerts": 0, "digests": 0}
    with app.engine.connect() as conn:
        dests = {d.id: d for d in active_destinations(conn)}
        for row in outbox.due_alerts(conn, now):
            dest = dests[row.destination_id]
            for entry in load_entries(conn, [(row.id, row.hit_id)], names):
                msg = render_alert(entry, titles.get(entry.theme, entry.theme), resolve_tz(dest.timezone, tz))
                show(f"── would send to {dest.name or dest.chat_id} (chat {dest.chat_id}) ──\n{to_plain(msg.html)}\n")
                counts["alerts"] += 1
        for dest in dests.values():
            if is_due(dest, now, tz):
                for part in preview_messages(conn, dest=dest, titles=titles, source_names=names, default_tz=tz, now=now,
                                             weights=weights):
                    show(f"── would send digest to {dest.name or dest.chat_id} (chat {dest.chat_id}) ──\n{to_plain(part.html)}\n")
                    counts["digests"] += 1
    return counts


def _stop(sig: int, task: "asyncio.Task | None", stopped: list[str]) -> None:
    import logging

    stopped.append(signal.Signals(sig).name)
    logging.getLogger(__name__).warning("%s: finishing the sends in flight, then stopping", stopped[-1])
    if task is not None:
        task.cancel()


@click.command()
@click.option("--once", is_flag=True, help="Send what is due now and exit (the daemon is `newsbot run`).")
@click.option("--dry-run", is_flag=True, help="Print what would be sent; send and mark nothing.")
@click.option("--wait-retries", default=120, show_default=True, metavar="SECONDS",
              help="How long to keep retrying flood waits and network errors before giving up for this run.")
@click.option("-v", "--verbose", is_flag=True, help="Log the delivery run on stderr.")
@format_option("text", "json")
@pass_app
@handle_errors
def deliver(app: App, once: bool, dry_run: bool, wait_retries: int, verbose: bool, fmt: str) -> None:
    """Send queued Telegram alerts and due digests now (console without a bot token)."""
    if not once:
        raise click.UsageError("use `newsbot deliver --once` (the daemon `newsbot run` delivers continuously)")
    setup_logging("INFO" if verbose else "WARNING")
    from bot.runtime import wiring

    config = app.delivery_config()
    wiring.sync_destinations(app.engine, config.deliveries, datetime.now(timezone.utc))
    if dry_run:
        # with --format json the messages go to stderr so stdout stays one JSON document
        counts = _dry_run(app, config, lambda text: click.echo(text, err=fmt == "json"))
        if fmt == "json":
            echo_json({"dry_run": True, **counts})
        else:
            click.echo(f"dry run: {counts['alerts']} alerts and {counts['digests']} digest messages would be sent", err=True)
        sys.exit(EXIT_OK)

    stopped: list[str] = []

    async def go() -> SendReport:
        # SIGTERM/SIGINT cancel the run: the sends in flight finish and are marked, the
        # rest is given back to the queue (Sender.__aexit__), then the command exits 3.
        loop, task = asyncio.get_running_loop(), asyncio.current_task()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, _stop, sig, task, stopped)
        sender = wiring.sender(app.engine, app.settings, config)
        try:
            async with sender:
                return await sender.run_once(wait_retries=wait_retries > 0, max_wait=float(wait_retries))
        except asyncio.CancelledError:
            if not stopped:
                raise
            return sender.report

    report = asyncio.run(go())
    if stopped:
        click.echo(f"stopped by {stopped[0]}: the sends in flight were recorded, the rest stays queued",
                   err=True)
    summary = {"messages": report.messages, "sent": report.sent, "failed": report.failed,
               "retrying": report.retrying, "flood_waits": report.flood_waits,
               "deactivated": report.deactivated, "digests": report.digests,
               "channel": "telegram" if app.settings.telegram_token else "console"}
    if fmt == "json":
        echo_json(summary)
    else:
        click.echo(" ".join(f"{k}={v}" for k, v in summary.items()), err=True)
    sys.exit(EXIT_PARTIAL if report.had_failures or stopped else EXIT_OK)


def register(group: click.Group) -> None:
    group.add_command(deliver)
