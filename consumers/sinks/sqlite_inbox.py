"""The default sink: a durable SQLite inbox, keyed by alert id.

Each batch is one transaction, committed (WAL, ``synchronous=FULL``) before the
subscriber commits its Kafka offsets, so an alert is in the inbox exactly once whatever
is killed when: a redelivered alert finds its row and counts as a duplicate. An alert
first recorded as sealed for other agencies is completed in place when it arrives
sealed for this one. Acknowledgements, link notices and escalations have tables of
their own, keyed by their ids. ``corridor inbox`` reads the same file.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from consumers.documents import Delivery, DeliveryKind, iso, to_json_bytes
from consumers.exceptions import SinkError
from consumers.sinks.base import Outcome
from consumers.sqlite_files import connect

__all__ = ["InboxAlert", "SqliteInbox"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    alert_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    issuer TEXT NOT NULL,
    corridor TEXT NOT NULL,
    alert_type TEXT NOT NULL,
    priority TEXT NOT NULL,
    created_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    times_received INTEGER NOT NULL DEFAULT 1,
    document TEXT NOT NULL,
    body BLOB
);
CREATE TABLE IF NOT EXISTS acknowledgements (
    ack_id TEXT PRIMARY KEY,
    alert_id TEXT NOT NULL,
    from_agency TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    document TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS acknowledgements_alert ON acknowledgements (alert_id);
CREATE TABLE IF NOT EXISTS link_notices (
    link_id TEXT PRIMARY KEY,
    alert_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS escalations (
    escalation_id TEXT PRIMARY KEY,
    alert_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    document TEXT NOT NULL
);
"""

_OTHER_TABLES = {
    DeliveryKind.ACKNOWLEDGEMENT: ("acknowledgements", "ack_id"),
    DeliveryKind.LINK_NOTICE: ("link_notices", "link_id"),
    DeliveryKind.ESCALATION: ("escalations", "escalation_id"),
}


@dataclass(frozen=True, slots=True)
class InboxAlert:
    """One alert row; ``body`` is None when it was sealed for other agencies only."""

    alert_id: str
    kind: str
    issuer: str
    corridor: str
    alert_type: str
    priority: str
    created_at: str
    received_at: str
    times_received: int
    document: dict[str, Any]
    body: bytes | None


def _json(document: dict[str, Any]) -> str:
    return to_json_bytes(document).decode("utf-8")


class SqliteInbox:
    """The inbox file: a sink for the subscriber, a reader for ``corridor inbox``."""

    name = "sqlite"

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path
        self._db = connect(path, _SCHEMA, create=create)

    # -- sink ----------------------------------------------------------------------

    def deliver(self, items: Sequence[Delivery]) -> list[Outcome]:
        received_at = iso(datetime.now(UTC))
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                outcomes = [self._put(item, received_at) for item in items]
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise SinkError(f"the inbox {self.path} could not take the batch: {exc}") from exc
        return outcomes

    def _put(self, item: Delivery, received_at: str) -> Outcome:
        if item.kind in (DeliveryKind.ALERT, DeliveryKind.SEALED_FOR_OTHERS):
            return self._put_alert(item, received_at)
        table, id_column = _OTHER_TABLES[item.kind]
        doc = item.document
        if item.kind is DeliveryKind.ACKNOWLEDGEMENT:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO acknowledgements VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    item.event_id,
                    item.alert_id,
                    doc["from_agency"],
                    doc["status"],
                    iso(item.occurred_at),
                    received_at,
                    _json(doc),
                ),
            )
        else:
            cursor = self._db.execute(
                f"INSERT OR IGNORE INTO {table} ({id_column}, alert_id, created_at, "  # noqa: S608 - fixed names
                "received_at, document) VALUES (?, ?, ?, ?, ?)",
                (item.event_id, item.alert_id, iso(item.occurred_at), received_at, _json(doc)),
            )
        return Outcome.DELIVERED if cursor.rowcount == 1 else Outcome.DUPLICATE

    def _put_alert(self, item: Delivery, received_at: str) -> Outcome:
        row = self._db.execute(
            "SELECT kind FROM alerts WHERE alert_id = ?", (item.alert_id,)
        ).fetchone()
        if row is not None and not (
            row["kind"] == DeliveryKind.SEALED_FOR_OTHERS and item.kind is DeliveryKind.ALERT
        ):
            self._db.execute(
                "UPDATE alerts SET times_received = times_received + 1 WHERE alert_id = ?",
                (item.alert_id,),
            )
            return Outcome.DUPLICATE
        meta = item.document["metadata"]
        self._db.execute(
            "INSERT INTO alerts (alert_id, kind, issuer, corridor, alert_type, priority, "
            "created_at, received_at, document, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (alert_id) DO UPDATE SET kind = excluded.kind, "
            "received_at = excluded.received_at, document = excluded.document, "
            "body = excluded.body, times_received = alerts.times_received + 1",
            (
                item.alert_id,
                item.kind.value,
                meta["issuer"],
                item.document["corridor"],
                meta["alert_type"],
                meta["priority"],
                iso(item.occurred_at),
                received_at,
                _json(item.document),
                item.body,
            ),
        )
        return Outcome.DELIVERED

    def maintain(self) -> None:
        return None

    def parked(self) -> int:
        return 0

    def close(self) -> None:
        self._db.close()

    # -- reading ---------------------------------------------------------------------

    def alerts(self) -> list[InboxAlert]:
        rows = self._db.execute("SELECT * FROM alerts ORDER BY received_at, alert_id").fetchall()
        return [self._alert(row) for row in rows]

    def alert_ids(self) -> set[str]:
        """Ids of every alert held, opened or not (cheap: no documents are read)."""
        return {row[0] for row in self._db.execute("SELECT alert_id FROM alerts")}

    def alert(self, alert_id: str) -> InboxAlert | None:
        row = self._db.execute("SELECT * FROM alerts WHERE alert_id = ?", (alert_id,)).fetchone()
        return None if row is None else self._alert(row)

    def count(self, kind: DeliveryKind | None = None) -> int:
        if kind is None:
            return int(self._db.execute("SELECT count(*) FROM alerts").fetchone()[0])
        if kind in _OTHER_TABLES:
            table = _OTHER_TABLES[kind][0]
            query = f"SELECT count(*) FROM {table}"  # noqa: S608 - fixed names
            return int(self._db.execute(query).fetchone()[0])
        row = self._db.execute("SELECT count(*) FROM alerts WHERE kind = ?", (kind.value,))
        return int(row.fetchone()[0])

    def documents(self, kind: DeliveryKind, alert_id: str | None = None) -> list[dict[str, Any]]:
        """Acknowledgements, link notices or escalations received, oldest first."""
        table = _OTHER_TABLES[kind][0]
        query = f"SELECT document FROM {table}"  # noqa: S608 - fixed names
        args: tuple[str, ...] = ()
        if alert_id is not None:
            query += " WHERE alert_id = ?"
            args = (alert_id,)
        rows = self._db.execute(query + " ORDER BY created_at", args).fetchall()
        return [json.loads(row[0]) for row in rows]

    @staticmethod
    def _alert(row: sqlite3.Row) -> InboxAlert:
        return InboxAlert(
            alert_id=row["alert_id"],
            kind=row["kind"],
            issuer=row["issuer"],
            corridor=row["corridor"],
            alert_type=row["alert_type"],
            priority=row["priority"],
            created_at=row["created_at"],
            received_at=row["received_at"],
            times_received=row["times_received"],
            document=json.loads(row["document"]),
            body=row["body"],
        )
