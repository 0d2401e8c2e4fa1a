"""Environment values are checked where settings are loaded: every bad one is a placed
problem (at `.env:line:col` when it came from .env), and a password never shows."""

from pathlib import Path

import pytest

from bot.config.settings import Settings, parse_address
from bot.errors import ConfigError


def messages(settings: Settings) -> list[str]:
    return [str(p) for p in settings.problems()]


def test_defaults_and_good_values_have_no_problems(tmp_path: Path):
    assert Settings.load(tmp_path, {}).problems() == []
    good = Settings.load(tmp_path, {"NEWSBOT_TZ": "Europe/Brussels", "NEWSBOT_HTTP": "[::1]:0",
                                    "DATABASE_URL": "postgresql://app:pw@db/newsbot"})
    assert good.problems() == []
    assert Settings.load(tmp_path, {"NEWSBOT_HTTP": "off"}).problems() == []
    admins = Settings.load(tmp_path, {"TELEGRAM_ADMIN_IDS": " 123, -456 ,", "NEWSBOT_ALLOW_PRIVATE_NETWORKS": "No",
                                      "TELEGRAM_API_URL": "http://127.0.0.1:8081/"})
    assert admins.problems() == [] and admins.admin_ids == {123, -456} and not admins.allow_private_networks
    assert Settings.load(tmp_path, {"NEWSBOT_ALLOW_PRIVATE_NETWORKS": "TRUE"}).allow_private_networks
    assert Settings.load(tmp_path, {}).lease_ttl == 300
    assert Settings.load(tmp_path, {"NEWSBOT_LEASE_TTL": " 6 "}).lease_ttl == 6
    good.check()  # no raise


@pytest.mark.parametrize("variable, value, expected", [
    ("NEWSBOT_TZ", "Mars/Olympus", "environment: NEWSBOT_TZ: unknown time zone 'Mars/Olympus'"),
    ("NEWSBOT_TZ", "../etc/passwd", "environment: NEWSBOT_TZ: unknown time zone '../etc/passwd'"),
    ("NEWSBOT_HTTP", "garbage", "environment: NEWSBOT_HTTP: 'garbage' is not HOST:PORT"),
    ("NEWSBOT_HTTP", "127.0.0.1:99999", "environment: NEWSBOT_HTTP: '127.0.0.1:99999' is not HOST:PORT"),
    ("DATABASE_URL", "foo://x", "environment: DATABASE_URL: unknown database 'foo'"),
    ("DATABASE_URL", "garbage", "environment: DATABASE_URL: not a database URL"),
    ("DATABASE_URL", "mysql://h/db", "environment: DATABASE_URL: the driver of 'mysql' is not installed"),
    ("TELEGRAM_ADMIN_IDS", "123, @alice", "environment: TELEGRAM_ADMIN_IDS: '@alice' is not a Telegram user id"),
    ("TELEGRAM_API_URL", "localhost:8081", "environment: TELEGRAM_API_URL: 'localhost:8081' is not an http(s) URL"),
    ("NEWSBOT_LEASE_TTL", "0.5", "environment: NEWSBOT_LEASE_TTL: '0.5' is not seconds between 1 and 86400"),
    ("NEWSBOT_LEASE_TTL", "5m", "environment: NEWSBOT_LEASE_TTL: '5m' is not seconds between 1 and 86400"),
    ("NEWSBOT_ALLOW_PRIVATE_NETWORKS", "maybe",
     "environment: NEWSBOT_ALLOW_PRIVATE_NETWORKS: 'maybe' is neither 1/true/yes nor 0/false/no"),
])
def test_bad_environment_values_are_problems(tmp_path: Path, variable: str, value: str, expected: str):
    settings = Settings.load(tmp_path, {variable: value})
    found = messages(settings)
    assert len(found) == 1 and found[0].startswith(expected), found
    with pytest.raises(ConfigError) as exc:
        settings.check()
    assert [str(p) for p in exc.value.problems] == found


def test_every_bad_value_at_once(tmp_path: Path):
    found = messages(Settings.load(tmp_path, {"NEWSBOT_TZ": "Nowhere", "NEWSBOT_HTTP": "x",
                                              "DATABASE_URL": "foo://x"}))
    assert [m.split(":")[1].strip() for m in found] == ["NEWSBOT_TZ", "NEWSBOT_HTTP", "DATABASE_URL"]


