"""Noticing that the SQLite database file was deleted or replaced under a running process.

SQLite keeps writing to a file it has open after the file is unlinked: the daemon would go
on storing items no one can read, `/healthz` would say ok, and the next CLI command would
create a fresh empty database whose first poll treats every item as backlog. The file's
device and inode, taken at start, tell the running file from whatever is at the path now.

Owns: that comparison. Must not: decide what to do about it (the daemon stops, /healthz
reports it), or open the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine


@dataclass(frozen=True)
class DatabaseFile:
    path: Path
    device: int
    inode: int

    @classmethod
    def of(cls, engine: Engine) -> "DatabaseFile | None":
        """The file behind a SQLite engine, as it is now; None for PostgreSQL or in-memory."""
        if engine.dialect.name != "sqlite":
            return None
        name = engine.url.database
        if not name or name == ":memory:" or name.startswith("file:"):
            return None
        path = Path(name).absolute()
        try:
            st = path.stat()
        except OSError:
            return None
        return cls(path, st.st_dev, st.st_ino)

    def problem(self) -> str | None:
        """Why the file at the path is no longer the database in use, or None."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return f"the database file {self.path} was deleted while newsbot was running"
        except OSError as exc:
            return f"the database file {self.path} cannot be checked ({exc.strerror or exc})"
        if (st.st_dev, st.st_ino) != (self.device, self.inode):
            return f"the database file {self.path} was replaced by another file while newsbot was running"
        return None
