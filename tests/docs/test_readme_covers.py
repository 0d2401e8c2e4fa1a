"""The README documents every command with its options, every environment variable and every
config key (the way Datasette tests its settings against its docs): a new option, variable or
key without a line in the README fails here."""

from __future__ import annotations

import re

import click
import pytest
from pydantic import BaseModel

from bot.chat.replies import ADMIN as ADMIN_COMMANDS
from bot.chat.replies import COMMANDS as MEMBER_COMMANDS
from bot.cli import cli
from bot.config.deliveries import DeliveriesFile
from bot.config.sources import SourcesFile
from bot.config.themes import ThemeFile
from support.paths import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
BOT = REPO / "bot"
ENV_READ = re.compile(r"""(?:environ|env|getenv)(?:\.get)?\(\s*"([A-Z][A-Z0-9_]{3,})"|environ\["([A-Z][A-Z0-9_]{3,})"\]""")


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    out = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix}{name}"
        out.append((path, command))
        if isinstance(command, click.Group):
            out.extend(_commands(command, path + " "))
    return out


COMMANDS = _commands(cli)


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS])
def test_every_command_is_in_the_readme(path: str) -> None:
    assert re.search(rf"newsbot {re.escape(path)}\b", README), f"README never shows `newsbot {path}`"


@pytest.mark.parametrize("path,option", [
    (p, opt) for p, c in COMMANDS for param in c.params if isinstance(param, click.Option)
    for opt in param.opts if opt.startswith("--") and opt not in {"--help", "--version", "--config-dir", "--format"}
])
def test_every_option_is_in_the_readme(path: str, option: str) -> None:
    assert re.search(rf"{re.escape(option)}\b", README), f"README never mentions `{option}` of `newsbot {path}`"


def _variables() -> list[str]:
    found = set()
    for path in BOT.rglob("*.py"):
        found.update(a or b for a, b in ENV_READ.findall(path.read_text(encoding="utf-8")))
    return sorted(found)


def test_the_settings_are_found() -> None:
    assert {"DATABASE_URL", "TELEGRAM_BOT_TOKEN", "SMTP_URL"} <= set(_variables())


@pytest.mark.parametrize("name", _variables())
def test_every_environment_variable_is_in_the_readme(name: str) -> None:
    assert re.search(rf"[`$]{name}\b", README), f"README never documents the environment variable {name}"


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        out.append(prefix + key)
        for inner in _nested_models(field.annotation):
            out.extend(_keys(inner, f"{prefix}{key}."))
    return out


def _nested_models(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _nested_models(arg)]


@pytest.mark.parametrize("key", sorted({k for m in (SourcesFile, DeliveriesFile, ThemeFile) for k in _keys(m)}))
def test_every_config_key_is_in_the_readme(key: str) -> None:
    leaf = key.rsplit(".", 1)[-1]
    assert re.search(rf"`{re.escape(leaf)}[`:]|^\s*(?:- )?{re.escape(leaf)}:", README, re.M), (
        f"README never documents the config key {key} (as `{leaf}` or `{leaf}:` in an example)")


@pytest.mark.parametrize("command", [name for name, _ in MEMBER_COMMANDS + ADMIN_COMMANDS])
def test_every_telegram_command_is_in_the_readme(command: str) -> None:
    assert re.search(rf"/{re.escape(command)}\b", README), f"README never mentions the Telegram command /{command}"
