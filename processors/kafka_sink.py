"""The processors' output producer: librdkafka, buffered, flushed before every commit.

Deliveries, audit records, dead letters, notices, sightings and the tables' changelog
records go through one idempotent confluent-kafka producer rather than faust's own,
because faust's per-message send path costs several times more than ``produce``.
At-least-once still holds because faust calls :meth:`KafkaSink.flush` (through
:class:`processors.app.FlushBeforeCommit`) before it computes and commits offsets: an offset is committed only once every record produced for the events
before it has been acknowledged by the brokers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message

from corridor.connection import Connection
from corridor.kafka_clients import producer
from corridor.logs import log_event
from processors.emitter import Headers
from processors.errors import ProcessorError

__all__ = ["KafkaSink"]

LOG = logging.getLogger("corridor.processor.sink")
#: Processed events per call to librdkafka's ``poll`` (see :meth:`KafkaSink.poll`).
POLL_EVERY = 64


class KafkaSink:
    """A :class:`processors.emitter.RecordSink` that writes to Kafka."""

    def __init__(self, conn: Connection, **overrides: Any) -> None:
        settings = {
            # Only failures call back: one Python call per record would cost throughput.
            "delivery.report.only.error": True,
            "linger.ms": 5,
            # Kafka's own partitioner, as every Corridor writer uses: one corridor key
            # lands on the same partition number whichever client writes it.
            "partitioner": "murmur2_random",
            "on_delivery": self._on_delivery,
            **overrides,
        }
        self._producer = producer(conn, **settings)
        self._failures: list[str] = []
        self._unpolled = 0

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self._failures.append(f"{msg.topic()}: {err.str()}")

    def send(
        self, topic: str, key: bytes | None, value: bytes, headers: Headers | None = None
    ) -> None:
        while True:
            try:
                self._producer.produce(topic, value, key, headers=_headers(headers))
                return
            except BufferError:
                # The local queue is full: let librdkafka drain it, then retry.
                self._producer.poll(0.05)

    def send_to(self, topic: str, partition: int, key: bytes, value: bytes | None) -> None:
        """A record for one given partition (a table's changelog); ``None`` deletes."""
        while True:
            try:
                self._producer.produce(topic, value, key, partition=partition)
                return
            except BufferError:
                self._producer.poll(0.05)

    def know(self, topics: Iterable[str], timeout: float = 5.0) -> None:
        """Fetch the leaders of ``topics`` now, while nothing waits on them: a first
        record to a topic librdkafka has not seen waits for its metadata, and a flush
        behind it (at a commit, with the event loop waiting) waits as long."""
        for topic in topics:
            try:
                self._producer.list_topics(topic, timeout=timeout)
            except KafkaException as exc:
                log_event(
                    LOG, "topic_metadata_failed", level=logging.WARNING, topic=topic, error=str(exc)
                )

    def poll(self) -> None:
        """Serve delivery reports; call once per processed event. Only every
        ``POLL_EVERY`` calls reach librdkafka: reports come only for failures, and
        :meth:`flush` serves them all before any commit anyway."""
        self._unpolled += 1
        if self._unpolled >= POLL_EVERY:
            self._unpolled = 0
            self._producer.poll(0)

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every record sent so far is acknowledged; raise if any failed."""
        remaining = self._producer.flush(timeout)
        if self._failures or remaining:
            failures, self._failures = self._failures, []
            detail = failures[0] if failures else f"{remaining} records unacknowledged"
            log_event(
                LOG,
                "outputs_failed",
                level=logging.ERROR,
                failed=len(failures),
                unacknowledged=remaining,
            )
            raise ProcessorError(
                f"output records were not written ({detail}); offsets are not committed",
                retriable=True,
            )


def _headers(headers: Headers | None) -> list[tuple[str, str | bytes | None]] | None:
    return list(headers) if headers else None
