"""`newsbot report [--format text|json]`: the coordinator report now (failing and silent
sources, sources without hits, busiest and noisiest rules, hits per theme by week)."""

from __future__ import annotations

from datetime import datetime, timezone

import click

from bot.cli.common import App, echo_json, format_option, handle_errors, pass_app


def register(group: click.Group) -> None:
    @group.command("report")
    @format_option("text", "json", default="text")
    @pass_app
    @handle_errors
    def report_cmd(app: App, fmt: str) -> None:
        """Print the coordinator report: what to fix in sources and tune in rules."""
        from bot.insight.report import build_report, render_text

        enabled = [s.id for s in app.sources().enabled]
        with app.engine.connect() as conn:
            report = build_report(conn, datetime.now(timezone.utc), source_ids=enabled)
        if fmt == "json":
            echo_json(report)
        else:
            click.echo(render_text(report), nl=False)
