"""Delivery-topic records made exactly as a processor makes them, for consumer tests.

An alert is sealed with the core (Sealer, records, codec) by the issuer's real keys
from the test network, and its CaseAlert bytes are written unchanged to
``corridor.deliver.<AGENCY>`` as the admin, keyed by corridor, with the processor's
headers. Tampered variants and the other events a delivery topic carries
(acknowledgements, link notices, escalations) are made here too.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message

from corridor.acks import Acknowledgement, encode_ack, make_ack
from corridor.codec import Codec
from corridor.connection import Connection
from corridor.domain import (
    AckStatus,
    AlertMetadata,
    AlertType,
    ConsentScope,
    Corridor,
    DataCategory,
    Directory,
    HandlingCode,
    Priority,
    SealedAlert,
    Tlp,
    TrmPhase,
)
from corridor.envelope import RecipientKey, Sealer, SigningKey
from corridor.kafka_clients import producer
from corridor.policy import POLICY_VERSION
from corridor.records import alert_to_record
from corridor.topics import delivery_topic
from corridor.workspace import Workspace

CODEC = Codec()


def body_record(n: int = 0) -> dict[str, Any]:
    """An AlertBody record (made-up person), in the shape the codec decodes to."""
    return {
        "person": {
            "given_names": ["Ana", f"Maria{n}"],
            "family_names": ["Popescu"],
            "other_names": [],
            "date_of_birth": "1999-04-12",
            "age_estimate": None,
            "gender": "FEMALE",
            "nationalities": ["RO"],
            "documents": [{"kind": "PASSPORT", "number": f"05{n:07d}", "issuing_country": "RO"}],
            "languages": ["ro"],
        },
        "exploitation_types": ["LABOUR"],
        "locations": [{"role": "EXPLOITATION", "country": "AT", "place": "Wien"}],
        "needs": ["SAFE_ACCOMMODATION"],
        "narrative": f"Presumed victim {n} reported by a labour inspector.",
        "suspects": [],
        "contact": None,
    }


def metadata(
    issuer: str, origin: str, destination: str, *, alert_id: str | None = None
) -> AlertMetadata:
    return AlertMetadata(
        alert_id=alert_id or str(uuid.uuid4()),
        case_ref=f"{issuer}-{uuid.uuid4().hex[:8]}",
        issuer=issuer,
        corridor=Corridor(origin, destination),
        alert_type=AlertType.REFERRAL_REQUEST,
        phase=TrmPhase.FIRST_ASSISTANCE_AND_PROTECTION,
        priority=Priority.URGENT,
        handling=HandlingCode.H1,
        tlp=Tlp.AMBER,
        data_categories=frozenset({DataCategory.IDENTITY, DataCategory.ASSISTANCE_NEEDS}),
        involves_minor=False,
        best_interests_assessed=False,
        consent=ConsentScope.FULL,
        created_at=datetime.now(UTC),
    )


@dataclass(frozen=True)
class SealedCase:
    """One sealed alert: what went in (body bytes and record) and what travels."""

    alert: SealedAlert
    body: dict[str, Any]
    body_bytes: bytes
    value: bytes

    @property
    def alert_id(self) -> str:
        return self.alert.metadata.alert_id

    @property
    def key(self) -> bytes:
        return self.alert.metadata.corridor.key.encode()


class AlertFactory:
    """Seals alerts from ``issuer`` for ``sealed_for`` with the network's real keys."""

    def __init__(
        self,
        workspace: Workspace,
        directory: Directory,
        *,
        issuer: str = "RO-ANITP",
        origin: str = "RO",
        destination: str = "AT",
        sealed_for: Sequence[str] = ("AT-BKA",),
    ) -> None:
        self.workspace = workspace
        self.directory = directory
        self.issuer = issuer
        self.origin = origin
        self.destination = destination
        self.sealed_for = tuple(sealed_for)
        self._signer = workspace.agency_keys(issuer).signing
        self._sealer = Sealer()

    def seal(self, n: int = 0, *, sealed_for: Sequence[str] | None = None) -> SealedCase:
        meta = metadata(self.issuer, self.origin, self.destination)
        body = body_record(n)
        body_bytes = CODEC.encode("AlertBody", body)
        recipients = [
            RecipientKey.for_agency(self.directory.agencies[a], meta.created_at)
            for a in (sealed_for or self.sealed_for)
        ]
        alert = self._sealer.seal(meta, body_bytes, recipients, self._signer)
        return SealedCase(
            alert, body, body_bytes, CODEC.encode("CaseAlert", alert_to_record(alert))
        )


