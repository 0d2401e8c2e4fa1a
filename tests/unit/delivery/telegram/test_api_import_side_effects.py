"""No import-time side effects: importing the Telegram modules leaves the environment alone;
PTB's timedelta opt-in is set by whatever starts talking to Telegram."""

from __future__ import annotations

import os
import subprocess
import sys


def test_importing_the_telegram_modules_leaves_the_environment_alone():
    code = ("import os, bot.delivery.telegram.sender, bot.chat.telegram_bot; "
            "print(os.environ.get('PTB_TIMEDELTA'))")
    env = {k: v for k, v in os.environ.items() if k != "PTB_TIMEDELTA"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "None"


def test_making_a_bot_opts_in_to_ptb_timedeltas(monkeypatch):
    from bot.delivery.telegram.api import make_bot

    monkeypatch.delenv("PTB_TIMEDELTA", raising=False)
    make_bot("123456:test-token", "http://127.0.0.1:9")
    assert os.environ["PTB_TIMEDELTA"] == "true"


def test_an_operators_own_setting_wins(monkeypatch):
    from bot.delivery.telegram.api import opt_in_to_ptb_timedeltas

    monkeypatch.setenv("PTB_TIMEDELTA", "false")
    opt_in_to_ptb_timedeltas()
    assert os.environ["PTB_TIMEDELTA"] == "false"
