"""Where the suite's data lives, named once. A test imports these instead of counting its own
folder depth (`Path(__file__).parents[N]`), so a test file can move without its paths breaking."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent                  # the checkout: bot/, rules/, sources.yaml, README.md
FIXTURES = TESTS / "fixtures"
SHARED = REPO.parent / "shared"      # the shared corpus and contract, beside the checkout
CORPUS = SHARED / "corpus"
