"""Acknowledgements from recipients, verified and routed back to the alert's issuer.

An acknowledgement is routed only if the answering agency's signature verifies against
the directory and the alert's entry in the ``alerts`` table shows that this agency
received the alert from this issuer; anything else is dead-lettered. The first answer
of a recipient stops its response-deadline clock. The bytes go to the issuer unchanged,
so the issuer verifies the signature again.

Acknowledgements are keyed by the alert's corridor like the alert itself, written with
the same partitioner (Kafka's murmur2, as every Corridor writer uses), and both inbound
topics have the same partition count (checked at start), so an acknowledgement is read
by the worker holding its alert's entry.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any

from corridor.acks import ACK_EVENT, InvalidAck, decode_ack, verify_ack
from corridor.codec import Codec
from corridor.codec_errors import DecodeError, RecordError, UnexpectedEventError
from corridor.domain import AgencyStatus, Directory
from corridor.metrics import ProcessorMetrics
from processors.alerts import Limits
from processors.dead_letters import DeadLetterReason, from_reject
from processors.emitter import Emitter, Source
from processors.state import acknowledge, issuer_of, recipients_of

__all__ = ["AckRouter"]


class AckRouter:
    def __init__(
        self,
        *,
        codec: Codec,
        directory: Callable[[], Directory],
        emitter: Emitter,
        metrics: ProcessorMetrics,
        limits: Limits,
        state: MutableMapping[str, Any],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._codec = codec
        self._directory = directory
        self._emitter = emitter
        self._metrics = metrics
        self._limits = limits
        self._state = state
        self._clock = clock

    def handle(self, source: Source) -> DeadLetterReason | None:
        """Route one record of ``corridor.acks.inbound``; returns why it was refused, if it was."""
        now = self._clock()
        reason = self._route(source, now)
        if reason is not None:
            self._emitter.dead_letter(source, reason, now)
            self._metrics.dead_letters.labels("processor", reason.value).inc()
        return reason

    def _route(self, source: Source, now: datetime) -> DeadLetterReason | None:
        raw = source.value
        if not raw:
            return DeadLetterReason.UNDECODABLE
        try:
            ack = decode_ack(raw, self._codec)
        except UnexpectedEventError:
            return DeadLetterReason.UNEXPECTED_EVENT
        except DecodeError:
            return DeadLetterReason.UNDECODABLE
        except RecordError:
            return DeadLetterReason.INVALID_RECORD
        if source.key != ack.key:
            return DeadLetterReason.KEY_MISMATCH
        sender = self._directory().agencies.get(ack.from_agency)
        if sender is None:
            return DeadLetterReason.UNKNOWN_ISSUER
        try:
            verify_ack(ack, sender, at_time=now, max_clock_skew=self._limits.max_clock_skew)
        except InvalidAck as exc:
            return from_reject(exc.reason)
        if sender.status is not AgencyStatus.ACTIVE:
            return DeadLetterReason.ISSUER_NOT_ACTIVE
        entry = self._state.get(ack.alert_id)
        if entry is None:
            return DeadLetterReason.UNKNOWN_ALERT
        if issuer_of(entry) != ack.to_issuer or ack.from_agency not in recipients_of(entry):
            return DeadLetterReason.NOT_A_RECIPIENT
        self._emitter.deliver_event(ack.to_issuer, ack.key, ACK_EVENT, raw)
        self._metrics.acks_routed.labels(ack.status.value).inc()
        updated = acknowledge(entry, ack.from_agency)
        if updated is not None:
            self._state[ack.alert_id] = updated
        return None
