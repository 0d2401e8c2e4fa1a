"""The ranking formula (bot/stories/ranking.py, README "Stories, ranking and search"): each factor
moves the order the documented way, and the order is stable."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from bot.stories.ranking import (DIGEST_HALF_LIFE, EMAIL_HALF_LIFE, Rankable, best_rule_votes, factors,
                         rank, score, smoothed)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


def r(key, **kw):
    kw.setdefault("priority", "normal")
    kw.setdefault("sources", 1)
    kw.setdefault("when", NOW)
    return Rankable(key=key, **kw)


def test_neutral_hit_scores_two():
    assert score(r(1), NOW) == pytest.approx(2.0)


@pytest.mark.parametrize("better,worse,why", [
    (r(1, priority="high"), r(2, priority="normal"), "theme priority"),
    (r(1, priority="normal"), r(2, priority="low"), "theme priority"),
    (r(1, sources=3), r(2, sources=1), "more outlets reported it"),
    (r(1, weight=2.0), r(2, weight=1.0), "heavier source"),
    (r(1, when=NOW - timedelta(hours=2)), r(2, when=NOW - timedelta(hours=30)), "newer"),
    (r(1, votes_up=2), r(2), "voted relevant"),
    (r(1), r(2, votes_down=1), "voted not relevant"),
    (r(1, rule_up=8, rule_down=1), r(2, rule_up=1, rule_down=8), "precise rule"),
])
def test_each_factor_orders_as_documented(better, worse, why):
    assert [x.key for x in rank([worse, better], NOW)] == [1, 2], why


def test_documented_magnitudes():
    f = factors(r(1, sources=2, when=NOW - DIGEST_HALF_LIFE, votes_down=1), NOW)
    assert f["coverage"] == pytest.approx(2.0)            # two sources double the story
    assert f["recency"] == pytest.approx(0.5)             # a half-life old weighs half
    assert f["feedback"] == pytest.approx(2 / 3)          # one "not relevant" vote
    assert score(r(1, sources=2, when=NOW - DIGEST_HALF_LIFE, votes_down=1), NOW) == pytest.approx(
        2.0 * 2.0 * 0.5 * (2 / 3))


def test_mixed_order_of_a_realistic_digest():
    entries = [
        r("old-high", priority="high", when=NOW - timedelta(hours=72)),      # 4 * 1/8 = 0.5
        r("fresh-low", priority="low", when=NOW),                             # 1
        r("wide-normal", sources=4, when=NOW - timedelta(hours=24)),         # 2 * 3 * 0.5 = 3
        r("fresh-normal-noisy", when=NOW, votes_down=3),                      # 2 * 0.4 = 0.8
        r("fresh-high", priority="high", when=NOW - timedelta(hours=1)),     # ~3.78
    ]
    assert [x.key for x in rank(entries, NOW)] == [
        "fresh-high", "wide-normal", "fresh-low", "fresh-normal-noisy", "old-high"]


def test_email_half_life_keeps_the_week_in_view():
    older_wider = r(1, sources=4, when=NOW - timedelta(days=3))
    fresh_single = r(2, when=NOW)
    # In a daily digest freshness wins; over the week the story more outlets covered does.
    assert [x.key for x in rank([older_wider, fresh_single], NOW, DIGEST_HALF_LIFE)] == [2, 1]
    assert [x.key for x in rank([older_wider, fresh_single], NOW, EMAIL_HALF_LIFE)] == [1, 2]


def test_future_dates_count_as_now_and_ties_are_stable():
    assert score(r(1, when=NOW + timedelta(hours=5)), NOW) == pytest.approx(2.0)
    a, b = r(5), r(9)
    assert [x.key for x in rank([a, b], NOW)] == [9, 5] == [x.key for x in rank([b, a], NOW)]


def test_smoothed_and_best_rule():
    assert smoothed(0, 0) == 0.5
    assert math.isclose(smoothed(3, 1), 4 / 6)
    votes = {"noisy": (0, 5), "good": (4, 0)}
    assert best_rule_votes(["noisy", "good"], votes) == (4, 0)
    assert best_rule_votes(["noisy", "unvoted"], votes) == (0, 0)
    assert best_rule_votes([], votes) == (0, 0)
