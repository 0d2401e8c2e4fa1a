"""A bad environment value is a configuration error: one `Error:` line naming the variable
and exit 2, for every command; never a traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

NEWSBOT = str(Path(sys.executable).with_name("newsbot"))


def newsbot(config_dir: Path, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "HOME": str(config_dir), "TELEGRAM_BOT_TOKEN": "", "SMTP_URL": "",
            "DATABASE_URL": f"sqlite:///{config_dir / 'newsbot.db'}", "NEWSBOT_HTTP": "off"}
    return subprocess.run([NEWSBOT, "--config-dir", str(config_dir), *args], env={**base, **env},
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    (tmp_path / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("args, env, expected", [
    (["run"], {"NEWSBOT_TZ": "Mars/Olympus"}, "Error: environment: NEWSBOT_TZ: unknown time zone 'Mars/Olympus'"),
    (["run"], {"NEWSBOT_HTTP": "garbage"}, "Error: environment: NEWSBOT_HTTP: 'garbage' is not HOST:PORT"),
    (["hits"], {"DATABASE_URL": "foo://x"}, "Error: environment: DATABASE_URL: unknown database 'foo'"),
    (["deliver", "--once"], {"NEWSBOT_TZ": "Mars/Olympus"}, "Error: environment: NEWSBOT_TZ:"),
    (["run"], {"NEWSBOT_LEASE_TTL": "5m"}, "Error: environment: NEWSBOT_LEASE_TTL: '5m' is not seconds"),
    (["run"], {"TELEGRAM_ADMIN_IDS": "@alice"}, "Error: environment: TELEGRAM_ADMIN_IDS: '@alice'"),
    (["email", "--preview", "out.html"], {"SMTP_URL": "smtpx://me:s3cret@mail.example.org", "EMAIL_FROM": "a@b.org"},
     "Error: environment: SMTP_URL: scheme must be smtp or smtps"),
])
def test_bad_environment_value_exits_2_with_one_line(config_dir: Path, args, env, expected):
    result = newsbot(config_dir, args, env)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0].startswith(expected), result.stderr


def test_database_password_not_echoed(config_dir: Path):
    result = newsbot(config_dir, ["hits"], {"DATABASE_URL": "foo://app:s3cret@db/newsbot"})
    assert result.returncode == 2 and "s3cret" not in result.stderr + result.stdout


@pytest.mark.parametrize("args", [["hits"], ["deliver", "--once"], ["sources", "health"], ["search", "asylum"],
                                  ["digest", "--preview"], ["run"], ["db", "migrate"]], ids=" ".join)
def test_unreachable_postgresql_is_one_error_line_exit_2(config_dir: Path, args):
    """Nothing listens on the port: one `Error: database error (...)` line with the password
    hidden, exit 2, for every command that opens the database (as `db migrate` always did)."""
    result = newsbot(config_dir, args, {"DATABASE_URL": "postgresql://u:pw-s3cret@127.0.0.1:1/db"})
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "pw-s3cret" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("Error: database error (postgresql://u:***@127.0.0.1:1/db): ") and \
        "Connection refused" in errors[0], result.stderr


def test_sqlite_database_that_cannot_be_opened_is_one_error_line_exit_2(config_dir: Path):
    """A DATABASE_URL naming a directory: SQLite cannot open it."""
    (config_dir / "adir").mkdir()
    result = newsbot(config_dir, ["hits"], {"DATABASE_URL": f"sqlite:///{config_dir / 'adir'}"})
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0].startswith("Error: database error (sqlite:///") and \
        "unable to open database file" in errors[0], result.stderr
