"""Every record the processors write, built in one place on top of a plain record sink.

The routing logic talks to an :class:`Emitter`; the emitter encodes with the codec and
hands bytes to a :class:`RecordSink` (Kafka in production, a list in unit tests). Case
alerts are copied to delivery topics byte for byte, so recipients verify the issuer's
signature end to end; nothing here decodes or re-encodes them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from corridor.codec import Codec
from corridor.domain import AlertMetadata
from corridor.policy import POLICY_VERSION, Decision
from corridor.topics import AUDIT, DLQ, LINKS, delivery_topic
from processors.dead_letters import DETAILS, DeadLetterReason
from processors.encoding import AuditEncoder

__all__ = ["Emitter", "Headers", "RecordSink", "Source"]

Headers = Sequence[tuple[str, bytes]]

EVENT_HEADER = "corridor-event"
AGREEMENT_HEADER = "corridor-agreement"
POLICY_HEADER = "corridor-policy-version"
REASON_HEADER = "corridor-reason"
COMPONENT = "processor"
#: The most of a refused record's value a dead letter carries. The brokers accept
#: records up to about 1 MiB and the dead letter adds its own fields, so a record near
#: that limit, kept whole, could never be written and would stop the worker; beyond this
#: the dead letter keeps the first bytes, and its detail gives the full size and SHA-256
#: (the whole record stays at its source offset for the topic's retention).
MAX_DEAD_LETTER_ORIGINAL = 900_000
#: The largest record a worker reads, forwards or writes: under librdkafka's default
#: ``message.max.bytes`` (1,000,000) with room for key and headers, so every record a
#: worker accepts can be copied to a delivery topic, and a dead letter always fits.
MAX_RECORD_BYTES = 960_000
#: The same for the key, which the dead letter also carries as its own Kafka key
#: (corridor keys are a few bytes; anything longer is hostile).
MAX_DEAD_LETTER_KEY = 256


class RecordSink(Protocol):
    """Where encoded records go; ``send`` must not block on the broker."""

    def send(
        self, topic: str, key: bytes | None, value: bytes, headers: Headers | None = None
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Source:
    """Where a record was read, kept for its dead letter."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def _event(name: str) -> tuple[str, bytes]:
    return (EVENT_HEADER, name.encode())


_ALERT = _event("CaseAlert")
_POLICY = (POLICY_HEADER, POLICY_VERSION.encode())


class Emitter:
    """Encodes and sends deliveries, audit records, dead letters, links and escalations.

    What an agency waits for (deliveries, and the events on its delivery topic) goes to
    ``sink``; the trail nobody waits for (audit records, dead letters, the links topic)
    to ``trail``, which may gather records longer (decision 25). Both are ``sink``
    unless ``trail`` is given.
    """

    def __init__(
        self,
        sink: RecordSink,
        codec: Codec,
        processor_id: str,
        *,
        trail: RecordSink | None = None,
    ) -> None:
        self._sink = sink
        self._trail = sink if trail is None else trail
        self._codec = codec
        self._processor_id = processor_id
        self._component = f"{COMPONENT}:{processor_id}"
        self._agreement_headers: dict[str, tuple[str, bytes]] = {}
        self._audits = AuditEncoder(codec, processor_id)

    @property
    def processor_id(self) -> str:
        return self._processor_id

    def deliver_alert(self, recipient: str, key: bytes, raw: bytes, agreement_id: str) -> None:
        """The issuer's CaseAlert bytes, unchanged, to one authorised recipient."""
        header = self._agreement_headers.get(agreement_id)
        if header is None:
            header = (AGREEMENT_HEADER, agreement_id.encode())
            self._agreement_headers[agreement_id] = header
        self._sink.send(delivery_topic(recipient), key, raw, (_ALERT, header, _POLICY))

    def deliver_event(self, recipient: str, key: bytes, name: str, value: bytes) -> None:
        """Another event for an agency (acknowledgement, link notice, escalation)."""
        self._sink.send(delivery_topic(recipient), key, value, (_event(name),))

    def audit_all(
        self,
        metadata: AlertMetadata,
        decisions: Iterable[tuple[str, Decision]],
        decided_at: datetime,
    ) -> None:
        """One AuditRecord per (recipient, decision) on one alert."""
        key = metadata.corridor.key.encode()
        send = self._trail.send
        for value in self._audits.encode_all(metadata, decisions, decided_at):
            send(AUDIT, key, value)

    def dead_letter(self, source: Source, reason: DeadLetterReason, failed_at: datetime) -> None:
        original, detail = source.value or b"", DETAILS[reason]
        if len(original) > MAX_DEAD_LETTER_ORIGINAL:
            detail += (
                f"; original value cut to its first {MAX_DEAD_LETTER_ORIGINAL} of "
                f"{len(original)} bytes (SHA-256 {hashlib.sha256(original).hexdigest()})"
            )
            original = original[:MAX_DEAD_LETTER_ORIGINAL]
        key = source.key
        if key is not None and len(key) > MAX_DEAD_LETTER_KEY:
            detail += f"; key cut to its first {MAX_DEAD_LETTER_KEY} of {len(key)} bytes"
            key = key[:MAX_DEAD_LETTER_KEY]
        record = {
            "reason": reason.value,
            "detail": detail,
            "source_topic": source.topic,
            "source_partition": source.partition,
            "source_offset": source.offset,
            "original_key": key,
            "original_value": original,
            "failed_at": failed_at,
            "component": self._component,
        }
        value = self._codec.encode("DeadLetter", record)
        headers = (_event("DeadLetter"), (REASON_HEADER, reason.value.encode()))
        self._trail.send(DLQ, key, value, headers)

    def link_notice(self, record: dict[str, Any], key: bytes, issuers: Sequence[str]) -> None:
        """One LinkNotice to the links topic and to each issuer's delivery topic."""
        value = self._codec.encode("LinkNotice", record)
        self._trail.send(LINKS, key, value, (_event("LinkNotice"),))
        for issuer in issuers:
            self.deliver_event(issuer, key, "LinkNotice", value)

    def escalation(self, record: dict[str, Any], key: bytes) -> None:
        value = self._codec.encode("Escalation", record)
        self.deliver_event(str(record["issuer"]), key, "Escalation", value)
