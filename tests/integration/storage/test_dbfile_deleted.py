"""A SQLite database file deleted (or replaced) under a running daemon: /healthz says so with
a 503, and the daemon stops with a clear error instead of writing on to a file no one can
read while the next command creates an empty one."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timezone

from bot.config.settings import Settings
from bot.runtime.daemon import Daemon
from bot.runtime.ops_http import OpsMetrics, OpsServer
from bot.storage.db import open_database
from bot.storage.dbfile import DatabaseFile
from support.ops_client import ops_request

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


def test_the_file_is_told_from_what_is_at_its_path_now(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'a.db'}")
    watch = DatabaseFile.of(engine)
    assert watch is not None and watch.problem() is None
    (tmp_path / "b.db").write_bytes((tmp_path / "a.db").read_bytes())
    (tmp_path / "b.db").replace(tmp_path / "a.db")
    assert "was replaced by another file" in watch.problem()
    (tmp_path / "a.db").unlink()
    assert watch.problem() == f"the database file {tmp_path / 'a.db'} was deleted while newsbot was running"
    engine.dispose()


async def test_healthz_is_503_once_the_database_file_is_deleted(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'ops.db'}")
    watch = DatabaseFile.of(engine)
    metrics = OpsMetrics(engine, lambda: NOW)
    async with OpsServer("127.0.0.1:0", engine, lambda: NOW, metrics, problem=watch.problem) as server:
        before, _, _ = await ops_request(server.port, "/healthz")
        (tmp_path / "ops.db").unlink()
        after, _, body = await ops_request(server.port, "/healthz")
    engine.dispose()
    assert before == 200
    doc = json.loads(body)
    assert after == 503 and doc["status"] == "error" and "was deleted" in doc["db"]


async def test_the_daemon_stops_with_a_clear_error_when_its_database_file_is_deleted(tmp_path, caplog):
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    db = tmp_path / "newsbot.db"
    daemon = Daemon(Settings(config_dir=config, database_url=f"sqlite:///{db}", http_address=None), lock_ttl=0.4)
    running = asyncio.create_task(daemon.run())
    while daemon.db_file is None:          # prepare() opens (creates) the file first
        assert not running.done(), running.result()
        await asyncio.sleep(0.01)
    db.unlink()
    code = await asyncio.wait_for(running, 60)
    assert code == 1
    stopped = [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL]
    assert any(f"the database file {db} was deleted" in m and "stopping" in m for m in stopped), stopped
    assert not db.exists(), "stopping must not create a new empty database"
