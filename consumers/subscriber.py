"""The consume loop: read a batch, verify and open, hand to the sink, acknowledge, commit.

The order inside a batch is what makes delivery exactly-once in the inbox and
at-least-once everywhere else: the sink confirms (durably) first, then the
``RECEIVED`` acknowledgements are flushed to the broker, and only then are the offsets
committed. A crash anywhere before the commit means the batch is read again, the sink
recognises what it already has, and the same acknowledgements are sent again. When the
sink or the broker fails, the batch is rewound and retried; a record that cannot be
verified or opened is quarantined and its offset committed, so one bad record never
blocks the agency's stream.

``stop`` is checked between batches: SIGTERM finishes the batch in hand, commits it,
leaves the group and returns.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from consumers.acknowledger import AckSender
from consumers.documents import Delivery, DeliveryKind, iso
from consumers.exceptions import AckSendError, InboxError, SinkError
from consumers.handling import DeliveryHandler, Rejection, SourceRecord
from consumers.sinks.base import Outcome, Sink, SinkObserver
from consumers.state import ConsumerState, Receipt
from corridor.domain import Corridor
from corridor.logs import log_event
from corridor.metrics import Children, ConsumerMetrics

__all__ = ["Confirmed", "MetricsObserver", "Subscriber", "SubscriberStats", "commit_outcome"]

LOG = logging.getLogger("corridor.consumer")
#: Called with each batch the sink has just confirmed, for an embedding application.
Confirmed = Callable[[Sequence[Delivery], Sequence[Outcome]], None]


@dataclass
class SubscriberStats:
    batches: int = 0
    delivered: int = 0
    duplicates: int = 0
    parked: int = 0
    quarantined: int = 0
    acks_sent: int = 0
    retries: int = 0


class MetricsObserver(SinkObserver):
    """Feeds a sink's retries, parked count and late deliveries into the metrics."""

    def __init__(self, metrics: ConsumerMetrics, agency_id: str, sink_name: str) -> None:
        self._metrics = metrics
        self._labels = (agency_id, sink_name)

    def retried(self) -> None:
        self._metrics.retries.labels(*self._labels).inc()

    def parked_now(self, count: int) -> None:
        self._metrics.parked.labels(*self._labels).set(count)

    def delivered_later(self, latency_seconds: float) -> None:
        self._metrics.deliveries.labels(*self._labels, Outcome.DELIVERED.value).inc()
        self._metrics.delivery_latency.labels(*self._labels).observe(latency_seconds)


def _corridor(document: dict[str, object]) -> Corridor:
    meta = document["metadata"]
    assert isinstance(meta, dict)
    record = meta["corridor"]
    return Corridor(record["origin"], record["destination"], tuple(record["transit"]))


def _headers(msg: Message) -> tuple[tuple[str, bytes | None], ...]:
    raw = msg.headers() or []
    items = list(raw.items()) if isinstance(raw, dict) else list(raw)
    return tuple(
        (str(key), value.encode() if isinstance(value, str) else value) for key, value in items
    )


