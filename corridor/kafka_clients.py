"""confluent-kafka clients built from a :class:`Connection`, with librdkafka's logs tamed.

librdkafka logs to stderr by default, which prints one line per refused connection
while a broker starts. Here its log lines go through Python logging under
``corridor.kafka``, where the application decides what to show.
"""

from __future__ import annotations

import logging
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from corridor.connection import Connection

KAFKA_LOGGER = logging.getLogger("corridor.kafka")
SILENT_LOGGER = logging.getLogger("corridor.kafka.silent")
SILENT_LOGGER.addHandler(logging.NullHandler())
SILENT_LOGGER.propagate = False


def _settings(conn: Connection, overrides: dict[str, Any], *, quiet: bool) -> dict[str, Any]:
    return {
        **conn.librdkafka(),
        "logger": SILENT_LOGGER if quiet else KAFKA_LOGGER,
        **overrides,
    }


def admin_client(conn: Connection, *, quiet: bool = False, **overrides: Any) -> AdminClient:
    return AdminClient(_settings(conn, overrides, quiet=quiet))


def producer(conn: Connection, *, quiet: bool = False, **overrides: Any) -> Producer:
    """An idempotent producer waiting for all in-sync replicas (the platform default)."""
    base = {"enable.idempotence": True, "acks": "all", "linger.ms": 5}
    return Producer(_settings(conn, {**base, **overrides}, quiet=quiet))


def consumer(conn: Connection, group_id: str, *, quiet: bool = False, **overrides: Any) -> Consumer:
    base = {
        "group.id": group_id,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
    }
    return Consumer(_settings(conn, {**base, **overrides}, quiet=quiet))
