"""The tests mirror the packages (tests/README.md): `bot/<pkg>/<module>.py` is tested in
`tests/{unit,integration}/<pkg>/test_<module>*.py`. A test file outside a package's folder, or
named after no module of its package, fails here, so a module's tests stay findable by its name."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.paths import REPO, TESTS

BOT = REPO / "bot"
KINDS = ("unit", "integration")


def all_test_files() -> list[Path]:
    return sorted(p for kind in KINDS for p in (TESTS / kind).rglob("test_*.py"))


def package_of(test_file: Path) -> Path:
    """bot/<pkg>/ for tests/<kind>/<pkg>/test_x.py."""
    return BOT.joinpath(*test_file.parent.relative_to(TESTS).parts[1:])


def is_bot_package(folder: Path) -> bool:
    return folder != BOT and (folder / "__init__.py").is_file()


def names_in(package: Path) -> set[str]:
    """What a test file may be named after: the package's modules and its folders (migrations/)."""
    modules = {p.stem for p in package.glob("*.py") if p.stem != "__init__"}
    folders = {p.name for p in package.iterdir() if p.is_dir() and p.name != "__pycache__"}
    return modules | folders


def module_tested_by(test_file: Path) -> str | None:
    stem = test_file.stem.removeprefix("test_")
    found = [n for n in names_in(package_of(test_file)) if stem == n or stem.startswith(n + "_")]
    return max(found, key=len) if found else None


def test_the_layout_has_test_files():
    assert len(all_test_files()) > 50


@pytest.mark.parametrize("kind", KINDS)
def test_every_test_file_sits_in_the_folder_of_a_bot_package(kind):
    misplaced = [str(f.relative_to(TESTS)) for f in all_test_files()
                 if f.relative_to(TESTS).parts[0] == kind and not is_bot_package(package_of(f))]
    assert not misplaced, f"move these under tests/{kind}/<package>/ after the bot/ package they test: {misplaced}"


@pytest.mark.parametrize("kind", KINDS)
def test_every_test_folder_is_a_package(kind):
    # Packages, so that two packages' tests may share a basename (test_due.py in runtime/ and storage/).
    folders = [TESTS / kind, *(d for d in (TESTS / kind).rglob("*") if d.is_dir() and d.name != "__pycache__")]
    without = [str(d.relative_to(TESTS)) for d in folders if not (d / "__init__.py").is_file()]
    assert not without, f"add an empty __init__.py to: {without}"


def test_every_test_file_is_named_after_a_module_of_its_package():
    unnamed = [str(f.relative_to(TESTS)) for f in all_test_files()
               if is_bot_package(package_of(f)) and module_tested_by(f) is None]
    assert not unnamed, f"name these test_<module>.py or test_<module>_<aspect>.py: {unnamed}"
