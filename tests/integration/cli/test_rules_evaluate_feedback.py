"""`newsbot rules evaluate --from-feedback`: members' votes on stored hits become labelled
items (bot.stories.feedback.labelled_from_feedback), through the real CLI and SQLite."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

from click.testing import CliRunner

from bot.cli import cli
from bot.stories.feedback import Judgement, labelled_from_feedback, record_vote, voted_judgements
from bot.storage.db import open_database
from support.seed_hits import add_hit, add_item
from support.paths import FIXTURES

FIXTURE = FIXTURES / "ruleset"


def _seed(tmp_path: Path) -> str:
    shutil.copytree(FIXTURE / "rules", tmp_path / "rules")
    (tmp_path / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'nb.db'}"
    engine = open_database(url)
    now = datetime.now(timezone.utc)
    day = now - timedelta(days=1)
    with engine.begin() as conn:
        # relevant by majority (2 of 3), and the current rules still hit it: a true positive
        a, _ = add_item(conn, "s", "Pushbacks near Greece, report", day)
        hit = add_hit(conn, a, "pushbacks", ["fx-pushback-near"], day)
        for user, vote in (("u1", 1), ("u2", 1), ("u3", -1)):
            record_vote(conn, hit, user, vote, now)
        # relevant, but the current rules no longer hit it (the hit came from an older rule): a miss
        b, _ = add_item(conn, "s", "Boats turned back at sea towards Turkey", day)
        record_vote(conn, add_hit(conn, b, "pushbacks", ["old-rule"], day), "u1", 1, now)
        # not relevant, and the rules still hit it: a false alarm on an item off-topic for detention;
        # its pushbacks hit has no vote, so pushbacks is not judged on it
        c, _ = add_item(conn, "s", "Refugee detained by police after a theft near Greece, pushback", day)
        record_vote(conn, add_hit(conn, c, "detention", ["fx-detention-en"], day), "u1", -1, now)
        add_hit(conn, c, "pushbacks", ["fx-pushback-near"], day)
        # a tie: left unjudged, so the item is not evaluated at all
        d, _ = add_item(conn, "s", "Asylum seekers in detention", day)
        hit = add_hit(conn, d, "detention", ["fx-detention-en"], day)
        record_vote(conn, hit, "u1", 1, now)
        record_vote(conn, hit, "u2", -1, now)
        # a theme since removed from rules/: dropped, and said so
        e, _ = add_item(conn, "s", "Something about an old theme", day)
        record_vote(conn, add_hit(conn, e, "retired-theme", ["gone"], day), "u1", 1, now)
        # outside --since 90d
        old = now - timedelta(days=120)
        f, _ = add_item(conn, "s", "Pushbacks near Croatia long ago", old)
        record_vote(conn, add_hit(conn, f, "pushbacks", ["fx-pushback-near"], old), "u1", 1, now)
    engine.dispose()
    return url


def test_votes_become_labels(tmp_path):
    url = _seed(tmp_path)
    engine = open_database(url)
    with engine.connect() as conn:
        judged = {(j.theme, j.relevant) for j in voted_judgements(conn)}
        labels = labelled_from_feedback(conn, datetime.now(timezone.utc) - timedelta(days=90))
        # a later source overrides an earlier one: the extension point for accepted reported misses
        accepted = labelled_from_feedback(conn, None, sources=(voted_judgements, lambda _c, _s: [
            Judgement(labels[2].item_id, "detention", True)]))
    engine.dispose()
    assert ("detention", None) in judged and ("pushbacks", True) in judged
    assert [(sorted(x.gold), sorted(x.judged)) for x in labels] == [
        (["pushbacks"], ["pushbacks"]), (["pushbacks"], ["pushbacks"]), ([], ["detention"]),
        (["retired-theme"], ["retired-theme"])]
    assert labels[0].item.title == "Pushbacks near Greece, report" and labels[0].item.language == "en"
    assert len(accepted) == 5 and accepted[2].gold == {"detention"}


def test_evaluate_from_feedback(tmp_path):
    url = _seed(tmp_path)

    def run(*args: str):  # noqa: ANN202
        return CliRunner().invoke(cli, ["--config-dir", str(tmp_path), "rules", "evaluate", "--from-feedback", *args],
                                  env={"DATABASE_URL": url})

    r = run("--format", "json", "--show", "all")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["items"] == 3 and out["source"] == "members' votes on hits of the last 90d"
    themes = {t["theme"]: t for t in out["themes"]}
    assert (themes["pushbacks"]["tp"], themes["pushbacks"]["fn"], themes["pushbacks"]["fp"]) == (1, 1, 0)
    assert (themes["detention"]["tp"], themes["detention"]["fp"]) == (0, 1)
    assert out["overall"]["off_topic"] == 1 and out["overall"]["alarms"] == 1
    assert [m["title"] for m in out["misses"]] == ["Boats turned back at sea towards Turkey"]
    assert [a["false_alarms"][0]["theme"] for a in out["false_alarms"]] == ["detention"]
    assert out["notes"] == ["ignored votes on themes no longer in rules/: retired-theme (1 items)"]

    text = run().output
    assert text.startswith("3 items (members' votes on hits of the last 90d): 2 on-topic, 1 off-topic")
    assert "note: ignored votes on themes no longer in rules/" in text
    # 150 days: the old relevant vote counts too (another true positive)
    wider = json.loads(run("--since", "150d", "--format", "json").stdout)
    assert wider["items"] == 4 and {t["theme"]: t["tp"] for t in wider["themes"]}["pushbacks"] == 2
    assert run("--since", "soon").exit_code == 2
