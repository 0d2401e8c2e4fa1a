"""What one poll cycle reports: per source (`SourceResult`) and in all (`PollSummary`).

Plain data, shared by bot.ingest.pipeline (which fills them), the CLI and the daemon's metrics.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from bot.errors import FailureKind

# What polling one source came to: new or changed items, nothing new, or a failure.
PollOutcome = Literal["changed", "unchanged", "failed"]
# Why a poll failed: the source (bot.errors.FAILURE_KINDS), or a bug of ours ("internal").
ErrorKind = FailureKind | Literal["internal"]


@dataclass
class SourceResult:
    source_id: str
    outcome: PollOutcome
    new_items: int = 0
    hits: int = 0
    queued: int = 0
    backlog: bool = False
    error_kind: ErrorKind | None = None
    error: str | None = None
    next_poll_at: datetime | None = None
    elapsed: float = 0.0


@dataclass
class PollSummary:
    polled: int = 0
    new_items: int = 0
    hits: int = 0
    queued: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    results: list[SourceResult] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    @property
    def changed(self) -> int:
        return sum(1 for r in self.results if r.outcome == "changed")

    @property
    def unchanged(self) -> int:
        return sum(1 for r in self.results if r.outcome == "unchanged")

    def to_dict(self) -> dict[str, Any]:
        return {"polled": self.polled, "changed": self.changed, "unchanged": self.unchanged,
                "new_items": self.new_items, "hits": self.hits, "queued": self.queued,
                "failed": self.failed, "failures": dict(self.failures), "elapsed": round(self.elapsed, 3),
                "sources": [asdict(r) for r in self.results]}