def test_a_database_password_is_never_repeated(tmp_path: Path):
    for url in ("foo://app:s3cret@db/x", "postgres://app:s3cret@db/x", "mysql://app:s3cret@db/x",
                "app:s3cret@db"):
        found = messages(Settings.load(tmp_path, {"DATABASE_URL": url}))
        assert found and not any("s3cret" in m for m in found), found


def test_values_from_dotenv_are_placed_in_dotenv(tmp_path: Path):
    (tmp_path / ".env").write_text("# settings\nNEWSBOT_TZ=Mars/Olympus\n  export NEWSBOT_HTTP = 'nope'\n"
                                   "DATABASE_URL=foo://x\n", encoding="utf-8")
    found = messages(Settings.load(tmp_path, {"DATABASE_URL": "sqlite://"}))
    assert found == [
        ".env:2:12: NEWSBOT_TZ: unknown time zone 'Mars/Olympus' (use a name such as Europe/Brussels)",
        ".env:3:25: NEWSBOT_HTTP: 'nope' is not HOST:PORT (such as 127.0.0.1:8787) or 'off'",
    ]  # DATABASE_URL of .env is overridden by the environment, which is fine


def test_parse_address_rejects_blanks_in_the_host():
    assert parse_address(":8787") == ("127.0.0.1", 8787)
    with pytest.raises(ValueError, match="NEWSBOT_HTTP"):
        parse_address("local host:80")


def test_default_database_and_config_dir(tmp_path: Path, monkeypatch):
    """SPEC: the database defaults to storage/newsbot.db under the config dir; the config dir
    to $NEWSBOT_CONFIG_DIR, else the current directory."""
    assert Settings.load(tmp_path, {}).database_url == f"sqlite:///{tmp_path.resolve() / 'storage' / 'newsbot.db'}"
    monkeypatch.chdir(tmp_path)
    assert Settings.load(None, {}).config_dir == tmp_path.resolve()
    other = tmp_path / "other"
    assert Settings.load(None, {"NEWSBOT_CONFIG_DIR": str(other)}).config_dir == other.resolve()


def test_newsbot_tz_overrides_the_deliveries_time_zone(tmp_path: Path):
    from bot.config.deliveries import DeliveriesFile

    deliveries = DeliveriesFile(timezone="Europe/Athens")
    assert Settings.load(tmp_path, {}).schedule_tz(deliveries) == "Europe/Athens"
    assert Settings.load(tmp_path, {"NEWSBOT_TZ": "Europe/Lisbon"}).schedule_tz(deliveries) == "Europe/Lisbon"
    assert Settings.load(tmp_path, {}).schedule_tz(DeliveriesFile()) == "UTC"   # deliveries.yaml names none


def test_smtp_url_needs_email_from_and_is_placed_in_dotenv(tmp_path: Path):
    (tmp_path / ".env").write_text("EMAIL_FROM=\nSMTP_URL=smtpx://me:s3cret@mail.example.org\n", encoding="utf-8")
    found = [str(p) for p in Settings.load(tmp_path, {}).problems()]
    assert found[0].startswith(".env:2:") and "SMTP_URL: scheme must be smtp or smtps" in found[0]
    assert found[1] == ".env:1:12: EMAIL_FROM: required when SMTP_URL is set"    # empty in .env
    assert "s3cret" not in " ".join(found)
    no_user = Settings.load(tmp_path, {"SMTP_URL": "smtp://:pw@mail.example.org", "EMAIL_FROM": "a@b.org"})
    assert [str(p) for p in no_user.problems()] == ["environment: SMTP_URL: a password without a user name"]
    good = Settings.load(tmp_path, {"SMTP_URL": "smtps://me:pw@mail.example.org", "EMAIL_FROM": "a@b.org"})
    assert good.problems() == []


def test_a_malformed_dotenv_line_is_a_placed_problem_that_never_shows_the_line(tmp_path: Path):
    """README promises `.env:LINE:COL` errors; `this is not a var` was silently ignored."""
    (tmp_path / ".env").write_text("# settings\nNEWSBOT_TZ=UTC\n  this is not a var s3cret\n"
                                   "my key=s3cret\n=s3cret\nexport OK_VAR = 1\n\n", encoding="utf-8")
    settings = Settings.load(tmp_path, {})
    found = messages(settings)
    assert [m.split(": ")[0] for m in found] == [".env:3:3", ".env:4:1", ".env:5:1"], found
    assert all("not a KEY=VALUE line" in m for m in found)
    assert not any("s3cret" in m or "this is" in m or "my key" in m for m in found)
    assert settings.timezone == "UTC"
    with pytest.raises(ConfigError, match=r"\.env:3:3: not a KEY=VALUE line"):
        settings.check()
