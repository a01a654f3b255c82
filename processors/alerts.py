"""One inbound case alert, from bytes to deliveries: the processors' main path.

decode -> key matches corridor -> not expired -> issuer known -> signature -> issuer
active -> not a duplicate -> policy per candidate recipient -> deliver + audit each ->
remember -> hand linkage tokens to correlation. Every refusal becomes a dead letter
with its reason; nothing here raises on bad input. Cheap checks come before the
signature, and the signature before anything that writes state, so a forged alert can
neither cost much nor claim an alert id.

This module knows nothing of faust: the app feeds it records and gives it the alerts
table as a mapping, so the whole path is unit-tested without a broker.
"""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from corridor.codec import Codec
from corridor.codec_errors import DecodeError, RecordError, UnexpectedEventError
from corridor.config import ProcessorSettings
from corridor.domain import AgencyStatus, AlertMetadata, Directory, SealedAlert
from corridor.envelope import InvalidAlert, verify_alert
from corridor.metrics import Children, ProcessorMetrics
from corridor.policy import policy_index
from corridor.records import alert_from_record
from processors.dead_letters import DeadLetterReason, from_reject
from processors.emitter import Emitter, Source
from processors.state import Routed, carry_over, duplicate_reason, new_entry

__all__ = ["AlertResult", "AlertRouter", "Limits"]

UNKNOWN_CORRIDOR = "unknown"


@dataclass(frozen=True, slots=True)
class Limits:
    """The time rules of the processors."""

    max_age: timedelta
    max_clock_skew: timedelta
    dedup_ttl: timedelta

    @classmethod
    def from_settings(cls, settings: ProcessorSettings) -> Limits:
        return cls(
            max_age=timedelta(seconds=settings.max_age_seconds),
            max_clock_skew=timedelta(seconds=settings.max_clock_skew_seconds),
            dedup_ttl=timedelta(seconds=settings.dedup_ttl_seconds),
        )


@dataclass(frozen=True, slots=True)
class AlertResult:
    """What became of one record: its dead-letter reason, or the agencies it went to."""

    alert_id: str | None
    rejected: DeadLetterReason | None = None
    recipients: tuple[str, ...] = ()


class _Rejected(Exception):  # noqa: N818 - control flow inside this module only
    def __init__(self, reason: DeadLetterReason) -> None:
        self.reason = reason


