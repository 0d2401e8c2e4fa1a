"""The exception hierarchy. Every error a user can cause carries a place and a hint;
the CLI turns them into `Error: ...` lines. Nothing here does I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args


class NewsbotError(Exception):
    """Base of every error newsbot raises on purpose."""

    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        if hint is not None:
            self.hint = hint


@dataclass(frozen=True)
class Problem:
    """One problem found in a configuration file, with its place."""

    file: str
    line: int | None
    col: int | None
    message: str

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}:{self.col or 1}: {self.message}"


class ConfigError(NewsbotError):
    """One or more problems in sources.yaml, rules/ or deliveries.yaml."""

    hint = "fix the file and run `newsbot check`"

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class RuleSyntaxError(NewsbotError):
    """A query that does not parse; `pos` is the 0-based offset in the query."""

    def __init__(self, message: str, pos: int):
        super().__init__(message)
        self.message = message
        self.pos = pos

    def in_columns(self) -> str:
        """The message for a query typed on one line: any other place in it as a column."""
        return self.message


# The user-facing kinds of source failure, in the order `sources health` lists them.
FailureKind = Literal[
    "network",      # DNS, connection refused/reset
    "timeout",
    "tls",
    "forbidden",    # 401/403
    "not-found",    # 404/410
    "rate-limited", # 429
    "server-error", # 5xx
    "http-error",   # any other non-2xx
    "too-large",
    "blocked",      # private address without NEWSBOT_ALLOW_PRIVATE_NETWORKS
    "not-a-feed",
    "parse-error",
]
FAILURE_KINDS: tuple[FailureKind, ...] = get_args(FailureKind)


class SourceFailure(NewsbotError):
    """A source could not be fetched or parsed: its `kind` (one of FAILURE_KINDS) and
    message; for an HTTP answer also its `status`, `retry_after` (seconds, from Retry-After)
    and the `url` that gave it (None when the failure had none of these)."""

    def __init__(self, kind: FailureKind, message: str, *, status: int | None = None,
                 retry_after: float | None = None, url: str | None = None):
        super().__init__(message)
        self.kind: FailureKind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.url = url



class DeliveryError(NewsbotError):
    """A send failed in a way the caller must record."""
