"""The `newsbot` command line: the only place that prints to the user or exits.

Each command group lives in its own module and is registered below."""

from __future__ import annotations

from pathlib import Path

import click

from bot import __version__
from bot.cli.common import App
from bot.config.settings import Settings


CONFIG_DIR_HELP = ("Where sources.yaml, rules/ and deliveries.yaml live "
                   "(default: $NEWSBOT_CONFIG_DIR, else the current directory).")


def _app(config_dir: Path | None) -> App:
    settings = Settings.load(config_dir)
    return App(config_dir=settings.config_dir, settings=settings)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config-dir", type=click.Path(file_okay=False, path_type=Path), default=None, help=CONFIG_DIR_HELP)
@click.version_option(__version__, prog_name="newsbot")
@click.pass_context
def cli(ctx: click.Context, config_dir: Path | None) -> None:
    """News monitoring for migrants' and refugees' rights: feeds in, themed alerts out."""
    ctx.obj = _app(config_dir)


def _config_dir_here(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    """`newsbot check --config-dir D` as well as `newsbot --config-dir D check`: the group has
    already built the App from its own option (run first), so a command's own replaces it."""
    if value is not None:
        ctx.obj = _app(value)


def _accept_config_dir(command: click.Command) -> None:
    """Give every command and group its own --config-dir (SPEC: every command takes it):
    `newsbot sources --config-dir D list` as well as `newsbot sources list --config-dir D`."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _accept_config_dir(sub)
    command.params.append(click.Option(["--config-dir"], type=click.Path(file_okay=False, path_type=Path),
                                       default=None, expose_value=False, is_eager=True,
                                       callback=_config_dir_here, help=CONFIG_DIR_HELP))


def _register() -> None:
    from bot.cli import check, db, deliver, demo, digest, email, explain, hits, poll, report, rules, run, search, sources  # noqa: F401  (each adds its commands)

    for module in (check, db, deliver, demo, digest, email, explain, hits, poll, report, rules, run, search, sources):
        module.register(cli)
    for command in cli.commands.values():
        _accept_config_dir(command)


_register()


def main() -> None:
    cli(prog_name="newsbot")
