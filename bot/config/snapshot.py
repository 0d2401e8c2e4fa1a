"""The validated configuration: sources.yaml, rules/ and deliveries.yaml loaded together.

Owns `ConfigSnapshot` (the three files validated as one, rules compiled) and which files make
it up (`watched_files`, `content_digest`). Must not: watch for changes (bot.runtime.reload
does) or apply a snapshot (the daemon does).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, TypeVar

from bot.config.deliveries import DELIVERIES_FILE, DeliveriesFile, load_deliveries
from bot.config.layout import RULES_DIR
from bot.config.sources import SOURCES_FILE, SourcesConfig, load_sources
from bot.config.themes import ThemeSet, load_themes
from bot.errors import ConfigError, Problem

T = TypeVar("T")


@dataclass(frozen=True)
class ConfigSnapshot:
    """One validated configuration; `digest` identifies its content."""

    sources: SourcesConfig
    themes: ThemeSet
    deliveries: DeliveriesFile
    digest: str
    loaded_at: datetime


def watched_files(config_dir: Path) -> list[Path]:
    rules = config_dir / RULES_DIR
    theme_files = sorted(rules.glob("*.yaml")) if rules.is_dir() else []
    return [config_dir / SOURCES_FILE, config_dir / DELIVERIES_FILE, *theme_files]


def content_digest(config_dir: Path) -> str:
    h = hashlib.sha256()
    for path in watched_files(config_dir):
        h.update(str(path.relative_to(config_dir)).encode() + b"\0")
        try:
            h.update(path.read_bytes())
        except OSError:
            h.update(b"<missing>")
        h.update(b"\0")
    return h.hexdigest()


def load_config(config_dir: Path, now: datetime | None = None) -> ConfigSnapshot:
    """Load and validate all three; a ConfigError carries the problems of every file at once."""
    digest = content_digest(config_dir)
    problems: list[Problem] = []

    def attempt(load: Callable[[], T]) -> T | None:
        try:
            return load()
        except ConfigError as exc:
            problems.extend(exc.problems)
            return None

    sources = attempt(lambda: load_sources(config_dir))
    themes = attempt(lambda: load_themes(config_dir))
    deliveries = attempt(lambda: load_deliveries(config_dir))
    if themes is not None:
        attempt(themes.matcher)  # compile now: a rule that cannot compile must not reach the poller
    if sources is None or themes is None or deliveries is None or problems:
        raise ConfigError(problems)
    return ConfigSnapshot(sources, themes, deliveries, digest, now or datetime.now(timezone.utc))
