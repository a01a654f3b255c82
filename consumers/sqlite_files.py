"""SQLite files of the consumer: created owner-only, durable on every commit.

The inbox holds personal data and the other files hold what an agency received, so a
file is created with mode 0600 before SQLite ever opens it, and its directory with
0700. WAL with ``synchronous=FULL`` makes each committed transaction survive a crash
or a SIGKILL, while a reader (``corridor inbox``) can look at the file as it grows.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from consumers.exceptions import InboxError

__all__ = ["connect"]


def _create_private(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def connect(path: Path, schema: str, *, create: bool = True) -> sqlite3.Connection:
    """Open (and, with ``create``, make) the database at ``path`` with ``schema`` applied."""
    if create:
        try:
            _create_private(path)
        except OSError as exc:
            raise InboxError(f"cannot create {path}: {exc.strerror}") from exc
    elif not path.exists():
        raise InboxError(f"{path} does not exist: nothing was received there yet")
    try:
        db = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(schema)
    except sqlite3.Error as exc:
        raise InboxError(f"cannot open {path}: {exc}") from exc
    db.row_factory = sqlite3.Row
    return db
