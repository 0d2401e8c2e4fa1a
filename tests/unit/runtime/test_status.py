"""bot.runtime.status: what the daemon reports about itself, without a running daemon."""

from __future__ import annotations

from datetime import datetime, timezone

from bot.errors import ConfigError, Problem
from bot.ingest.poll_results import SourceResult
from bot.runtime import status

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def test_health_reports_role_lock_and_channel():
    counters = status.Counters(poll_cycles=3)
    got = status.health(counters, role="all", leader=True, lock_held=False, config_error=None, telegram=False, now=NOW)
    assert got["poll_cycles"] == 3 and got["role"] == "all" and got["leader"] is True
    assert (got["lock"], got["telegram"], got["now"]) == ("lost", "console", "2026-11-23T09:00:00+00:00")


def test_a_rejected_configuration_names_ten_problems_and_counts_the_rest():
    problems = [Problem("sources.yaml", i, 1, f"problem {i}") for i in range(1, 13)]
    text = status.config_rejected(ConfigError(problems))
    assert "problem 10" in text and "problem 11" not in text
    assert "… and 2 more" in text and text.endswith("Fix it and run `newsbot check`.")


def test_failing_sources_are_one_warning_line(caplog):
    results = [SourceResult(f"s{i}", "failed", error_kind="timeout") for i in range(12)]
    results.append(SourceResult("fine", "changed"))
    with caplog.at_level("WARNING", logger="bot.runtime.daemon"):
        status.log_failing_sources(results)
    [line] = [r.getMessage() for r in caplog.records]
    assert "s0 (timeout)" in line and "s9 (timeout)" in line and "s10" not in line and "and 2 more" in line
    assert "fine" not in line
