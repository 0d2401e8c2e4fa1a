"""`newsbot check` over a config dir: exit codes, every problem, notices for what is off."""

import shutil
from pathlib import Path

from click.testing import CliRunner

from bot.cli import cli
from support.paths import REPO



def run(config_dir: Path, env: dict[str, str] | None = None):
    base = {"TELEGRAM_BOT_TOKEN": "", "SMTP_URL": "", "EMAIL_FROM": "", "NEWSBOT_CONFIG_DIR": ""}
    return CliRunner().invoke(cli, ["--config-dir", str(config_dir), "check"], env={**base, **(env or {})})


def shipped(tmp_path: Path) -> Path:
    for name in ("sources.yaml", "deliveries.yaml"):
        if (REPO / name).exists():
            shutil.copy(REPO / name, tmp_path / name)
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    return tmp_path


def test_shipped_config_is_valid_and_email_off_is_a_notice(tmp_path):
    result = run(shipped(tmp_path))
    assert result.exit_code == 0, result.output
    assert "SMTP_URL is not set: the weekly email is off" in result.stderr
    assert "TELEGRAM_BOT_TOKEN is not set" in result.stderr


def test_problems_in_every_file_reported_at_once(tmp_path):
    d = shipped(tmp_path)
    (d / "sources.yaml").write_text("sources:\n  - id: a\n    url: ftp://x\n", encoding="utf-8")
    (d / "rules" / "asylum.yaml").write_text(
        "theme: asylum\ntitle: Asylum\nrules:\n  - id: a1\n    query: '(asylum OR refugee'\n", encoding="utf-8")
    (d / "deliveries.yaml").write_text("timezone: Mars/Olympus\n", encoding="utf-8")
    result = run(d)
    assert result.exit_code == 1
    out = result.stdout
    assert "sources.yaml:3:10: sources[0].url: must be an http or https URL" in out
    assert "rules/asylum.yaml:5:" in out and "expected ')'" in out
    assert "deliveries.yaml:1:11: timezone: unknown time zone" in out


def test_smtp_url_checked_without_echoing_the_password(tmp_path):
    result = run(shipped(tmp_path), {"SMTP_URL": "smtpx://me:s3cret@mail.example.org", "EMAIL_FROM": ""})
    assert result.exit_code == 1
    assert "scheme must be smtp or smtps" in result.output
    assert "EMAIL_FROM: required when SMTP_URL is set" in result.output
    assert "s3cret" not in result.output


def test_bad_environment_values_are_problems_too(tmp_path):
    result = run(shipped(tmp_path), {"NEWSBOT_TZ": "Mars/Olympus", "NEWSBOT_HTTP": "garbage",
                                     "DATABASE_URL": "foo://app:s3cret@db/x"})
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert "environment: NEWSBOT_TZ: unknown time zone 'Mars/Olympus'" in out
    assert "environment: NEWSBOT_HTTP: 'garbage' is not HOST:PORT" in out
    assert "environment: DATABASE_URL: unknown database 'foo'" in out
    assert "s3cret" not in result.output
    assert "3 problem(s) found" in result.stderr


def test_check_lists_schema_and_cross_entry_problems_in_one_run(tmp_path):
    d = shipped(tmp_path)
    (d / "sources.yaml").write_text(
        "sources:\n  - id: a\n    url: https://a.org/\n    interval: 1m\n"
        "  - id: a\n    url: https://b.org/\n", encoding="utf-8")
    (d / "rules" / "asylum.yaml").write_text(
        "theme: asylm\ntitle: Asylum\npriority: urgent\nrules:\n  - id: a1\n    query: '(asylum OR refugee'\n"
        "  - id: a1\n    query: asylum\n", encoding="utf-8")
    result = run(d)
    assert result.exit_code == 1
    out = result.stdout
    assert "sources.yaml:4:15: sources[0].interval: must be at least 5m (got '1m')" in out
    assert "sources.yaml:5:9: sources[1].id: duplicate id 'a' (first at sources[0])" in out
    assert "rules/asylum.yaml:1:8: theme: 'asylm' must equal the file name 'asylum'" in out
    assert "rules/asylum.yaml:3:11: priority: must be 'high', 'normal' or 'low'" in out
    assert "rules/asylum.yaml:6:" in out and "expected ')'" in out
    assert "rules/asylum.yaml:7:9: rules[1].id: duplicate rule id 'a1' (first in rules/asylum.yaml:5)" in out


def test_unknown_delivery_filter_names_are_problems(tmp_path):
    d = shipped(tmp_path)
    (d / "deliveries.yaml").write_text(
        "telegram:\n  chats:\n    - chat: -1001\n      themes: [nosuchtheme]\n      regions: [Atlantis]\n"
        "      languages: [english]\nemail:\n  weekly:\n    lists:\n      - name: m\n"
        "        to: [a@example.org]\n        themes: [nosuch]\n", encoding="utf-8")
    result = run(d)
    assert result.exit_code == 1
    out = result.stdout
    assert "deliveries.yaml:4:16: telegram.chats[0].themes[0]: unknown theme 'nosuchtheme'" in out
    assert "deliveries.yaml:5:17: telegram.chats[0].regions[0]: unknown region 'Atlantis'" in out
    assert "deliveries.yaml:6:19: telegram.chats[0].languages[0]: 'english' is not a language code" in out
    assert "deliveries.yaml:12:18: email.weekly.lists[0].themes[0]: unknown theme 'nosuch'" in out
    assert "4 problem(s) found" in result.stderr


def test_ok_message_says_what_was_checked_when_rules_and_deliveries_are_absent(tmp_path):
    shutil.copy(REPO / "sources.yaml", tmp_path / "sources.yaml")
    result = run(tmp_path)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        "ok: sources.yaml is valid (rules/ absent: no themes; deliveries.yaml absent: defaults used)")
    assert "Notice: rules/ is absent: no themes, so nothing matches" in result.stderr
    assert "Notice: deliveries.yaml is absent: defaults used (no chats, no email lists, UTC)" in result.stderr
    (tmp_path / "rules").mkdir()
    result = run(tmp_path)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "ok: sources.yaml and rules/ are valid (deliveries.yaml absent: defaults used)"


def test_ok_message_names_all_three_when_present(tmp_path):
    result = run(shipped(tmp_path))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "ok: sources.yaml, rules/ and deliveries.yaml are valid"
    assert "absent" not in result.stderr


def test_a_missing_sources_yaml_names_the_path_and_the_config_dir(tmp_path):
    """`--config-dir /tmp/nope` said only `sources.yaml: file not found`."""
    nope = tmp_path / "nope"
    result = run(nope)
    assert result.exit_code == 1
    assert (f"{nope}/sources.yaml: file not found (the config dir {nope} does not exist; "
            "set --config-dir or NEWSBOT_CONFIG_DIR)") in result.stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run(empty)
    assert result.exit_code == 1
    assert (f"{empty}/sources.yaml: file not found (config dir: {empty}; "
            "set --config-dir or NEWSBOT_CONFIG_DIR)") in result.stdout
    other = CliRunner().invoke(cli, ["--config-dir", str(empty), "sources", "list"],
                               env={"NEWSBOT_CONFIG_DIR": "", "TELEGRAM_BOT_TOKEN": ""})
    assert other.exit_code == 2
    assert f"{empty}/sources.yaml: file not found (config dir: {empty}" in other.output
