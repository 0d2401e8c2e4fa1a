"""Where themes live in a config dir: `rules/`, one theme a file, the file named after the
theme's slug. No parsing, so any module may import it (deliveries.yaml's checks and
`--theme` options need the slugs, not the rule engine)."""

from __future__ import annotations

from pathlib import Path

RULES_DIR = "rules"


def theme_slugs(config_dir: Path) -> set[str]:
    """The themes of `config_dir`: the names of its rules/*.yaml (no rules/: none)."""
    folder = Path(config_dir) / RULES_DIR
    return {p.stem for p in folder.glob("*.yaml")} if folder.is_dir() else set()
