"""From a delivery-topic record to something a sink may take, or a reason to refuse it.

The checks run in the order that keeps personal data safest: decode the frame, check
the issuer's signature against the directory, and only then open the body with the
agency's key and decode it. Anything that fails is a :class:`Rejection` with a reason
code for the quarantine; its ``detail`` comes from our own error messages, which name
fields and fingerprints, never values. The event name is taken from the bytes (the
codec's fingerprint), not from the ``corridor-event`` header, which anyone who can
write the topic can set.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from consumers.documents import Delivery, DeliveryKind, iso, jsonable
from consumers.keyring import Keyring
from corridor.acks import Acknowledgement, ack_from_record, open_note, verify_ack
from corridor.codec import Codec
from corridor.codec_errors import DecodeError, RecordError
from corridor.domain import Directory, SealedAlert, WrappedKey
from corridor.envelope import (
    OpenError,
    UnwrappedKeys,
    VerificationError,
    open_alert,
    verify_alert,
)
from corridor.keys import AgencyKeys
from corridor.records import alert_from_record, metadata_to_record

__all__ = ["DeliveryHandler", "Rejection", "RejectionReason", "SourceRecord"]

AGREEMENT_HEADER = "corridor-agreement"
POLICY_HEADER = "corridor-policy-version"


class RejectionReason(StrEnum):
    """Why the consumer refused a record (besides the envelope's own RejectReason codes)."""

    UNDECODABLE = "UNDECODABLE"
    UNEXPECTED_EVENT = "UNEXPECTED_EVENT"
    MALFORMED = "MALFORMED"
    UNKNOWN_ISSUER = "UNKNOWN_ISSUER"
    OPEN_FAILED = "OPEN_FAILED"
    BODY_UNDECODABLE = "BODY_UNDECODABLE"
    NOT_ADDRESSED = "NOT_ADDRESSED"


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """Where a record came from, and the processor's routing headers."""

    topic: str
    partition: int
    offset: int
    headers: Sequence[tuple[str, bytes | None]] = ()

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name and value is not None:
                return value.decode("utf-8", errors="replace")
        return None

    def document(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "agreement_id": self.header(AGREEMENT_HEADER),
            "policy_version": self.header(POLICY_HEADER),
        }


class DeliveryHandler:
    """Verifies and opens records for one agency; pure apart from the clock."""

    def __init__(
        self,
        *,
        agency_id: str,
        keys: Keyring | AgencyKeys,
        codec: Codec,
        directory: Callable[[], Directory],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._agency_id = agency_id
        self._keys = keys if isinstance(keys, Keyring) else Keyring(keys)
        self._codec = codec
        self._directory = directory
        self._clock = clock
        # Alerts of one issuer to the same recipients share a wrap for a while
        # (CORRIDOR-2): unwrap it once.
        self._unwrapped = UnwrappedKeys()

    def handle(self, value: bytes | None, source: SourceRecord) -> Delivery | Rejection:
        if value is None:
            return Rejection(RejectionReason.UNDECODABLE, "empty record (tombstone)")
        try:
            decoded = self._codec.decode(value)
        except DecodeError as exc:
            return Rejection(RejectionReason.UNDECODABLE, str(exc))
        try:
            if decoded.name == "CaseAlert":
                return self._alert(alert_from_record(decoded.record), source)
            if decoded.name == "Acknowledgement":
                return self._ack(ack_from_record(decoded.record), source)
            if decoded.name == "LinkNotice":
                return self._link(decoded.record, source)
            if decoded.name == "Escalation":
                return self._escalation(decoded.record, source)
        except (RecordError, DecodeError) as exc:
            return Rejection(RejectionReason.MALFORMED, str(exc))
        return Rejection(RejectionReason.UNEXPECTED_EVENT, f"a {decoded.name} on a delivery topic")

    # -- case alerts -------------------------------------------------------------------

    def _alert(self, alert: SealedAlert, source: SourceRecord) -> Delivery | Rejection:
        meta = alert.metadata
        issuer = self._directory().agencies.get(meta.issuer)
        if issuer is None:
            return Rejection(RejectionReason.UNKNOWN_ISSUER, "issuer not in the directory")
        now = self._clock()
        try:
            verify_alert(alert, issuer, at_time=now)
        except VerificationError as exc:
            return Rejection(exc.reason.value, str(exc))
        sealed_for_us = any(w.agency_id == self._agency_id for w in alert.recipients)
        body_bytes: bytes | None = None
        body: Any = None
        if sealed_for_us:
            key = self._keys.key_for(alert.recipients)
            if key is None:
                return Rejection(
                    RejectionReason.OPEN_FAILED, _not_held(alert.recipients, self._agency_id)
                )
            try:
                body_bytes = open_alert(alert, self._agency_id, key, unwrapped=self._unwrapped)
            except OpenError as exc:
                return Rejection(RejectionReason.OPEN_FAILED, str(exc))
            try:
                body = self._codec.decode_as("AlertBody", body_bytes)
            except DecodeError as exc:
                return Rejection(RejectionReason.BODY_UNDECODABLE, str(exc))
        kind = DeliveryKind.ALERT if sealed_for_us else DeliveryKind.SEALED_FOR_OTHERS
        document = {
            "kind": kind.value,
            "alert_id": meta.alert_id,
            "issuer": meta.issuer,
            "recipient": self._agency_id,
            "corridor": meta.corridor.key,
            "metadata": jsonable(metadata_to_record(meta)),
            "body": jsonable(body),
            "sealed_for": sorted({w.agency_id for w in alert.recipients}),
            "delivery": source.document(),
            "received_at": iso(now),
        }
        return Delivery(kind, meta.alert_id, meta.alert_id, meta.created_at, document, body_bytes)

    # -- other events --------------------------------------------------------------------

    def _ack(self, ack: Acknowledgement, source: SourceRecord) -> Delivery | Rejection:
        if ack.to_issuer != self._agency_id:
            return Rejection(RejectionReason.NOT_ADDRESSED, "acknowledgement for another issuer")
        sender = self._directory().agencies.get(ack.from_agency)
        if sender is None:
            return Rejection(RejectionReason.UNKNOWN_ISSUER, "sender not in the directory")
        now = self._clock()
        try:
            verify_ack(ack, sender, at_time=now)
        except VerificationError as exc:
            return Rejection(exc.reason.value, str(exc))
        note, readable = None, True
        if ack.note is not None:
            key = self._keys.key_for(ack.note.recipients)
            with contextlib.suppress(OpenError):
                note = None if key is None else open_note(ack, self._agency_id, key)
            readable = note is not None  # else sealed to a key we do not hold: keep the answer
        document = {
            "kind": DeliveryKind.ACKNOWLEDGEMENT.value,
            "ack_id": ack.ack_id,
            "alert_id": ack.alert_id,
            "corridor": ack.corridor.key,
            "from_agency": ack.from_agency,
            "to_issuer": ack.to_issuer,
            "status": ack.status.value,
            "created_at": iso(ack.created_at),
            "note": note,
            "note_readable": readable,
            "delivery": source.document(),
            "received_at": iso(now),
        }
        return Delivery(
            DeliveryKind.ACKNOWLEDGEMENT, ack.ack_id, ack.alert_id, ack.created_at, document
        )

    def _link(self, record: dict[str, Any], source: SourceRecord) -> Delivery:
        first, second = _mapping(record, "first"), _mapping(record, "second")
        ours = first if first.get("issuer") == self._agency_id else second
        created_at = _time(record, "created_at")
        document = {
            "kind": DeliveryKind.LINK_NOTICE.value,
            **jsonable(record),
            "delivery": source.document(),
            "received_at": iso(self._clock()),
        }
        return Delivery(
            DeliveryKind.LINK_NOTICE,
            str(record.get("link_id")),
            str(ours.get("alert_id")),
            created_at,
            document,
        )

    def _escalation(self, record: dict[str, Any], source: SourceRecord) -> Delivery:
        raised_at = _time(record, "raised_at")
        deadline = _time(record, "deadline")
        alert_id = str(record.get("alert_id"))
        escalation_id = f"{alert_id}:{record.get('recipient')}:{iso(deadline)}"
        document = {
            "kind": DeliveryKind.ESCALATION.value,
            "escalation_id": escalation_id,
            **jsonable(record),
            "delivery": source.document(),
            "received_at": iso(self._clock()),
        }
        return Delivery(DeliveryKind.ESCALATION, escalation_id, alert_id, raised_at, document)


def _not_held(recipients: Sequence[WrappedKey], agency_id: str) -> str:
    """Which of the agency's keys the record was sealed to (key ids are public)."""
    ids = ", ".join(sorted({w.key_id for w in recipients if w.agency_id == agency_id}))
    return (
        f"sealed to {ids}, which this consumer does not hold: a key rotated away from and "
        "forgotten, or a new key not yet in the key files"
    )


def _mapping(record: dict[str, Any], name: str) -> dict[str, Any]:
    value = record.get(name)
    if not isinstance(value, dict):
        raise RecordError(f"{name} must be a record", path=name)
    return value


def _time(record: dict[str, Any], name: str) -> datetime:
    value = record.get(name)
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise RecordError(f"{name} must be a timezone-aware datetime", path=name)
    return value
