"""The `newsbot` command line: the only place that prints to the user or exits.

Each command group lives in its own module and is registered below."""

from __future__ import annotations

from pathlib import Path

import click

from bot import __version__
from bot.cli.common import App
from bot.config.settings import Settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where sources.yaml, rules/ and deliveries.yaml live "
                   "(default: $NEWSBOT_CONFIG_DIR, else the current directory).")
@click.version_option(__version__, prog_name="newsbot")
@click.pass_context
def cli(ctx: click.Context, config_dir: Path | None) -> None:
    """News monitoring for migrants' and refugees' rights: feeds in, themed alerts out."""
    settings = Settings.load(config_dir)
    ctx.obj = App(config_dir=settings.config_dir, settings=settings)


def _register() -> None:
    from bot.cli import check, db, deliver, demo, digest, email, hits, poll, report, rules, run, search, sources  # noqa: F401  (each adds its commands)

    for module in (check, db, deliver, demo, digest, email, hits, poll, report, rules, run, search, sources):
        module.register(cli)


_register()


def main() -> None:
    cli(prog_name="newsbot")
