"""The http sink's local store: deliveries waiting for the case system, and those done.

Parked deliveries leave in the order they came (``seq``), so a corridor's alerts reach
the case system in order even across an outage. The ``delivered`` table remembers what
the case system already confirmed, so an alert Kafka delivers again after a crash is
not posted twice. Parked payloads hold personal data: this file is part of the sink.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from consumers.exceptions import SinkError
from consumers.sqlite_files import connect

__all__ = ["ParkedDelivery", "RetryStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS parked (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    event TEXT NOT NULL,
    occurred_at REAL NOT NULL,
    payload BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    parked_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS delivered (
    idempotency_key TEXT PRIMARY KEY,
    delivered_at REAL NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class ParkedDelivery:
    seq: int
    idempotency_key: str
    event: str
    occurred_at: float
    payload: bytes
    attempts: int
    next_attempt_at: float


class RetryStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = connect(path, _SCHEMA)

    def _write(self, sql: str, args: tuple[object, ...]) -> int:
        try:
            return self._db.execute(sql, args).rowcount
        except sqlite3.Error as exc:
            raise SinkError(f"the retry store {self.path} cannot be written: {exc}") from exc

    def was_delivered(self, key: str) -> bool:
        query = "SELECT 1 FROM delivered WHERE idempotency_key = ?"
        return self._db.execute(query, (key,)).fetchone() is not None

    def is_parked(self, key: str) -> bool:
        query = "SELECT 1 FROM parked WHERE idempotency_key = ?"
        return self._db.execute(query, (key,)).fetchone() is not None

    def mark_delivered(self, key: str) -> None:
        self._write("INSERT OR IGNORE INTO delivered VALUES (?, ?)", (key, time.time()))

    def park(
        self, key: str, event: str, occurred_at: float, payload: bytes, *, attempts: int, due: float
    ) -> None:
        self._write(
            "INSERT OR IGNORE INTO parked (idempotency_key, event, occurred_at, payload, "
            "attempts, next_attempt_at, parked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key, event, occurred_at, payload, attempts, due, time.time()),
        )

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM parked").fetchone()[0])

    def head(self) -> ParkedDelivery | None:
        """The oldest parked delivery, the only one that may be tried next."""
        row = self._db.execute(
            "SELECT seq, idempotency_key, event, occurred_at, payload, attempts, "
            "next_attempt_at FROM parked ORDER BY seq LIMIT 1"
        ).fetchone()
        return None if row is None else ParkedDelivery(*row)

    def done(self, parked: ParkedDelivery) -> None:
        """Move a parked delivery to ``delivered`` in one transaction."""
        try:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute("DELETE FROM parked WHERE seq = ?", (parked.seq,))
                self._db.execute(
                    "INSERT OR IGNORE INTO delivered VALUES (?, ?)",
                    (parked.idempotency_key, time.time()),
                )
        except sqlite3.Error as exc:
            raise SinkError(f"the retry store {self.path} cannot be written: {exc}") from exc

    def postpone(self, parked: ParkedDelivery, due: float) -> None:
        self._write(
            "UPDATE parked SET attempts = attempts + 1, next_attempt_at = ? WHERE seq = ?",
            (due, parked.seq),
        )

    def close(self) -> None:
        self._db.close()
