"""What the daemon says about itself: its /healthz status, the failing sources of a poll cycle (in
the log), and the admins' notice of a rejected configuration change.

Owns: the fields and wording of these reports. Must not: decide when to report (bot/runtime/duties.py
and the daemon do), send anything (it returns text; the sender notifies the admins), or read the
database (the /metrics figures are bot/runtime/ops_http.py's).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from bot.errors import ConfigError
    from bot.ingest.poll_results import SourceResult

log = logging.getLogger("bot.runtime.daemon")   # the daemon's own lines, under its name as before

SHOWN = 10   # failing sources (or config problems) named in one line before "and N more"


@dataclass
class Counters:
    """What the running daemon counts for its status."""

    started: float = field(default_factory=time.monotonic)
    poll_cycles: int = 0


def health(counters: Counters, *, role: str, leader: bool, lock_held: bool, config_error: str | None,
           telegram: bool, now: datetime) -> dict[str, object]:
    """The daemon's part of /healthz (bot/runtime/ops_http.py adds the database's)."""
    return {
        "uptime_seconds": round(time.monotonic() - counters.started, 1),
        "poll_cycles": counters.poll_cycles,
        "role": role,
        "leader": leader,
        "lock": "held" if lock_held else "lost",
        "config_error": config_error,
        "telegram": "on" if telegram else "console",
        "now": now.isoformat(timespec="seconds"),
    }


def log_failing_sources(results: Sequence[SourceResult]) -> None:
    """One warning line naming the sources of a cycle that failed, and why."""
    failed = [r for r in results if r.outcome == "failed"]
    if failed:
        shown = ", ".join(f"{r.source_id} ({r.error_kind})" for r in failed[:SHOWN])
        more = f" and {len(failed) - SHOWN} more" if len(failed) > SHOWN else ""
        log.warning("sources failing: %s%s; see `newsbot sources health`", shown, more)


def config_rejected(exc: ConfigError) -> str:
    """The admins' message when a configuration change was rejected (the last good one runs on)."""
    lines = [str(p) for p in exc.problems[:SHOWN]]
    more = f"\n… and {len(exc.problems) - SHOWN} more" if len(exc.problems) > SHOWN else ""
    return ("newsbot: a configuration change was rejected; the last good configuration keeps "
            "running.\n" + "\n".join(lines) + more + "\nFix it and run `newsbot check`.")