def processor_headers(
    event: str, agreement: str = "RO-AT-POLICE-2022"
) -> list[tuple[str, str | bytes | None]]:
    return [
        ("corridor-event", event.encode()),
        ("corridor-agreement", agreement.encode()),
        ("corridor-policy-version", POLICY_VERSION.encode()),
    ]


def deliver(
    admin: Connection,
    agency_id: str,
    records: Sequence[tuple[bytes | None, bytes | None]],
    *,
    event: str = "CaseAlert",
) -> None:
    """Write records to the agency's delivery topic as the processors would (as admin)."""
    prod = producer(admin, quiet=True)
    errors: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            errors.append(err)

    for key, value in records:
        prod.produce(
            delivery_topic(agency_id),
            key=key,
            value=value,
            headers=processor_headers(event),
            on_delivery=on_delivery,
        )
        prod.poll(0)
    remaining = prod.flush(30)
    if errors:
        raise KafkaException(errors[0])
    assert remaining == 0, f"{remaining} records not delivered"


def deliver_alerts(admin: Connection, agency_id: str, cases: Sequence[SealedCase]) -> None:
    deliver(admin, agency_id, [(c.key, c.value) for c in cases])


# -- tampering ---------------------------------------------------------------------------


def flip_ciphertext(case: SealedCase) -> bytes:
    """The same alert with one ciphertext bit flipped: the signature no longer holds."""
    ciphertext = bytearray(case.alert.body_ciphertext)
    ciphertext[-1] ^= 0x01
    forged = replace(case.alert, body_ciphertext=bytes(ciphertext))
    return CODEC.encode("CaseAlert", alert_to_record(forged))


def upgrade_priority(case: SealedCase) -> bytes:
    """The same alert with its clear metadata changed after signing."""
    meta = replace(case.alert.metadata, priority=Priority.IMMEDIATE)
    return CODEC.encode("CaseAlert", alert_to_record(replace(case.alert, metadata=meta)))


def forged_by(case: SealedCase, workspace: Workspace, impostor: str) -> bytes:
    """The alert re-sealed and signed by another agency's key under the issuer's key id."""
    stolen_id = case.alert.signer_key_id
    signer = SigningKey.from_private_bytes(
        stolen_id, workspace.agency_keys(impostor).signing.private_bytes()
    )
    recipients = [
        workspace.agency_keys(w.agency_id).encryption.recipient(w.agency_id)
        for w in case.alert.recipients
    ]
    forged = Sealer().seal(case.alert.metadata, case.body_bytes, recipients, signer)
    return CODEC.encode("CaseAlert", alert_to_record(forged))


# -- other events ------------------------------------------------------------------------


def ack_for(
    case: SealedCase,
    workspace: Workspace,
    directory: Directory,
    *,
    status: AckStatus,
    note: str | None,
) -> Acknowledgement:
    """An answer by the case's first recipient to its issuer, as the processors route it."""
    sender = case.alert.recipients[0].agency_id
    meta = case.alert.metadata
    return make_ack(
        alert_id=meta.alert_id,
        corridor=meta.corridor,
        signer=workspace.agency_keys(sender).signing,
        from_agency=sender,
        issuer=directory.agencies[meta.issuer],
        status=status,
        note=note,
    )


def ack_bytes(ack: Acknowledgement) -> bytes:
    return encode_ack(ack, CODEC)


def link_notice(first: SealedCase, second: SealedCase) -> bytes:
    now = datetime.now(UTC)

    def side(case: SealedCase) -> dict[str, Any]:
        meta = case.alert.metadata
        return {"alert_id": meta.alert_id, "issuer": meta.issuer, "case_ref": meta.case_ref}

    return CODEC.encode(
        "LinkNotice",
        {
            "link_id": str(uuid.uuid4()),
            "epoch": 1,
            "first": side(first),
            "second": side(second),
            "corridor": {"origin": "RO", "destination": "AT", "transit": []},
            "created_at": now,
        },
    )


def escalation(case: SealedCase, recipient: str) -> bytes:
    now = datetime.now(UTC)
    meta = case.alert.metadata
    return CODEC.encode(
        "Escalation",
        {
            "alert_id": meta.alert_id,
            "issuer": meta.issuer,
            "recipient": recipient,
            "priority": meta.priority.value,
            "deadline": now - timedelta(hours=1),
            "raised_at": now,
            "agreement_id": "RO-AT-POLICE-2022",
        },
    )
