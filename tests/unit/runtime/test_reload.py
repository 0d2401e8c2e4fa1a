"""Live reload: valid edits become the running configuration, broken ones are reported once
and the last good configuration stays."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.runtime.reload import ConfigWatcher, load_config

SOURCES = """\
defaults:
  interval: 30m
sources:
  - id: one
    url: https://one.example.org/feed
"""
DELIVERIES = "timezone: Europe/Brussels\n"


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    # Edits within one mtime tick must still be seen: bump the mtime like a slow editor would.
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


@pytest.fixture
def config_dir(tmp_path):
    (tmp_path / "rules").mkdir()
    write(tmp_path / "sources.yaml", SOURCES)
    write(tmp_path / "deliveries.yaml", DELIVERIES)
    return tmp_path


def ids(snapshot) -> list[str]:
    return [s.id for s in snapshot.sources.sources]


def test_unchanged_files_give_nothing(config_dir):
    watcher = ConfigWatcher(config_dir, load_config(config_dir))
    assert watcher.check() is None
    (config_dir / "sources.yaml").touch()
    assert watcher.check() is None, "same content, new mtime: no reload"


def test_a_valid_edit_is_picked_up(config_dir):
    watcher = ConfigWatcher(config_dir, load_config(config_dir))
    write(config_dir / "sources.yaml", SOURCES + "  - id: two\n    url: https://two.example.org/feed\n")
    snapshot = watcher.check()
    assert snapshot is not None and ids(snapshot) == ["one", "two"]
    assert watcher.current is snapshot


def test_a_broken_edit_keeps_the_last_good_config_and_reports_once(config_dir):
    errors: list[ConfigError] = []
    good = load_config(config_dir)
    watcher = ConfigWatcher(config_dir, good, on_error=errors.append)
    write(config_dir / "sources.yaml", SOURCES + "  - id: Bad Id\n    url: ftp://x\n")
    assert watcher.check() is None
    assert watcher.current is good
    assert len(errors) == 1 and "sources.yaml:6" in str(errors[0])
    assert "sources.yaml:6" in watcher.last_error
    (config_dir / "sources.yaml").touch()
    assert watcher.check() is None and len(errors) == 1, "the same broken content is reported once"
    write(config_dir / "deliveries.yaml", "timezone: Mars/Olympus\n")
    assert watcher.check() is None
    assert len(errors) == 2 and "deliveries.yaml:1" in str(errors[1]) and "sources.yaml" in str(errors[1])
    write(config_dir / "deliveries.yaml", DELIVERIES)
    write(config_dir / "sources.yaml", SOURCES)
    assert watcher.check() is None, "back to the running content: nothing to reload"
    assert watcher.last_error is None


def test_yaml_syntax_errors_name_the_place(config_dir):
    watcher = ConfigWatcher(config_dir, load_config(config_dir))
    write(config_dir / "deliveries.yaml", "timezone: [unclosed\n")
    assert watcher.check() is None
    assert "deliveries.yaml:" in watcher.last_error and "YAML syntax" in watcher.last_error
