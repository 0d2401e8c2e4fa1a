"""`newsbot run` with no TELEGRAM_BOT_TOKEN (SPEC: it says so once, then prints to the
console): the real command in a subprocess, stopped with SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

NEWSBOT = str(Path(sys.executable).with_name("newsbot"))   # the installed console script


def test_run_without_a_token_says_so_once_and_stops_cleanly(tmp_path):
    (tmp_path / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SMTP_", "NEWSBOT_", "DATABASE_"))}
    env.update(NEWSBOT_HTTP="off", DATABASE_URL=f"sqlite:///{tmp_path / 'nb.db'}")
    proc = subprocess.Popen([NEWSBOT, "--config-dir", str(tmp_path), "run"], env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    lines = []
    deadline = time.monotonic() + 60
    try:
        for line in proc.stderr:
            lines.append(line)
            if "daemon started" in line or time.monotonic() > deadline:
                break
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=30)[1]
    finally:
        proc.kill()
    log = "".join(lines) + rest
    assert proc.returncode == 0, log
    assert log.count("TELEGRAM_BOT_TOKEN is not set") == 1, log
    assert "printed to the console" in log and "stopped cleanly" in log