class Subscriber:
    def __init__(
        self,
        *,
        consumer: Consumer,
        topic: str,
        agency_id: str,
        handler: DeliveryHandler,
        sink: Sink,
        acks: AckSender,
        state: ConsumerState,
        metrics: ConsumerMetrics,
        stop: threading.Event,
        batch_size: int = 500,
        poll_timeout: float = 0.5,
        from_beginning: bool = False,
        retry_pause: float = 1.0,
        on_confirmed: Confirmed | None = None,
    ) -> None:
        self._consumer = consumer
        self._topic = topic
        self._agency_id = agency_id
        self._handler = handler
        self._sink = sink
        self._acks = acks
        self._state = state
        self._metrics = metrics
        self._deliveries = Children(metrics.deliveries)
        self._delivery_latency = Children(metrics.delivery_latency)
        self._stop = stop
        self._batch_size = batch_size
        self._poll_timeout = poll_timeout
        self._from_beginning = from_beginning
        self._rewound: set[int] = set()
        #: Next offset to read per partition, once delivered (what ``run`` commits last).
        self._delivered_to: dict[int, int] = {}
        self._retry_pause = retry_pause
        self._on_confirmed = on_confirmed
        self.stats = SubscriberStats()

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if self._from_beginning:
            for tp in partitions:
                if tp.partition not in self._rewound:
                    tp.offset = OFFSET_BEGINNING
                    self._rewound.add(tp.partition)
        consumer.assign(partitions)
        log_event(LOG, "partitions_assigned", topic=self._topic, count=len(partitions))

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Hand the partitions over at what was delivered (waited for), so their next
        owner starts there."""
        revoked = {tp.partition for tp in partitions}
        self._commit_delivered(revoked)
        self._forget(revoked)
        log_event(LOG, "partitions_revoked", topic=self._topic, count=len(partitions))

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Partitions taken away (a session that expired): another member may already
        own them, so nothing is committed for them."""
        self._forget({tp.partition for tp in partitions})
        log_event(LOG, "partitions_lost", level=logging.WARNING, topic=self._topic)

    def _forget(self, partitions: set[int]) -> None:
        for partition in partitions:
            self._delivered_to.pop(partition, None)

    def run(self) -> SubscriberStats:
        """Consume until ``stop`` is set; the batch in hand is finished and committed."""
        self._consumer.subscribe(
            [self._topic],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        log_event(LOG, "consumer_started", agency=self._agency_id, sink=self._sink.name)
        try:
            while not self._stop.is_set():
                self._sink.maintain()
                messages = self._next_batch()
                if messages:
                    self._process(messages)
            self._commit_delivered()
        finally:
            self._consumer.close()
        log_event(
            LOG,
            "consumer_stopped",
            agency=self._agency_id,
            delivered=self.stats.delivered,
            duplicates=self.stats.duplicates,
            parked=self.stats.parked,
            quarantined=self.stats.quarantined,
        )
        return self.stats

    def _next_batch(self) -> list[Message]:
        """Whatever has arrived, up to a batch, as soon as there is anything.

        ``consume(n, timeout)`` waits for all ``n`` or the whole timeout, which would
        hold a lone alert back; so wait for one, then take what is already fetched.
        """
        first = self._consumer.consume(1, self._poll_timeout)
        if not first or self._batch_size == 1:
            return list(first)
        return [*first, *self._consumer.consume(self._batch_size - 1, 0)]

    # -- one batch ---------------------------------------------------------------------

    def _process(self, messages: Sequence[Message]) -> None:
        self.stats.batches += 1
        try:
            self._deliver(messages)
        except InboxError as exc:  # the local state file: disk full, locked...
            self._retry_later(messages, "state_failed", str(exc))

    def _deliver(self, messages: Sequence[Message]) -> None:
        accepted: list[Delivery] = []
        for msg in messages:
            error = msg.error()
            if error is not None:
                log_event(LOG, "consume_error", level=logging.WARNING, error=error.str())
                continue
            source = SourceRecord(
                msg.topic() or self._topic,
                msg.partition() or 0,
                msg.offset() or 0,
                _headers(msg),
            )
            result = self._handle(msg, source)
            if isinstance(result, Rejection):
                self._quarantine(msg, source, result)
            else:
                accepted.append(result)
        try:
            outcomes = self._sink.deliver(accepted) if accepted else []
        except SinkError as exc:
            if not exc.retriable:
                raise
            self._retry_later(messages, "sink_failed", str(exc))
            return
        if self._on_confirmed is not None:
            self._on_confirmed(accepted, outcomes)
        self._confirmed(accepted, outcomes)
        try:
            self.stats.acks_sent += len(self._acks.flush())
        except AckSendError as exc:
            self._retry_later(messages, "acks_failed", str(exc))
            return
        self._commit(messages)

    def _handle(self, msg: Message, source: SourceRecord) -> Delivery | Rejection:
        try:
            return self._handler.handle(msg.value(), source)
        except Exception as exc:  # a bug must not stop the agency's stream: quarantine
            LOG.exception("handler_failed")
            return Rejection("INTERNAL_ERROR", type(exc).__name__)

    def _quarantine(self, msg: Message, source: SourceRecord, rejection: Rejection) -> None:
        new = self._state.quarantine(
            topic=source.topic,
            partition=source.partition,
            offset=source.offset,
            reason=rejection.reason,
            detail=rejection.detail,
            key=msg.key(),
            value=msg.value(),
        )
        if new:
            self.stats.quarantined += 1
            self._metrics.quarantined.labels(self._agency_id, rejection.reason).inc()
        log_event(
            LOG,
            "delivery_quarantined",
            level=logging.WARNING,
            agency=self._agency_id,
            topic=source.topic,
            partition=source.partition,
            offset=source.offset,
            reason=rejection.reason,
            detail=rejection.detail,
        )

    def _confirmed(self, deliveries: Sequence[Delivery], outcomes: Sequence[Outcome]) -> None:
        now = datetime.now(UTC)
        sink = self._sink.name
        receipts: list[Receipt] = []
        for delivery, outcome in zip(deliveries, outcomes, strict=True):
            self._deliveries(self._agency_id, sink, outcome.value).inc()
            if outcome is Outcome.DELIVERED:
                self.stats.delivered += 1
            elif outcome is Outcome.DUPLICATE:
                self.stats.duplicates += 1
            else:
                self.stats.parked += 1
            if delivery.kind not in (DeliveryKind.ALERT, DeliveryKind.SEALED_FOR_OTHERS):
                log_event(LOG, "event_delivered", kind=delivery.kind.value, outcome=outcome.value)
                continue
            issuer = str(delivery.document["issuer"])
            corridor = _corridor(delivery.document)
            receipts.append(
                Receipt(
                    delivery.alert_id,
                    issuer,
                    corridor,
                    delivery.kind.value,
                    iso(delivery.occurred_at),
                    iso(now),
                )
            )
            if delivery.kind is DeliveryKind.ALERT:
                if outcome is Outcome.DELIVERED:
                    latency = max(0.0, (now - delivery.occurred_at).total_seconds())
                    self._delivery_latency(self._agency_id, sink).observe(latency)
                self._acks.received(delivery.alert_id, corridor, issuer)
            log_event(
                LOG,
                "alert_delivered"
                if delivery.kind is DeliveryKind.ALERT
                else "alert_sealed_for_others",
                alert_id=delivery.alert_id,
                corridor=corridor.key,
                issuer=issuer,
                sink=sink,
                outcome=outcome.value,
            )
        self._state.record_receipts(receipts)

    def _retry_later(self, messages: Sequence[Message], event: str, detail: str) -> None:
        """Rewind to the batch's first offsets, pause, and let the loop read it again."""
        self.stats.retries += 1
        log_event(LOG, event, level=logging.WARNING, error=detail)
        first: dict[int, int] = {}
        for msg in messages:
            if msg.error() is None:
                partition, offset = msg.partition() or 0, msg.offset() or 0
                first[partition] = min(offset, first.get(partition, offset))
        for partition, offset in first.items():
            # A partition no longer ours after a rebalance: its new owner reads it.
            with contextlib.suppress(KafkaException):
                self._consumer.seek(TopicPartition(self._topic, partition, offset))
        self._stop.wait(self._retry_pause)

    def _commit(self, messages: Sequence[Message]) -> None:
        """Commit past the batch without waiting for the coordinator's answer.

        Everything the commit protects is already done (sink confirmed, acknowledgements
        on the broker), and librdkafka sends commits in order, so waiting would only
        hold the next batch back by a round trip. A commit that fails (partitions lost
        in a rebalance) is logged by :func:`commit_outcome`: whoever reads the batch
        again finds it in the sink. ``run`` commits what was delivered synchronously
        before it closes the consumer.
        """
        last: dict[int, int] = {}
        for msg in messages:
            if msg.error() is None:
                partition = msg.partition() or 0
                last[partition] = max(msg.offset() or 0, last.get(partition, -1))
        offsets = [TopicPartition(self._topic, p, o + 1) for p, o in last.items()]
        if not offsets:
            return
        self._delivered_to.update((tp.partition, tp.offset) for tp in offsets)
        try:
            self._consumer.commit(offsets=offsets, asynchronous=True)
        except KafkaException as exc:
            log_event(LOG, "commit_failed", level=logging.WARNING, error=str(exc))

    def _commit_delivered(self, partitions: set[int] | None = None) -> None:
        """Commit what was delivered on ``partitions`` (default: all still ours) and wait
        for it: before a stop, and before partitions are handed over."""
        offsets = [
            TopicPartition(self._topic, p, o)
            for p, o in self._delivered_to.items()
            if partitions is None or p in partitions
        ]
        if not offsets:
            return
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            # Partitions no longer ours: their new owner reads from the last commit.
            log_event(LOG, "commit_failed", level=logging.WARNING, error=str(exc))


def commit_outcome(err: KafkaError | None, partitions: list[TopicPartition]) -> None:
    """librdkafka's ``on_commit``: log a commit that did not land (nothing is lost; the
    batch is read again and the sink recognises it)."""
    failed = [tp for tp in partitions if tp.error is not None]
    if err is None and not failed:
        return
    error = err if err is not None else failed[0].error
    detail = error.str() if error is not None else "unknown"
    log_event(LOG, "commit_failed", level=logging.WARNING, error=detail, partitions=len(partitions))
