"""Live reload of sources.yaml, rules/ and deliveries.yaml, keeping the last good configuration.

Polling, not inotify: a stat of a handful of files every few seconds costs nothing, works
on every filesystem (NFS, bind mounts, editors that replace files) and needs no extra
dependency. A changed stat only leads to a content hash; a changed hash leads to a full
load and validation of all three (rules compiled too). A broken edit is logged with
every problem and reported once per distinct broken content through `on_error`; the
running configuration is untouched until a valid one appears.

Reloading never re-matches stored items: themes apply to items stored after the change,
so editing a theme does not re-alert old items.

Owns: change detection (the snapshot itself is `bot.config.snapshot`'s). Must not: apply the snapshot (the
daemon does), print or exit. Secrets and the environment are read at start only.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from bot.config.snapshot import ConfigSnapshot, content_digest, load_config, watched_files
from bot.errors import ConfigError

log = logging.getLogger(__name__)

# Re-exported: the snapshot is the config layer's (bot.config.snapshot); callers import it here too.
__all__ = ["ConfigSnapshot", "ConfigWatcher", "content_digest", "describe_change", "load_config", "watched_files"]


def _stat_key(config_dir: Path) -> tuple[tuple[object, ...], ...]:
    key: list[tuple[object, ...]] = []
    for path in watched_files(config_dir):
        try:
            st = path.stat()
            key.append((str(path), st.st_mtime_ns, st.st_size, st.st_ino))
        except OSError:
            key.append((str(path), None))
    return tuple(key)


class ConfigWatcher:
    """Call `check()` every few seconds; it returns a new snapshot only after a valid change."""

    def __init__(self, config_dir: Path, current: ConfigSnapshot, *,
                 on_error: Callable[[ConfigError], None] | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.config_dir = config_dir
        self.current = current
        self.on_error = on_error
        self.clock = clock
        self.last_error: str | None = None
        self.last_error_at: datetime | None = None
        self._stat = _stat_key(config_dir)
        self._bad_digest: str | None = None

    def check(self) -> ConfigSnapshot | None:
        stat = _stat_key(self.config_dir)
        if stat == self._stat:
            return None
        self._stat = stat
        digest = content_digest(self.config_dir)
        if digest == self.current.digest:
            if self.last_error:
                log.info("configuration is back to the running version")
            self._bad_digest, self.last_error = None, None
            return None
        if digest == self._bad_digest:
            return None
        try:
            snapshot = load_config(self.config_dir, self.clock())
        except ConfigError as exc:
            self._bad_digest = digest
            self.last_error = str(exc)
            self.last_error_at = self.clock()
            log.error("configuration change rejected, keeping the last good configuration: %d problem(s)",
                      len(exc.problems))
            for problem in exc.problems:
                log.error("config problem: %s", problem)
            if self.on_error is not None:
                try:
                    self.on_error(exc)
                except Exception:  # noqa: BLE001  (a failing notification must not stop the watcher)
                    log.exception("could not report the configuration problem to the admins")
            return None
        except Exception as exc:  # noqa: BLE001  (an unexpected loader bug must not kill the daemon)
            self._bad_digest = digest
            self.last_error = f"{exc.__class__.__name__}: {exc}"
            log.exception("configuration reload failed; still running the last good configuration")
            return None
        old = self.current
        self.current, self._bad_digest, self.last_error = snapshot, None, None
        log.info("configuration reloaded: %s", describe_change(old, snapshot))
        return snapshot


def describe_change(old: ConfigSnapshot, new: ConfigSnapshot) -> str:
    def source_ids(s: ConfigSnapshot) -> set[str]:
        return {src.id for src in s.sources.sources}

    def theme_slugs(s: ConfigSnapshot) -> set[str]:
        return {t.slug for t in s.themes.themes}

    parts = []
    for label, fn in (("sources", source_ids), ("themes", theme_slugs)):
        before, after = fn(old), fn(new)
        parts.append(f"{label}={len(after)}")
        if after - before:
            parts.append(f"{label}_added={','.join(sorted(after - before))}")
        if before - after:
            parts.append(f"{label}_removed={','.join(sorted(before - after))}")
    parts.append(f"chats={len(new.deliveries.telegram.chats)}")
    return " ".join(parts)
