"""`newsbot db copy` checks both URLs before touching anything: a URL SQLAlchemy cannot open
and a SQLite source that does not exist are one `Error:` line, exit 2, and nothing is created
(a typo in --from used to copy a new empty database and report success). Real processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

NEWSBOT = str(Path(sys.executable).with_name("newsbot"))


def newsbot(config_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(config_dir), "TELEGRAM_BOT_TOKEN": "", "SMTP_URL": "",
           "DATABASE_URL": f"sqlite:///{config_dir / 'newsbot.db'}", "NEWSBOT_HTTP": "off"}
    return subprocess.run([NEWSBOT, "--config-dir", str(config_dir), "db", "copy", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def one_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


@pytest.fixture
def source(tmp_path: Path) -> str:
    from bot.storage.db import open_database

    url = f"sqlite:///{tmp_path / 'src.db'}"
    open_database(url).dispose()
    return url


@pytest.mark.parametrize("target, expected", [
    ("mysql://x/y", "Error: --to: the driver of 'mysql' is not installed"),
    ("notaurl", "Error: --to: not a database URL (use sqlite:///PATH or postgresql://"),
    ("foo://app:s3cret@db/x", "Error: --to: unknown database 'foo'"),
])
def test_a_target_url_that_cannot_work_is_refused_up_front(tmp_path: Path, source: str, target: str, expected: str):
    result = newsbot(tmp_path, "--from", source, "--to", target)
    assert one_error(result).startswith(expected)
    assert "s3cret" not in result.stdout + result.stderr


def test_a_source_url_that_cannot_work_is_refused_up_front(tmp_path: Path):
    target = tmp_path / "new" / "target.db"
    result = newsbot(tmp_path, "--from", "notaurl", "--to", f"sqlite:///{target}")
    assert one_error(result).startswith("Error: --from: not a database URL")
    assert not target.parent.exists()


def test_a_sqlite_source_that_does_not_exist_is_refused_and_nothing_is_created(tmp_path: Path):
    typo = tmp_path / "x" / "typo.db"
    target = tmp_path / "y" / "target.db"
    result = newsbot(tmp_path, "--from", f"sqlite:///{typo}", "--to", f"sqlite:///{target}")
    error = one_error(result)
    assert error.startswith("Error: --from: the SQLite database ") and str(typo) in error and "does not exist" in error
    assert not typo.parent.exists() and not target.parent.exists()
    # the default source is DATABASE_URL: refused the same way when its file is missing
    result = newsbot(tmp_path, "--to", f"sqlite:///{target}")
    assert "newsbot.db does not exist" in one_error(result)
    assert not (tmp_path / "newsbot.db").exists() and not target.parent.exists()
