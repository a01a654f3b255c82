"""Acknowledgements: the one place that builds, signs, encodes and verifies them.

A recipient answers an alert (``RECEIVED``, ``ACCEPTED``, ``DECLINED``, ``NEED_INFO``)
with an ``Acknowledgement`` record (schemas/Acknowledgement.avsc) that the processors
verify and route back to the issuer, who verifies it again. Both sides must compute the
same signed bytes, so the signed value is defined here once, in
:func:`ack_signed_value`, and nowhere else.

What is bound to what (canonical encoding, :mod:`corridor.canonical`):

* the signature, under context ``"ack"``, covers every field of the record except the
  signature itself, plus the signer's key id; the optional note enters as
  :func:`corridor.envelope.payload_value`, so swapping or altering a note breaks it;
* the note is sealed for the issuer only (purpose ``"ack-note"``), with the ack id,
  alert id and both agency ids as associated data, so it cannot be moved to another
  acknowledgement. It is free text and may name people: it never travels in clear.

The Avro ``SealedPayload`` has no suite field, so notes are always sealed with
:data:`NOTE_SUITE`; a new suite for notes needs a schema change first.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from corridor.canonical import Canonical, CanonicalError
from corridor.codec import Codec
from corridor.codec_errors import RecordError
from corridor.domain import AckStatus, Agency, Corridor, WrappedKey
from corridor.envelope import (
    DEFAULT_CLOCK_SKEW,
    DEFAULT_SUITE,
    EncryptionKey,
    OpenError,
    RecipientKey,
    RejectReason,
    SealedPayload,
    Sealer,
    SigningKey,
    VerificationError,
    open_payload,
    payload_value,
    verify_signature,
)
from corridor.exceptions import CorridorError
from corridor.records import Record, corridor_from_record, corridor_to_record

__all__ = [
    "ACK_EVENT",
    "ACK_SIGNATURE_CONTEXT",
    "MAX_NOTE_BYTES",
    "NOTE_PURPOSE",
    "NOTE_SUITE",
    "AckError",
    "Acknowledgement",
    "InvalidAck",
    "ack_from_record",
    "ack_signed_value",
    "ack_to_record",
    "decode_ack",
    "encode_ack",
    "make_ack",
    "open_note",
    "received_ack_id",
    "verify_ack",
]

ACK_EVENT = "Acknowledgement"
ACK_SIGNATURE_CONTEXT = "ack"
NOTE_PURPOSE = "ack-note"
NOTE_SUITE = DEFAULT_SUITE
#: Notes are short answers ("the passport number is missing"), not documents.
MAX_NOTE_BYTES = 16 * 1024
#: Fixed namespace of the deterministic ids of RECEIVED acknowledgements.
_RECEIVED_NAMESPACE = uuid.UUID("6b0e6c1e-3f5a-5d0e-9c8e-0a1c6f2d4b7a")


class AckError(CorridorError):
    """An acknowledgement cannot be built (bad id, naive time, note too long)."""


class InvalidAck(VerificationError):  # noqa: N818 - named like InvalidAlert
    """An acknowledgement failed verification; ``reason`` says why, the message does not."""

    message = "acknowledgement failed verification"


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """A recipient's signed answer to one alert, as it travels."""

    ack_id: str
    alert_id: str
    corridor: Corridor
    from_agency: str
    to_issuer: str
    status: AckStatus
    created_at: datetime
    note: SealedPayload | None
    signer_key_id: str
    signature: bytes

    @property
    def key(self) -> bytes:
        """The Kafka key on ``corridor.acks.inbound`` and the delivery topics."""
        return self.corridor.key.encode("utf-8")


def received_ack_id(from_agency: str, alert_id: str) -> str:
    """The id of an agency's ``RECEIVED`` answer to an alert: the same on every resend.

    A consumer that crashes between sending the acknowledgement and committing its
    offset sends it again; an equal id lets the processors and the issuer drop the copy.
    """
    return str(uuid.uuid5(_RECEIVED_NAMESPACE, f"{from_agency}\x00{alert_id}"))


def _note_associated(
    ack_id: str, alert_id: str, from_agency: str, to_issuer: str
) -> dict[str, Canonical]:
    return {
        "ack_id": ack_id,
        "alert_id": alert_id,
        "from_agency": from_agency,
        "to_issuer": to_issuer,
    }


