"""`newsbot rules backtest` on stored items reports each rule's precision from members' votes
(bot.stories.feedback.rule_stats) and the noisiest rules, through the real CLI and SQLite."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone

from click.testing import CliRunner

from bot.cli import cli
from bot.stories.feedback import record_vote
from bot.storage.db import open_database
from support.seed_hits import add_hit, add_item
from support.paths import FIXTURES

FIXTURE = FIXTURES / "ruleset"


def test_backtest_reports_precision_and_noisiest_rules(tmp_path):
    shutil.copytree(FIXTURE / "rules", tmp_path / "rules")
    (tmp_path / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'nb.db'}"
    engine = open_database(url)
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        for i in range(5):
            item, _ = add_item(conn, "s", f"Pushbacks near Greece, report {i}", now - timedelta(days=1, hours=i))
            hit = add_hit(conn, item, "pushbacks", ["fx-pushback-near"], now - timedelta(days=1, hours=i))
            record_vote(conn, hit, "u1", 1 if i == 0 else -1, now)      # 1 of 5 relevant
        item, _ = add_item(conn, "s", "Detention of asylum seekers", now - timedelta(days=2))
        hit = add_hit(conn, item, "detention", ["fx-detention-en"], now - timedelta(days=2))
        for user in ("u1", "u2", "u3"):
            record_vote(conn, hit, user, 1, now)
        old, _ = add_item(conn, "s", "Pushbacks near Greece long ago", now - timedelta(days=50))
        record_vote(conn, add_hit(conn, old, "pushbacks", ["fx-pushback-near"], now - timedelta(days=50)),
                    "u1", 1, now)                                           # outside --since 30d
    engine.dispose()

    def run(*args: str):  # noqa: ANN202
        res = CliRunner().invoke(cli, ["--config-dir", str(tmp_path), "rules", "backtest", *args],
                                 env={"DATABASE_URL": url})
        assert res.exit_code == 0, res.output
        return res.output

    rep = json.loads(run("--since", "30d", "--format", "json"))
    rules = {r["rule"]: r for t in rep["themes"] for r in t["rules"]}
    assert rules["fx-pushback-near"]["hits"] == 5
    assert (rules["fx-pushback-near"]["votes_up"], rules["fx-pushback-near"]["votes_down"]) == (1, 4)
    assert rules["fx-pushback-near"]["precision"] == 0.2
    assert rules["fx-detention-en"]["precision"] == 1.0
    assert rules["fx-pushback-el"]["precision"] is None and rules["fx-pushback-el"]["votes_up"] == 0
    assert [n["rule"] for n in rep["noisiest_rules"]] == ["fx-pushback-near", "fx-detention-en"]

    text = run("--since", "30d")
    assert "fx-pushback-near" in text and "20% relevant (1 of 5 votes)" in text
    assert "noisiest rules by member votes: fx-pushback-near 20% of 5, fx-detention-en 100% of 3" in text

    # 60 days: the old hit's relevant vote counts too
    rep = json.loads(run("--since", "60d", "--format", "json"))
    rules = {r["rule"]: r for t in rep["themes"] for r in t["rules"]}
    assert (rules["fx-pushback-near"]["votes_up"], rules["fx-pushback-near"]["votes_down"]) == (2, 4)
