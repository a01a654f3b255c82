"""The processors' output producers: librdkafka, buffered, acknowledged before commits.

Deliveries, audit records, dead letters, notices, sightings and the tables' changelog
records go through confluent-kafka producers rather than faust's own, because faust's
per-message send path costs several times more than ``produce``. At-least-once still
holds because a commit's offsets are picked only after the records produced before
them were acknowledged (:mod:`processors.commit_barrier`): every record sent belongs to
an *epoch*, a commit closes the current one, and :meth:`KafkaSink.wait_delivered`
waits, without holding the event loop, until every record of the closed epochs has its
delivery report.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message

from corridor.connection import Connection
from corridor.kafka_clients import producer
from corridor.logs import log_event
from processors.emitter import Headers
from processors.errors import ProcessorError

__all__ = ["KafkaSink", "Outputs", "open_outputs"]

LOG = logging.getLogger("corridor.processor.sink")
#: Processed events per call to librdkafka's ``poll`` (see :meth:`KafkaSink.poll`).
POLL_EVERY = 64
#: How often :meth:`KafkaSink.wait_delivered` looks at the delivery reports.
WAIT_POLL_SECONDS = 0.002


class KafkaSink:
    """A :class:`processors.emitter.RecordSink` that writes to Kafka."""

    def __init__(
        self, conn: Connection, kafka: Mapping[str, str] | None = None, **overrides: Any
    ) -> None:
        """``kafka`` is the ``[kafka]`` section of the settings: librdkafka properties
        for every client. What at-least-once and the partition mapping rest on is set
        after it and cannot be overridden there."""
        settings = {
            "linger.ms": 5,
            **(kafka or {}),
            **overrides,
            # Kafka's own partitioner, as every Corridor writer uses: one corridor key
            # lands on the same partition number whichever client writes it.
            "partitioner": "murmur2_random",
            "enable.idempotence": True,
            "acks": "all",
            # Every record reports (to its epoch's counter): commits wait on them.
            "delivery.report.only.error": False,
        }
        self._producer = producer(conn, **settings)
        self._failures: list[str] = []
        self._unpolled = 0
        #: Records sent and not yet reported, per epoch; only epochs with some left.
        self._outstanding: dict[int, int] = {}
        self._epoch = 0
        self._report: Callable[[KafkaError | None, Message], None] = partial(self._delivered, 0)

    def _delivered(self, epoch: int, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self._failures.append(f"{msg.topic()}: {err.str()}")
        left = self._outstanding[epoch] - 1
        if left:
            self._outstanding[epoch] = left
        else:
            del self._outstanding[epoch]

    def _count(self) -> None:
        epoch = self._epoch
        self._outstanding[epoch] = self._outstanding.get(epoch, 0) + 1

    def send(
        self, topic: str, key: bytes | None, value: bytes, headers: Headers | None = None
    ) -> None:
        while True:
            try:
                self._producer.produce(
                    topic, value, key, headers=_headers(headers), on_delivery=self._report
                )
                self._count()
                return
            except BufferError:
                # The local queue is full: let librdkafka drain it, then retry.
                self._producer.poll(0.05)

    def send_to(self, topic: str, partition: int, key: bytes, value: bytes | None) -> None:
        """A record for one given partition (a table's changelog); ``None`` deletes."""
        while True:
            try:
                self._producer.produce(
                    topic, value, key, partition=partition, on_delivery=self._report
                )
                self._count()
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
        ``POLL_EVERY`` calls reach librdkafka: the reports only count down, and
        :meth:`wait_delivered` serves them itself when a commit waits on them."""
        self._unpolled += 1
        if self._unpolled >= POLL_EVERY:
            self._unpolled = 0
            self._producer.poll(0)

    def close_epoch(self) -> int:
        """End the current epoch and return it: records sent from now on belong to
        the next one. Call it before the offsets to commit are picked."""
        closed = self._epoch
        self._epoch = closed + 1
        self._report = partial(self._delivered, self._epoch)
        return closed

    def delivered(self, epoch: int) -> bool:
        """Whether every record of ``epoch`` and of the epochs before it has been
        acknowledged; raise if any of them failed."""
        self._producer.poll(0)
        self._raise_failures(0)
        return not self._outstanding or min(self._outstanding) > epoch

    async def wait_delivered(self, epoch: int, timeout: float = 30.0) -> None:
        """Wait, yielding to the event loop, until :meth:`delivered` is true."""
        deadline = time.monotonic() + timeout
        while not self.delivered(epoch):
            if time.monotonic() >= deadline:
                left = sum(n for e, n in self._outstanding.items() if e <= epoch)
                self._raise_failures(left, force=True)
            await asyncio.sleep(WAIT_POLL_SECONDS)

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every record sent so far is acknowledged; raise if any failed.
        Blocks: for shutdown and tests; commits use :meth:`wait_delivered`."""
        remaining = self._producer.flush(timeout)
        self._raise_failures(remaining)

    def _raise_failures(self, unacknowledged: int, *, force: bool = False) -> None:
        if not (self._failures or unacknowledged or force):
            return
        failures, self._failures = self._failures, []
        detail = failures[0] if failures else f"{unacknowledged} records unacknowledged"
        log_event(
            LOG,
            "outputs_failed",
            level=logging.ERROR,
            failed=len(failures),
            unacknowledged=unacknowledged,
        )
        raise ProcessorError(
            f"output records were not written ({detail}); offsets are not committed",
            retriable=True,
        )


@dataclass(frozen=True, slots=True)
class Outputs:
    """A worker's three producers, each on its own connection (a broker serves one
    request of a connection at a time, so a slow append on one never holds the
    others back):

    * ``deliveries``: what agencies wait for, at ``[kafka.producer]``'s ``linger.ms``;
    * ``trail``: audit records, dead letters and link records, gathered for
      ``processor.trail_linger_ms`` (decision 25): about six audit records per alert
      would otherwise cost the brokers most of a request each, since librdkafka sends
      one partition per request;
    * ``internal``: sightings and the tables' changelogs (decisions 13 and 16).
    """

    deliveries: KafkaSink
    trail: KafkaSink
    internal: KafkaSink

    @property
    def all(self) -> tuple[KafkaSink, KafkaSink, KafkaSink]:
        return (self.deliveries, self.trail, self.internal)

    def poll(self) -> None:
        """Serve delivery reports (see :meth:`KafkaSink.poll`); once per event."""
        self.deliveries.poll()
        self.trail.poll()
        self.internal.poll()


#: The longest ``processor.trail_linger_ms``: past a second, a commit would wait on it.
MAX_TRAIL_LINGER_MS = 1000


def open_outputs(conn: Connection, kafka: Mapping[str, str], *, trail_linger_ms: int) -> Outputs:
    """The three producers; ``kafka`` is the settings' producer properties."""
    if not 0 <= trail_linger_ms <= MAX_TRAIL_LINGER_MS:
        raise ProcessorError(
            f"processor.trail_linger_ms is {trail_linger_ms}; "
            f"it must be from 0 to {MAX_TRAIL_LINGER_MS}"
        )
    return Outputs(
        deliveries=KafkaSink(conn, kafka),
        trail=KafkaSink(conn, kafka, **{"linger.ms": trail_linger_ms}),
        internal=KafkaSink(conn, kafka),
    )


def _headers(headers: Headers | None) -> list[tuple[str, str | bytes | None]] | None:
    return list(headers) if headers else None
