"""A bot token the Bot API rejects (401): `deliver --once` and `run` end with one `Error:`
line and exit 2 (systemd's RestartPreventExitStatus=2 stops the restart loop), and the token
never reaches stdout or stderr, whatever the log format or level. Real `newsbot` processes
against the fake Bot API (in a thread of the test process)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from support.fakebotapi import FakeBotAPI, serving_in_a_thread

NEWSBOT = str(Path(sys.executable).with_name("newsbot"))
REJECTED = "123456:SECRETTOKENabc"


class UnauthorizedBotAPI(FakeBotAPI):
    """Telegram's answer to a token it does not know: 401 Unauthorized."""

    async def _dispatch(self, path: str, headers: dict, body: bytes):  # noqa: ANN201
        if not path.startswith(f"/bot{self.token}/"):
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        return await super()._dispatch(path, headers, body)


@pytest.fixture(scope="module")
def api_url():  # noqa: ANN201
    with serving_in_a_thread(UnauthorizedBotAPI()) as server:
        yield server.url


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    (tmp_path / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    (tmp_path / "deliveries.yaml").write_text(
        "timezone: UTC\ntelegram:\n  chats:\n    - chat: 5001\n      name: Ana\n      alerts: instant\n",
        encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("args", [
    ["deliver", "--once"],
    ["deliver", "--once", "-v", "--format", "json"],
    ["run"],
    ["run", "--log-format", "json"],
    ["run", "--log-level", "DEBUG"],
], ids=" ".join)
def test_rejected_token_is_one_error_line_exit_2_and_never_printed(config_dir: Path, api_url: str, args):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(config_dir), "TELEGRAM_BOT_TOKEN": REJECTED,
           "TELEGRAM_API_URL": api_url, "DATABASE_URL": f"sqlite:///{config_dir / 'newsbot.db'}",
           "NEWSBOT_HTTP": "off", "SMTP_URL": ""}
    result = subprocess.run([NEWSBOT, "--config-dir", str(config_dir), *args], env=env,
                            capture_output=True, text=True, timeout=120)
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    assert REJECTED not in out and "SECRETTOKENabc" not in out, out
    assert "Traceback" not in out, out
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors == ["Error: TELEGRAM_BOT_TOKEN was rejected by the Bot API (Unauthorized)"], result.stderr
    assert "@BotFather" in result.stderr
