"""`newsbot deliver --once` and `newsbot digest --preview`: console without a token, the real
client against the fake Bot API (run in its own thread, as the CLI runs its own loop)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import cli
from bot.delivery.destinations import sync_config_destinations
from bot.delivery.outbox import NewHit, queue_for_hits
from bot.config.deliveries import load_deliveries
from bot.storage.db import open_database
from bot.storage.schema import deliveries, hits, items
from support.fakebotapi import TOKEN, FakeBotAPI, serving_in_a_thread

DELIVERIES = """\
timezone: UTC
telegram:
  chats:
    - chat: 5001
      name: Ana
      alerts: instant
      digest: "daily 00:00"
    - chat: 5002
      name: Blocked Ben
      alerts: instant
      digest: "off"
"""


@pytest.fixture
def cfg(tmp_path):
    (tmp_path / "deliveries.yaml").write_text(DELIVERIES)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = open_database(url)
    past = datetime.now(timezone.utc) - timedelta(days=2)
    with engine.begin() as conn:
        sync_config_destinations(conn, load_deliveries(tmp_path), past)
        new = []
        for i, (theme, prio) in enumerate([("pushbacks", "high"), ("detention", "normal")], 1):
            conn.execute(items.insert().values(id=i, source_id="picum", guid=f"g{i}", url=f"https://x.org/{i}",
                                               title=f"Title {i} <&> Ελλάδα", first_seen_at=past))
            hid = conn.execute(hits.insert().values(item_id=i, theme=theme, priority=prio,
                                                    created_at=past)).inserted_primary_key[0]
            new.append(NewHit(hid, i, None, theme, prio, "en", ()))
        # queued an hour ago: older than deliveries.yaml `stale_after` (24h) would go to the digest
        queue_for_hits(conn, new, datetime.now(timezone.utc) - timedelta(hours=1))
    engine.dispose()
    return tmp_path, url


def run(args, env):  # noqa: ANN001, ANN201
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


def test_console_without_token_then_nothing_twice(cfg) -> None:
    path, url = cfg
    env = {"DATABASE_URL": url, "TELEGRAM_BOT_TOKEN": ""}
    dry = run(["--config-dir", str(path), "deliver", "--once", "--dry-run", "--format", "json"], env)
    assert dry.exit_code == 0, dry.output
    assert '"alerts": 2' in dry.output and "Title 1 <&> Ελλάδα" in dry.output
    first = run(["--config-dir", str(path), "deliver", "--once"], env)
    assert first.exit_code == 0, first.output
    assert first.output.count("── Telegram → Ana") == 2          # the alert, and the due digest
    assert "Title 1 <&> Ελλάδα <https://x.org/1>" in first.output
    assert "Title 2" in first.output
    again = run(["--config-dir", str(path), "deliver", "--once"], env)
    assert "Telegram →" not in again.output and again.exit_code == 0
    prev = run(["--config-dir", str(path), "digest", "--preview", "--since", "7d"], env)
    assert prev.exit_code == 0 and "Title 2 <&> Ελλάδα" in prev.output
    bad = run(["--config-dir", str(path), "digest", "--preview", "--since", "soon"], env)
    assert bad.exit_code == 2


def test_deliver_once_through_the_bot_api_exits_3_when_a_send_failed(cfg) -> None:
    path, url = cfg
    server = FakeBotAPI()
    server.blocked.add("5002")
    with serving_in_a_thread(server):
        env = {"DATABASE_URL": url, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": server.url,
               "TELEGRAM_ADMIN_IDS": "77"}
        result = run(["--config-dir", str(path), "deliver", "--once", "--format", "json"], env)
        assert result.exit_code == 3, result.output
        summary = json.loads(result.stdout)
        assert summary["deactivated"] == ["5002"] and summary["sent"] == 2 and summary["channel"] == "telegram"
        assert TOKEN not in result.output
        assert [s.chat_id for s in server.sent] == ["5001", "77", "5001"]
        engine = open_database(url)
        with engine.connect() as conn:
            assert sorted(conn.execute(select(deliveries.c.status)).scalars()) == ["sent", "sent", "skipped"]
        engine.dispose()


def test_digest_preview_of_one_chat(cfg) -> None:
    """`digest --preview --chat ID` shows that chat's digest: its queued digest entries, not
    every stored hit; a chat with digests off has none; an unknown chat is a usage error."""
    path, url = cfg
    env = {"DATABASE_URL": url, "TELEGRAM_BOT_TOKEN": ""}
    ana = run(["--config-dir", str(path), "digest", "--preview", "--chat", "5001", "--since", "7d"], env)
    assert ana.exit_code == 0, ana.output
    # the high-priority hit went to Ana as an instant alert: her digest does not repeat it
    assert "Title 2 <&> Ελλάδα" in ana.output and "Title 1" not in ana.output
    every = run(["--config-dir", str(path), "digest", "--preview", "--since", "7d"], env)
    assert "Title 1 <&> Ελλάδα" in every.output and "Title 2 <&> Ελλάδα" in every.output
    ben = run(["--config-dir", str(path), "digest", "--preview", "--chat", "5002", "--since", "7d"], env)
    assert ben.exit_code == 0 and "Title" not in ben.output
    unknown = run(["--config-dir", str(path), "digest", "--preview", "--chat", "999", "--since", "7d"], env)
    assert unknown.exit_code == 2 and "no destination with chat id 999" in unknown.output


def test_deliver_once_with_the_bot_api_unreachable_keeps_the_queue_and_exits_3(cfg) -> None:
    """Nothing listens at TELEGRAM_API_URL: no traceback; the alerts stay queued for the next
    run (each attempt counted, retried with backoff), the summary says so, exit 3."""
    path, url = cfg
    env = {"DATABASE_URL": url, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": "http://127.0.0.1:1"}
    result = run(["--config-dir", str(path), "deliver", "--once", "--wait-retries", "0", "--format", "json"], env)
    assert result.exit_code == 3, result.output
    summary = json.loads(result.stdout)
    assert summary["retrying"] == 2 and summary["sent"] == 0 and summary["failed"] == 0, summary
    assert "cannot be reached" in result.stderr and "Traceback" not in result.output
    assert TOKEN not in result.output
    engine = open_database(url)
    with engine.connect() as conn:
        rows = conn.execute(select(deliveries.c.kind, deliveries.c.status, deliveries.c.attempts,
                                   deliveries.c.error)).all()
    engine.dispose()
    alerts = [r for r in rows if r.kind == "alert"]
    assert len(alerts) == 2 and all(r.status == "queued" and r.attempts == 1 for r in alerts), rows
    assert all("NetworkError" in r.error for r in alerts), rows
    assert all(r.status == "queued" for r in rows), rows                  # the digest too


def test_sigterm_during_deliver_once_records_the_sends_in_flight(tmp_path) -> None:
    """SIGTERM while Telegram has not yet answered: the command waits for the answers, marks
    those rows sent, gives the rest back to the queue and exits 3; no row is left 'sending'
    (which would send it again once its lease expired)."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    chats = ["6001", "6002", "6003"]
    (tmp_path / "deliveries.yaml").write_text("telegram:\n  chats:\n" + "".join(
        f"    - chat: {c}\n      alerts: instant\n      digest: 'off'\n" for c in chats))
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = open_database(url)
    past = datetime.now(timezone.utc) - timedelta(minutes=5)
    with engine.begin() as conn:
        sync_config_destinations(conn, load_deliveries(tmp_path), past)
        for i in range(1, 5):
            conn.execute(items.insert().values(id=i, source_id="picum", guid=f"g{i}", url=f"https://x.org/{i}",
                                               title=f"Urgent {i}", first_seen_at=past))
            hid = conn.execute(hits.insert().values(item_id=i, theme="pushbacks", priority="high",
                                                    created_at=past)).inserted_primary_key[0]
            queue_for_hits(conn, [NewHit(hid, i, None, "pushbacks", "high", "en", ())], past)
    server = FakeBotAPI()
    server.inject("hold", times=len(chats))      # the first message of each chat waits
    with serving_in_a_thread(server):
        env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": url, "TELEGRAM_BOT_TOKEN": TOKEN,
               "TELEGRAM_API_URL": server.url, "NEWSBOT_CONFIG_DIR": ""}
        proc = subprocess.Popen([str(Path(sys.executable).with_name("newsbot")), "--config-dir", str(tmp_path),
                                 "deliver", "--once", "-v"], env=env, stderr=subprocess.PIPE, text=True)
        try:
            assert server.holding.wait(30), "no message reached the Bot API"
            proc.send_signal(signal.SIGTERM)
            seen = []
            for line in proc.stderr:                  # the command says it got the signal
                seen.append(line)
                if "SIGTERM: finishing the sends in flight" in line:
                    break
            server._server.get_loop().call_soon_threadsafe(server.release.set)
            _, rest = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 3, "".join(seen) + rest
        assert "stopped by SIGTERM" in rest
    with engine.connect() as conn:
        rows = conn.execute(select(deliveries.c.status, deliveries.c.message_id)).all()
    engine.dispose()
    assert "sending" not in {r.status for r in rows}
    sent = sorted(r.message_id for r in rows if r.status == "sent")
    assert sent and sent == sorted(s.message_id for s in server.sent)   # every accepted message recorded
    assert any(r.status == "queued" for r in rows)                       # the rest waits for the next run
