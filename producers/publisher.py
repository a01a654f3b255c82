"""The publisher: check, seal and produce alerts, and report each delivery to the caller.

One idempotent producer (``acks=all``) per publisher, keyed by corridor so the alerts of
one corridor keep their order on one partition. ``publish`` returns once the alert is
checked, sealed and queued; the broker's answer is handed to the caller through the
returned future and the optional callback. While the caller keeps publishing, each
``publish`` call also serves the answers that have arrived; a background thread serves
them once it has stopped for a few milliseconds. (A thread serving every answer took
the interpreter lock from the publishing thread once per alert: 6-12% more CPU per
alert at full rate.) Callbacks therefore run on either thread. Alerts that fail a check
are refused in ``publish`` itself, before anything is queued.
``close`` waits (for a bounded time) until every queued alert is answered, so when it
returns each alert has either a delivery or an error.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from corridor.countries import COUNTRY_CODES
from corridor.domain import AlertType, Directory
from corridor.logs import log_event
from corridor.metrics import Children, ProducerMetrics
from corridor.topics import INBOUND
from producers.draft import AlertDraft
from producers.exceptions import (
    AlertRejectedError,
    BrokerUnreachableError,
    DeliveryError,
    ProducerError,
    PublisherClosedError,
)
from producers.prepare import CheckedAlert, PreparedAlert, Preparer

__all__ = [
    "UNKNOWN_LABEL",
    "Delivery",
    "DeliveryCallback",
    "DirectorySource",
    "Publisher",
    "alert_labels",
]

LOG = logging.getLogger("corridor.producers")
#: Label used for alerts refused before their corridor or type could be read.
UNKNOWN_LABEL = "unknown"
#: Seconds after the last ``publish`` call at which the background thread takes over
#: serving the broker's answers from the publishing thread.
HANDOVER_SECONDS = 0.005


class DirectorySource(Protocol):
    """Where the publisher gets the directory each alert is checked against."""

    def current(self) -> Directory: ...


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of one alert: where it landed, or the error that stopped it."""

    idempotency_key: str
    alert_id: str
    corridor: str
    alert_type: AlertType
    recipients: tuple[str, ...]
    partition: int | None = None
    offset: int | None = None
    error: ProducerError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


DeliveryCallback = Callable[[Delivery], None]


@dataclass(slots=True)
class _Pending:
    alert: PreparedAlert
    started: float
    future: Future[Delivery]
    callback: DeliveryCallback | None
    done: bool = False

    def delivery(self, **outcome: Any) -> Delivery:
        a = self.alert
        return Delivery(
            a.idempotency_key,
            a.alert_id,
            a.corridor,
            a.metadata.alert_type,
            a.recipients,
            **outcome,
        )


def alert_labels(alert: AlertDraft | Mapping[str, Any]) -> tuple[str, str]:
    """Bounded metric labels for a refused alert: its corridor and type if well-formed."""
    if isinstance(alert, AlertDraft):
        return alert.corridor.key, alert.alert_type.value
    corridor, kind = alert.get("corridor"), alert.get("alert_type")
    key = UNKNOWN_LABEL
    if isinstance(corridor, Mapping):
        origin, dest = corridor.get("origin"), corridor.get("destination")
        if origin in COUNTRY_CODES and dest in COUNTRY_CODES:
            key = f"{origin}>{dest}"
    known = kind if isinstance(kind, str) and kind in AlertType.__members__ else UNKNOWN_LABEL
    return key, known