def ack_signed_value(ack: Acknowledgement) -> Canonical:
    """The canonical value an acknowledgement's signature covers (all but the signature)."""
    corridor = ack.corridor
    return {
        "ack_id": ack.ack_id,
        "alert_id": ack.alert_id,
        "corridor": {
            "origin": corridor.origin,
            "destination": corridor.destination,
            "transit": tuple(corridor.transit),
        },
        "from_agency": ack.from_agency,
        "to_issuer": ack.to_issuer,
        "status": ack.status,
        "created_at": ack.created_at,
        "note": None if ack.note is None else payload_value(ack.note),
        "key_id": ack.signer_key_id,
    }


def _uuid(value: str, what: str) -> str:
    try:
        text = str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        text = ""
    if text != value:
        raise AckError(f"{what} must be a UUID in lower-case 8-4-4-4-12 form")
    return value


def make_ack(
    *,
    alert_id: str,
    corridor: Corridor,
    signer: SigningKey,
    from_agency: str,
    issuer: Agency,
    status: AckStatus,
    note: str | None = None,
    ack_id: str | None = None,
    created_at: datetime | None = None,
    sealer: Sealer | None = None,
) -> Acknowledgement:
    """Build and sign ``from_agency``'s answer to ``issuer``'s alert.

    ``note`` is sealed for the issuer's current encryption key; ``ack_id`` defaults to
    :func:`received_ack_id` for ``RECEIVED`` and to a random UUID otherwise.
    """
    when = created_at if created_at is not None else datetime.now(UTC)
    if when.utcoffset() is None:
        raise AckError("created_at must be timezone-aware")
    when = when.astimezone(UTC)
    _uuid(alert_id, "alert_id")
    status = AckStatus(status)
    if ack_id is None:
        ack_id = (
            received_ack_id(from_agency, alert_id)
            if status is AckStatus.RECEIVED
            else str(uuid.uuid4())
        )
    _uuid(ack_id, "ack_id")
    sealed: SealedPayload | None = None
    if note is not None:
        raw = note.encode("utf-8")
        if not raw.strip():
            raise AckError("the note is empty")
        if len(raw) > MAX_NOTE_BYTES:
            raise AckError(f"the note is {len(raw)} bytes, over the {MAX_NOTE_BYTES}-byte limit")
        sealer = sealer if sealer is not None else Sealer(suite=NOTE_SUITE)
        if sealer.suite != NOTE_SUITE:
            raise AckError(f"notes are sealed with {NOTE_SUITE}, not {sealer.suite}")
        sealed = sealer.seal_payload(
            raw,
            [RecipientKey.for_agency(issuer, when)],
            purpose=NOTE_PURPOSE,
            associated=_note_associated(ack_id, alert_id, from_agency, issuer.id),
        )
    unsigned = Acknowledgement(
        ack_id=ack_id,
        alert_id=alert_id,
        corridor=corridor,
        from_agency=from_agency,
        to_issuer=issuer.id,
        status=status,
        created_at=when,
        note=sealed,
        signer_key_id=signer.key_id,
        signature=b"",
    )
    try:
        signature = signer.sign(ACK_SIGNATURE_CONTEXT, ack_signed_value(unsigned))
    except CanonicalError as exc:
        raise AckError(f"acknowledgement of {alert_id} cannot be signed: {exc}") from exc
    return dataclasses.replace(unsigned, signature=signature)


def verify_ack(
    ack: Acknowledgement,
    sender: Agency,
    *,
    at_time: datetime | None = None,
    max_clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
) -> None:
    """Check that ``sender`` (the directory entry of ``ack.from_agency``) signed ``ack``.

    The signing key must be valid at ``created_at``, which may lie at most
    ``max_clock_skew`` after ``at_time`` (default: now). A note must be sealed for the
    issuer alone. The sender's status is the policy's concern, as for alerts. Raises
    :class:`InvalidAck` with a ``reason`` for the dead-letter topic.
    """
    if at_time is not None and at_time.utcoffset() is None:
        raise ValueError("at_time must be timezone-aware")
    if ack.from_agency != sender.id:
        raise InvalidAck(RejectReason.ISSUER_MISMATCH)
    if ack.note is not None and (
        ack.note.suite != NOTE_SUITE
        or [w.agency_id for w in ack.note.recipients] != [ack.to_issuer]
    ):
        raise InvalidAck(RejectReason.MALFORMED)
    key = sender.signing_key(ack.signer_key_id)
    if key is None:
        raise InvalidAck(RejectReason.UNKNOWN_KEY)
    try:
        verify_signature(
            key,
            ACK_SIGNATURE_CONTEXT,
            ack_signed_value(ack),
            ack.signature,
            signed_at=ack.created_at,
        )
    except VerificationError as exc:
        raise InvalidAck(exc.reason) from None
    now = at_time if at_time is not None else datetime.now(UTC)
    if ack.created_at > now + max_clock_skew:
        raise InvalidAck(RejectReason.CREATED_IN_FUTURE)


