"""Sending an agency's signed acknowledgements to ``corridor.acks.inbound``.

The subscriber sends ``RECEIVED`` for every alert its sink confirmed, and flushes
before it commits the offsets, so an alert is never committed without its
acknowledgement on the broker; a redelivered alert sends the same acknowledgement
again (same ack id, see :func:`corridor.acks.received_ack_id`), which the processors
and the issuer recognise. ``corridor ack`` uses the same class for a person's answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from consumers.exceptions import AckSendError, InboxError
from corridor.acks import ACK_EVENT, Acknowledgement, encode_ack, make_ack
from corridor.codec import Codec
from corridor.domain import AckStatus, Corridor, Directory
from corridor.envelope import SigningKey
from corridor.logs import log_event
from corridor.metrics import ConsumerMetrics
from corridor.topics import ACKS_INBOUND

__all__ = ["EVENT_HEADER", "AckSender"]

LOG = logging.getLogger("corridor.consumer")
EVENT_HEADER = "corridor-event"


class AckSender:
    """Builds, signs and produces one agency's acknowledgements."""

    def __init__(
        self,
        producer: Producer,
        *,
        codec: Codec,
        agency_id: str,
        signing_key: SigningKey | Callable[[Directory], SigningKey],
        directory: Callable[[], Directory],
        metrics: ConsumerMetrics | None = None,
        topic: str = ACKS_INBOUND,
    ) -> None:
        self._producer = producer
        self._codec = codec
        self._agency_id = agency_id
        # A key, or how to choose one for the directory in force (see consumers.keyring).
        self._signing_key = signing_key
        self._directory = directory
        self._metrics = metrics
        self._topic = topic
        self._errors: list[KafkaError] = []
        self._pending: list[Acknowledgement] = []

    def build(
        self, alert_id: str, corridor: Corridor, issuer_id: str, status: AckStatus, note: str | None
    ) -> Acknowledgement:
        directory = self._directory()
        issuer = directory.agencies.get(issuer_id)
        if issuer is None:
            raise InboxError(f"the issuer {issuer_id} of alert {alert_id} is not in the directory")
        signer = self._signing_key
        return make_ack(
            alert_id=alert_id,
            corridor=corridor,
            signer=signer if isinstance(signer, SigningKey) else signer(directory),
            from_agency=self._agency_id,
            issuer=issuer,
            status=status,
            note=note,
        )

    def send(self, ack: Acknowledgement) -> None:
        """Queue ``ack`` for the broker; :meth:`flush` says whether it arrived."""
        self._producer.produce(
            self._topic,
            key=ack.key,
            value=encode_ack(ack, self._codec),
            headers=[(EVENT_HEADER, ACK_EVENT.encode())],
            on_delivery=self._delivered,
        )
        self._pending.append(ack)
        self._producer.poll(0)

    def received(self, alert_id: str, corridor: Corridor, issuer_id: str) -> Acknowledgement:
        ack = self.build(alert_id, corridor, issuer_id, AckStatus.RECEIVED, None)
        self.send(ack)
        return ack

    def _delivered(self, err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            self._errors.append(err)

    def flush(self, timeout: float = 60.0) -> list[Acknowledgement]:
        """Wait until every queued acknowledgement is on the broker; returns them."""
        try:
            remaining = self._producer.flush(timeout)
        except KafkaException as exc:
            raise AckSendError(f"acknowledgements could not be sent: {exc}") from exc
        sent, self._pending = self._pending, []
        errors, self._errors = self._errors, []
        if errors or remaining:
            detail = errors[0].str() if errors else f"{remaining} not confirmed in {timeout:.0f}s"
            log_event(LOG, "acks_not_sent", level=logging.WARNING, count=len(sent), error=detail)
            raise AckSendError(f"acknowledgements could not be sent: {detail}")
        if self._metrics is not None:
            for ack in sent:
                self._metrics.acks_sent.labels(self._agency_id, ack.status.value).inc()
        return sent