class AlertRouter:
    """Verifies, deduplicates and routes inbound alerts (see the module docstring)."""

    def __init__(
        self,
        *,
        codec: Codec,
        directory: Callable[[], Directory],
        emitter: Emitter,
        metrics: ProcessorMetrics,
        limits: Limits,
        state: MutableMapping[str, Any],
        on_accepted: Callable[[AlertMetadata], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._codec = codec
        self._directory = directory
        self._emitter = emitter
        self._metrics = metrics
        self._limits = limits
        self._state = state
        self._on_accepted = on_accepted
        self._clock = clock
        self._ttl = limits.dedup_ttl.total_seconds()
        self._consumed = Children(metrics.consumed)
        self._decisions = Children(metrics.decisions)
        self._routed = Children(metrics.routed)
        self._duplicates = Children(metrics.duplicates)
        self._dead_letters = Children(metrics.dead_letters)
        self._lag = Children(metrics.routing_lag)

    def handle(self, source: Source) -> AlertResult:
        now = self._clock()
        alert_id: str | None = None
        try:
            alert, raw = self._decode(source)
            alert_id = alert.metadata.alert_id
            recipients = self._route(source, alert, raw, now)
        except _Rejected as rejected:
            self._emitter.dead_letter(source, rejected.reason, now)
            self._dead_letters("processor", rejected.reason.value).inc()
            return AlertResult(alert_id, rejected=rejected.reason)
        return AlertResult(alert_id, recipients=recipients)

    def _decode(self, source: Source) -> tuple[SealedAlert, bytes]:
        raw = source.value
        if not raw:
            self._consumed(UNKNOWN_CORRIDOR).inc()
            raise _Rejected(DeadLetterReason.UNDECODABLE)
        try:
            alert = alert_from_record(self._codec.decode_as("CaseAlert", raw))
        except UnexpectedEventError:
            self._consumed(UNKNOWN_CORRIDOR).inc()
            raise _Rejected(DeadLetterReason.UNEXPECTED_EVENT) from None
        except DecodeError:
            self._consumed(UNKNOWN_CORRIDOR).inc()
            raise _Rejected(DeadLetterReason.UNDECODABLE) from None
        except RecordError:
            self._consumed(UNKNOWN_CORRIDOR).inc()
            raise _Rejected(DeadLetterReason.INVALID_RECORD) from None
        self._consumed(alert.metadata.corridor.key).inc()
        return alert, raw

    def _route(
        self, source: Source, alert: SealedAlert, raw: bytes, now: datetime
    ) -> tuple[str, ...]:
        metadata = alert.metadata
        corridor_key = metadata.corridor.key
        key = corridor_key.encode()
        if source.key != key:
            raise _Rejected(DeadLetterReason.KEY_MISMATCH)
        if metadata.created_at < now - self._limits.max_age:
            raise _Rejected(DeadLetterReason.EXPIRED)
        directory = self._directory()
        issuer = directory.agencies.get(metadata.issuer)
        if issuer is None:
            raise _Rejected(DeadLetterReason.UNKNOWN_ISSUER)
        started = time.perf_counter()
        try:
            verify_alert(alert, issuer, at_time=now, max_clock_skew=self._limits.max_clock_skew)
        except InvalidAlert as exc:
            raise _Rejected(from_reject(exc.reason)) from None
        finally:
            self._metrics.verification_time.observe(time.perf_counter() - started)
        if issuer.status is not AgencyStatus.ACTIVE:
            raise _Rejected(DeadLetterReason.ISSUER_NOT_ACTIVE)

        now_ts = now.timestamp()
        state = self._state
        previous = state.get(metadata.alert_id)
        duplicate = duplicate_reason(
            previous,
            partition=source.partition,
            offset=source.offset,
            issuer=metadata.issuer,
            now=now_ts,
            ttl=self._ttl,
        )
        if duplicate is not None:
            self._duplicates(corridor_key).inc()
            raise _Rejected(duplicate)

        index = policy_index(directory)
        routed: list[Routed] = []
        emitter = self._emitter
        decisions = [(agency.id, decision) for agency, decision in index.decide_all(metadata, now)]
        emitter.audit_all(metadata, decisions, now)
        for recipient, decision in decisions:
            agreement_id = decision.agreement_id or ""
            outcome = "allow" if decision.allowed else "deny"
            self._decisions(
                corridor_key, outcome, decision.reason.value, agreement_id or "none"
            ).inc()
            if not decision.allowed:
                continue
            emitter.deliver_alert(recipient, key, raw, agreement_id)
            self._routed(corridor_key, recipient).inc()
            agreement = directory.agreements.get(agreement_id)
            window = agreement.response_deadlines.get(metadata.priority) if agreement else None
            deadline = now_ts + window.total_seconds() if window else 0.0
            routed.append(Routed(recipient, agreement_id, deadline))

        entry = new_entry(
            partition=source.partition,
            offset=source.offset,
            issuer=metadata.issuer,
            seen_at=now_ts,
            priority=metadata.priority.value,
            corridor_key=corridor_key,
            routed=routed,
        )
        state[metadata.alert_id] = carry_over(previous, entry)
        self._lag(corridor_key).observe(max(0.0, now_ts - metadata.created_at.timestamp()))
        if self._on_accepted is not None and metadata.linkage_tokens:
            self._on_accepted(metadata)
        return tuple(r.recipient for r in routed)
