"""rules/*.yaml: theme files (placeholder until the rule engine lands)."""

from __future__ import annotations

from pathlib import Path


def load_themes(config_dir: Path):  # noqa: ANN201
    return []
