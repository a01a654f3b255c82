"""The consumer's own bookkeeping: receipts, quarantine and acknowledgements sent.

It holds routing metadata only (ids, corridors, reason codes), never a body, so it can
live beside the agency's keys whatever sink is configured, and ``corridor ack`` can
answer an alert that went to an http or jsonl sink. Records rejected from the delivery
topic are kept here with their raw bytes for investigation: the agency's principal
cannot write the dead-letter topic, and the bytes are exactly what was on Kafka.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from consumers.exceptions import InboxError
from consumers.sqlite_files import connect
from corridor.domain import Corridor

__all__ = ["ConsumerState", "QuarantinedRecord", "Receipt"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS receipts (
    alert_id TEXT PRIMARY KEY,
    issuer TEXT NOT NULL,
    corridor TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    key BLOB,
    value BLOB,
    quarantined_at TEXT NOT NULL,
    UNIQUE (topic, partition, offset)
);
CREATE TABLE IF NOT EXISTS sent_acks (
    ack_id TEXT PRIMARY KEY,
    alert_id TEXT NOT NULL,
    status TEXT NOT NULL,
    has_note INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sent_acks_alert ON sent_acks (alert_id);
"""


@dataclass(frozen=True, slots=True)
class Receipt:
    """An alert this agency received (opened or sealed for others): whom to answer."""

    alert_id: str
    issuer: str
    corridor: Corridor
    kind: str
    created_at: str
    received_at: str


@dataclass(frozen=True, slots=True)
class QuarantinedRecord:
    topic: str
    partition: int
    offset: int
    reason: str
    detail: str
    key: bytes | None
    value: bytes | None
    quarantined_at: str


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class ConsumerState:
    """One agency's state database (``consumer-state.sqlite``); one writer at a time."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path
        self._db = connect(path, _SCHEMA, create=create)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise InboxError(f"cannot write {self.path}: {exc}") from exc

    # -- receipts ---------------------------------------------------------------------

    def record_receipts(self, receipts: list[Receipt]) -> None:
        """Remember alerts received; an opened alert replaces a sealed-for-others one."""
        if not receipts:
            return
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO receipts VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (alert_id) DO UPDATE SET kind = excluded.kind, "
                "received_at = excluded.received_at "
                "WHERE receipts.kind != excluded.kind AND excluded.kind = 'alert'",
                [
                    (
                        r.alert_id,
                        r.issuer,
                        orjson.dumps(
                            [r.corridor.origin, r.corridor.destination, r.corridor.transit]
                        ).decode(),
                        r.kind,
                        r.created_at,
                        r.received_at,
                    )
                    for r in receipts
                ],
            )

    def receipt(self, alert_id: str) -> Receipt | None:
        row = self._db.execute("SELECT * FROM receipts WHERE alert_id = ?", (alert_id,)).fetchone()
        if row is None:
            return None
        origin, destination, transit = json.loads(row["corridor"])
        return Receipt(
            alert_id=row["alert_id"],
            issuer=row["issuer"],
            corridor=Corridor(origin, destination, tuple(transit)),
            kind=row["kind"],
            created_at=row["created_at"],
            received_at=row["received_at"],
        )

    # -- quarantine -------------------------------------------------------------------

    def quarantine(
        self,
        *,
        topic: str,
        partition: int,
        offset: int,
        reason: str,
        detail: str,
        key: bytes | None,
        value: bytes | None,
    ) -> bool:
        """Keep a rejected record; False when this offset was already quarantined."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO quarantine "
                "(topic, partition, offset, reason, detail, key, value, quarantined_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (topic, partition, offset, reason, detail, key, value, _now()),
            )
            return cursor.rowcount == 1

    def quarantined(self) -> list[QuarantinedRecord]:
        rows = self._db.execute(
            "SELECT topic, partition, offset, reason, detail, key, value, quarantined_at "
            "FROM quarantine ORDER BY id"
        ).fetchall()
        return [QuarantinedRecord(*row) for row in rows]

    # -- acknowledgements sent ------------------------------------------------------------

    def record_sent_ack(
        self, *, ack_id: str, alert_id: str, status: str, has_note: bool, created_at: str
    ) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO sent_acks VALUES (?, ?, ?, ?, ?)",
                (ack_id, alert_id, status, int(has_note), created_at),
            )

    def sent_acks(self, alert_id: str) -> list[tuple[str, str, str, bool]]:
        """(ack id, status, created_at, has note) of the answers sent to one alert."""
        rows = self._db.execute(
            "SELECT ack_id, status, created_at, has_note FROM sent_acks "
            "WHERE alert_id = ? ORDER BY created_at",
            (alert_id,),
        ).fetchall()
        return [(r[0], r[1], r[2], bool(r[3])) for r in rows]