class Publisher:
    """Publishes one agency's alerts to ``corridor.alerts.inbound``; a context manager.

    Build it with :func:`producers.open_publisher` from settings. ``producer`` None makes
    a dry-run publisher: alerts are checked and sealed but never sent, and their futures
    complete at once without a partition.
    """

    def __init__(
        self,
        *,
        preparer: Preparer,
        directory: DirectorySource,
        producer: Producer | None,
        metrics: ProducerMetrics,
        delivery_timeout: float,
        topic: str = INBOUND,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._preparer = preparer
        self._directory = directory
        self._producer = producer
        self._metrics = metrics
        self._published = Children(metrics.published)
        self._latency = Children(metrics.publish_latency)
        self._bytes_sent = Children(metrics.bytes_sent)
        self._timeout = delivery_timeout
        self._topic = topic
        self._on_close = on_close
        self._lock = threading.Lock()
        self._pending: dict[int, _Pending] = {}
        self._closing = threading.Event()
        self._closed = False
        self._last_publish = 0.0
        self._poller: threading.Thread | None = None
        if producer is not None:
            self._poller = threading.Thread(
                target=self._poll, name=f"publisher-{preparer.issuer}", daemon=True
            )
            self._poller.start()

    # -- public API ----------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        return self._preparer.issuer

    @property
    def dry_run(self) -> bool:
        return self._producer is None

    @property
    def in_flight(self) -> int:
        """Alerts queued or sent but not yet answered by the broker."""
        with self._lock:
            return len(self._pending)

    def check(self, alert: AlertDraft | Mapping[str, Any]) -> CheckedAlert:
        """Check ``alert`` as :meth:`publish` would, without sealing or sending it."""
        return self._preparer.check(alert, self._directory.current(), datetime.now(UTC))

    def publish(
        self,
        alert: AlertDraft | Mapping[str, Any],
        *,
        on_delivery: DeliveryCallback | None = None,
    ) -> Future[Delivery]:
        """Check, seal and queue ``alert``; the future holds the broker's answer.

        Raises :class:`AlertRejectedError` (nothing was sent) when the alert fails a check,
        :class:`BrokerUnreachableError` when the send queue stayed full for the whole
        delivery timeout, and :class:`PublisherClosedError` after ``close``. The future
        fails with :class:`DeliveryError` when the broker does not acknowledge the
        alert; ``on_delivery`` receives the :class:`Delivery` either way.
        """
        if self._closing.is_set():
            raise PublisherClosedError(f"the publisher of {self.issuer} is closed")
        started = time.perf_counter()
        try:
            prepared = self._preparer.prepare(alert, self._directory.current(), datetime.now(UTC))
        except AlertRejectedError as exc:
            corridor, kind = alert_labels(alert)
            self._published(corridor, kind, "invalid").inc()
            log_event(LOG, "alert_rejected", level=logging.DEBUG, code=exc.code.value)
            raise
        pending = _Pending(prepared, started, Future(), on_delivery)
        pending.future.set_running_or_notify_cancel()
        if self._producer is None:
            self._finish(pending, pending.delivery())
            return pending.future
        self._produce(self._producer, pending)
        self._producer.poll(0)  # answers that have arrived, served on this thread
        self._last_publish = time.monotonic()
        return pending.future

    def flush(self, timeout: float | None = None) -> int:
        """Wait until every queued alert is answered; returns how many are still open."""
        if self._producer is None:
            return 0
        remaining: int = self._producer.flush(self._timeout if timeout is None else timeout)
        return remaining

    def close(self, timeout: float | None = None) -> None:
        """Stop accepting alerts and wait for the open ones (default: the delivery
        timeout plus a margin); any still unanswered then fail with DeliveryError."""
        if self._closed:
            return
        self._closing.set()
        try:
            if self._producer is not None:
                self._drain(self._producer, self._timeout + 5.0 if timeout is None else timeout)
            if self._poller is not None:
                self._poller.join(timeout=5.0)
        finally:
            self._closed = True
            if self._on_close is not None:
                self._on_close()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- Kafka side ------------------------------------------------------------------------

    def _produce(self, producer: Producer, pending: _Pending) -> None:
        alert = pending.alert
        with self._lock:
            self._pending[id(pending)] = pending
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                producer.produce(
                    self._topic,
                    key=alert.key,
                    value=alert.value,
                    headers=list(alert.headers),
                    on_delivery=lambda err, msg: self._on_delivery(pending, err, msg),
                )
                return
            except BufferError:
                # The local queue is full: the broker is slow or gone. Let it drain.
                if time.monotonic() > deadline:
                    with self._lock:
                        self._pending.pop(id(pending), None)
                    raise BrokerUnreachableError(
                        f"the send queue stayed full for {self._timeout:.0f}s: the cluster "
                        "is not taking alerts (is it reachable?)"
                    ) from None
                producer.poll(0.05)
            except KafkaException as exc:
                error = exc.args[0]
                self._on_delivery(pending, error, None)
                return

    def _on_delivery(self, pending: _Pending, err: KafkaError | None, msg: Message | None) -> None:
        alert = pending.alert
        if err is None and msg is not None:
            corridor = alert.corridor
            self._latency(corridor).observe(time.perf_counter() - pending.started)
            self._bytes_sent(corridor).inc(len(alert.value))
            partition, offset = msg.partition(), msg.offset()
            if LOG.isEnabledFor(logging.DEBUG):
                log_event(
                    LOG,
                    "alert_published",
                    level=logging.DEBUG,
                    alert_id=alert.alert_id,
                    corridor=corridor,
                    partition=partition,
                    offset=offset,
                    recipients=len(alert.recipients),
                )
            self._finish(pending, pending.delivery(partition=partition, offset=offset))
            return
        name = err.name() if isinstance(err, KafkaError) else "UNKNOWN"
        text = err.str() if isinstance(err, KafkaError) else str(err)
        fatal = isinstance(err, KafkaError) and err.fatal()
        error = DeliveryError(
            f"alert {alert.alert_id} was not acknowledged by the broker ({name}: {text}); "
            "re-sending it with the same idempotency key is safe",
            retriable=not fatal,
            kafka_code=name,
        )
        log_event(
            LOG,
            "alert_delivery_failed",
            level=logging.WARNING,
            alert_id=alert.alert_id,
            corridor=alert.corridor,
            error=name,
        )
        self._finish(pending, pending.delivery(error=error))

    def _finish(self, pending: _Pending, delivery: Delivery) -> None:
        with self._lock:
            if pending.done:  # a purged alert may be answered twice: keep the first
                return
            pending.done = True
            self._pending.pop(id(pending), None)
        outcome = "delivered" if delivery.ok else "failed"
        self._published(delivery.corridor, delivery.alert_type.value, outcome).inc()
        if delivery.error is None:
            pending.future.set_result(delivery)
        else:
            pending.future.set_exception(delivery.error)
        if pending.callback is not None:
            try:
                pending.callback(delivery)
            except Exception:
                LOG.exception("publish_callback_failed")

    def _poll(self) -> None:
        producer = self._producer
        assert producer is not None
        while not self._closing.is_set():
            idle = time.monotonic() - self._last_publish
            if idle < HANDOVER_SECONDS:
                time.sleep(HANDOVER_SECONDS - idle)  # the publishing thread serves them
            else:
                producer.poll(0.05)

    def _drain(self, producer: Producer, timeout: float) -> None:
        remaining = producer.flush(timeout)
        if remaining:
            # Whatever is left would never be answered now: fail it explicitly.
            producer.purge(in_queue=True, in_flight=True, blocking=False)
            producer.flush(1.0)
        with self._lock:
            left = list(self._pending.values())
        for pending in left:
            error = DeliveryError(
                f"alert {pending.alert.alert_id} was not acknowledged before the publisher "
                "closed; re-sending it with the same idempotency key is safe"
            )
            self._finish(pending, pending.delivery(error=error))