def open_note(ack: Acknowledgement, recipient_id: str, key: EncryptionKey) -> str | None:
    """The note's text for the issuer, or None when there is none.

    Verify the acknowledgement first: opening proves only that the note belongs to it.
    Raises :class:`OpenError` for every failure, and for a note that is not UTF-8.
    """
    if ack.note is None:
        return None
    raw = open_payload(
        ack.note,
        purpose=NOTE_PURPOSE,
        associated=_note_associated(ack.ack_id, ack.alert_id, ack.from_agency, ack.to_issuer),
        recipient_id=recipient_id,
        key=key,
    )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise OpenError from None


# -- records and bytes -------------------------------------------------------------------


def ack_to_record(ack: Acknowledgement) -> Record:
    """The ``Acknowledgement`` record, in the shape :class:`Codec` encodes."""
    note = ack.note
    return {
        "ack_id": ack.ack_id,
        "alert_id": ack.alert_id,
        "corridor": corridor_to_record(ack.corridor),
        "from_agency": ack.from_agency,
        "to_issuer": ack.to_issuer,
        "status": ack.status.value,
        "created_at": ack.created_at,
        "note": None
        if note is None
        else {
            "nonce": note.nonce,
            "ciphertext": note.ciphertext,
            "recipients": [dataclasses.asdict(w) for w in note.recipients],
        },
        "signature": {"key_id": ack.signer_key_id, "value": ack.signature},
    }


def _text(record: Mapping[str, Any], name: str) -> str:
    value = record.get(name)
    if isinstance(value, uuid.UUID):
        return str(value)
    if not isinstance(value, str):
        raise RecordError(f"{name} must be a string", path=name)
    return value


def _blob(record: Mapping[str, Any], name: str, path: str) -> bytes:
    value = record.get(name)
    if not isinstance(value, bytes):
        raise RecordError(f"{path}.{name} must be bytes", path=f"{path}.{name}")
    return value


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise RecordError(f"{path} must be a record", path=path)
    return value


def _note_from_record(value: Any) -> SealedPayload | None:
    if value is None:
        return None
    note = _mapping(value, "note")
    recipients = note.get("recipients")
    if not isinstance(recipients, list | tuple):
        raise RecordError("note.recipients must be a list", path="note.recipients")
    wrapped = []
    for i, item in enumerate(recipients):
        path = f"note.recipients[{i}]"
        w = _mapping(item, path)
        wrapped.append(
            WrappedKey(
                agency_id=_text(w, "agency_id"),
                key_id=_text(w, "key_id"),
                enc=_blob(w, "enc", path),
                wrapped_key=_blob(w, "wrapped_key", path),
            )
        )
    return SealedPayload(
        NOTE_SUITE, _blob(note, "nonce", "note"), _blob(note, "ciphertext", "note"), tuple(wrapped)
    )


def ack_from_record(record: Mapping[str, Any]) -> Acknowledgement:
    """The acknowledgement of a decoded record; :class:`RecordError` names a bad field."""
    created_at = record.get("created_at")
    if not isinstance(created_at, datetime) or created_at.utcoffset() is None:
        raise RecordError("created_at must be a timezone-aware datetime", path="created_at")
    try:
        status = AckStatus(str(record.get("status")))
    except ValueError:
        raise RecordError("status is not an AckStatus symbol", path="status") from None
    signature = _mapping(record.get("signature"), "signature")
    return Acknowledgement(
        ack_id=_text(record, "ack_id"),
        alert_id=_text(record, "alert_id"),
        corridor=corridor_from_record(_mapping(record.get("corridor"), "corridor")),
        from_agency=_text(record, "from_agency"),
        to_issuer=_text(record, "to_issuer"),
        status=status,
        created_at=created_at,
        note=_note_from_record(record.get("note")),
        signer_key_id=_text(signature, "key_id"),
        signature=_blob(signature, "value", "signature"),
    )


def encode_ack(ack: Acknowledgement, codec: Codec) -> bytes:
    """The framed Avro bytes of an acknowledgement."""
    return codec.encode(ACK_EVENT, ack_to_record(ack))


def decode_ack(data: bytes, codec: Codec) -> Acknowledgement:
    """Bytes that must hold an acknowledgement; raises DecodeError or RecordError."""
    return ack_from_record(codec.decode_as(ACK_EVENT, data))
