"""Turning delivery-topic records into deliveries or rejections, without a broker."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from consumers.documents import Delivery, DeliveryKind, jsonable
from consumers.handling import DeliveryHandler, Rejection, SourceRecord
from corridor.acks import encode_ack, make_ack
from corridor.codec import Codec
from corridor.domain import (
    AckStatus,
    Agency,
    AgencyKind,
    Directory,
    Priority,
    PublicKey,
)
from corridor.envelope import EncryptionKey, RecipientKey, Sealer, SigningKey
from corridor.keys import AgencyKeys
from corridor.records import alert_to_record
from tests.consumer_factories import body_record, metadata

CODEC = Codec()
SINCE = datetime.now(UTC) - timedelta(days=1)
SOURCE = SourceRecord(
    "corridor.deliver.AT-BKA", 1, 42, (("corridor-agreement", b"RO-AT-POLICE-2022"),)
)


def _keys(agency_id: str) -> AgencyKeys:
    return AgencyKeys(
        agency_id,
        SigningKey.generate(f"{agency_id}-sig"),
        EncryptionKey.generate(f"{agency_id}-enc"),
        SINCE,
    )


KEYS = {a: _keys(a) for a in ("RO-ANITP", "AT-BKA", "DE-BKA")}


def _agency(keys: AgencyKeys) -> Agency:
    return Agency(
        id=keys.agency_id,
        name=keys.agency_id,
        country=keys.agency_id[:2],
        kind=AgencyKind.LAW_ENFORCEMENT,
        cleared_for_children=True,
        signing_keys=(PublicKey(keys.signing.key_id, keys.signing.public_bytes(), SINCE),),
        encryption_keys=(PublicKey(keys.encryption.key_id, keys.encryption.public_bytes(), SINCE),),
    )


DIRECTORY = Directory(
    version=1,
    issued_at=SINCE,
    agencies={a: _agency(k) for a, k in KEYS.items()},
    agreements={},
)


def _handler(agency_id: str = "AT-BKA") -> DeliveryHandler:
    return DeliveryHandler(
        agency_id=agency_id, keys=KEYS[agency_id], codec=CODEC, directory=lambda: DIRECTORY
    )


def _seal(
    *recipients: str, body: bytes | None = None, signer: str = "RO-ANITP"
) -> tuple[bytes, bytes]:
    meta = metadata("RO-ANITP", "RO", "AT")
    plain = CODEC.encode("AlertBody", body_record(3)) if body is None else body
    keys = [RecipientKey.for_agency(DIRECTORY.agencies[r], meta.created_at) for r in recipients]
    signing = KEYS[signer].signing
    alert = Sealer().seal(meta, plain, keys, signing)
    return CODEC.encode("CaseAlert", alert_to_record(alert)), plain


def _delivered(result: Delivery | Rejection) -> Delivery:
    assert isinstance(result, Delivery), result
    return result


def _rejected(result: Delivery | Rejection) -> str:
    assert isinstance(result, Rejection), result
    return result.reason


def test_an_alert_sealed_for_the_agency_is_opened_and_validated() -> None:
    value, plain = _seal("AT-BKA", "DE-BKA")
    delivery = _delivered(_handler().handle(value, SOURCE))
    assert delivery.kind is DeliveryKind.ALERT
    assert delivery.body == plain
    assert delivery.document["body"] == jsonable(body_record(3))
    assert delivery.document["delivery"]["agreement_id"] == "RO-AT-POLICE-2022"
    assert delivery.document["delivery"]["offset"] == 42
    assert delivery.document["sealed_for"] == ["AT-BKA", "DE-BKA"]
    assert delivery.idempotency_key == f"alert:{delivery.alert_id}"


def test_an_alert_sealed_for_others_keeps_its_metadata_only() -> None:
    value, _ = _seal("DE-BKA")
    delivery = _delivered(_handler().handle(value, SOURCE))
    assert delivery.kind is DeliveryKind.SEALED_FOR_OTHERS
    assert delivery.body is None
    assert delivery.document["body"] is None
    assert delivery.document["metadata"]["issuer"] == "RO-ANITP"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: None, "UNDECODABLE"),
        (lambda: b"", "UNDECODABLE"),
        (lambda: b"\xc3\x01" + bytes(8), "UNDECODABLE"),
        (lambda: b'{"json": true}', "UNDECODABLE"),
        (lambda: _seal("AT-BKA", signer="DE-BKA")[0], "UNKNOWN_KEY"),
        (lambda: _seal("AT-BKA", body=b"not an AlertBody")[0], "BODY_UNDECODABLE"),
        (
            lambda: CODEC.encode(
                "Escalation",
                {
                    "alert_id": str(uuid.uuid4()),
                    "issuer": "RO-ANITP",
                    "recipient": "AT-BKA",
                    "priority": "URGENT",
                    "deadline": SINCE,
                    "raised_at": SINCE,
                    "agreement_id": "X",
                },
            )[:-3],
            "UNDECODABLE",
        ),
    ],
)
def test_bad_records_are_rejected_with_a_reason(make: object, reason: str) -> None:
    assert callable(make)
    assert _rejected(_handler().handle(make(), SOURCE)) == reason


def test_a_record_whose_body_was_altered_fails_the_signature() -> None:
    value, _ = _seal("AT-BKA")
    record = CODEC.decode_as("CaseAlert", value)
    record["body"]["ciphertext"] = record["body"]["ciphertext"][:-1] + b"\x00"
    altered = CODEC.encode("CaseAlert", record)
    assert _rejected(_handler().handle(altered, SOURCE)) == "BAD_SIGNATURE"


def test_an_unknown_issuer_and_an_unexpected_event_are_rejected() -> None:
    value, _ = _seal("AT-BKA")
    record = CODEC.decode_as("CaseAlert", value)
    record["metadata"]["issuer"] = "FR-NOBODY"
    assert _rejected(_handler().handle(CODEC.encode("CaseAlert", record), SOURCE)) == (
        "UNKNOWN_ISSUER"
    )
    audit = CODEC.encode(
        "AuditRecord",
        {
            "alert_id": str(uuid.uuid4()),
            "corridor_key": "RO>AT",
            "issuer": "RO-ANITP",
            "recipient": "AT-BKA",
            "outcome": "ALLOW",
            "reason": "ALLOWED",
            "agreement_id": None,
            "policy_version": "1",
            "decided_at": SINCE,
            "processor_id": "p",
        },
    )
    assert _rejected(_handler().handle(audit, SOURCE)) == "UNEXPECTED_EVENT"


def test_a_key_wrapped_for_the_agency_under_another_key_does_not_open() -> None:
    meta = metadata("RO-ANITP", "RO", "AT")
    wrong = RecipientKey(
        "AT-BKA", KEYS["AT-BKA"].encryption.key_id, EncryptionKey.generate("x").public_bytes()
    )
    alert = Sealer().seal(meta, b"body", [wrong], KEYS["RO-ANITP"].signing)
    value = CODEC.encode("CaseAlert", alert_to_record(alert))
    assert _rejected(_handler().handle(value, SOURCE)) == "OPEN_FAILED"


def _ack(status: AckStatus, note: str | None, *, signer: str = "AT-BKA") -> bytes:
    ack = make_ack(
        alert_id=str(uuid.uuid4()),
        corridor=metadata("RO-ANITP", "RO", "AT").corridor,
        signer=KEYS[signer].signing,
        from_agency="AT-BKA",
        issuer=DIRECTORY.agencies["RO-ANITP"],
        status=status,
        note=note,
    )
    return encode_ack(ack, CODEC)


def test_the_issuer_receives_a_verified_answer_with_its_note_opened() -> None:
    delivery = _delivered(
        _handler("RO-ANITP").handle(_ack(AckStatus.NEED_INFO, "passport?"), SOURCE)
    )
    assert delivery.kind is DeliveryKind.ACKNOWLEDGEMENT
    assert delivery.document["status"] == "NEED_INFO"
    assert delivery.document["note"] == "passport?"
    assert delivery.document["note_readable"] is True


def test_answers_forged_or_for_another_issuer_are_rejected() -> None:
    forged = _ack(AckStatus.ACCEPTED, None, signer="DE-BKA")
    assert _rejected(_handler("RO-ANITP").handle(forged, SOURCE)) == "UNKNOWN_KEY"
    elsewhere = _ack(AckStatus.ACCEPTED, None)
    assert _rejected(_handler("DE-BKA").handle(elsewhere, SOURCE)) == "NOT_ADDRESSED"


def test_link_notices_and_escalations_are_delivered_with_stable_ids() -> None:
    ours, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    link = {
        "link_id": str(uuid.uuid4()),
        "epoch": 1,
        "first": {"alert_id": theirs, "issuer": "DE-BKA", "case_ref": "d"},
        "second": {"alert_id": ours, "issuer": "RO-ANITP", "case_ref": "r"},
        "corridor": {"origin": "RO", "destination": "AT", "transit": []},
        "created_at": SINCE,
    }
    delivery = _delivered(_handler("RO-ANITP").handle(CODEC.encode("LinkNotice", link), SOURCE))
    assert delivery.kind is DeliveryKind.LINK_NOTICE
    assert delivery.alert_id == ours
    assert delivery.event_id == link["link_id"]
    escalation = {
        "alert_id": ours,
        "issuer": "RO-ANITP",
        "recipient": "AT-BKA",
        "priority": "URGENT",
        "deadline": SINCE,
        "raised_at": SINCE + timedelta(hours=1),
        "agreement_id": "RO-AT-POLICE-2022",
    }
    first = _delivered(_handler("RO-ANITP").handle(CODEC.encode("Escalation", escalation), SOURCE))
    again = _delivered(_handler("RO-ANITP").handle(CODEC.encode("Escalation", escalation), SOURCE))
    assert first.kind is DeliveryKind.ESCALATION
    assert first.event_id == again.event_id
    later = replace(first, event_id="x")
    assert later.idempotency_key != first.idempotency_key


def test_documents_render_every_decoded_type_as_json() -> None:
    when = datetime(2026, 3, 4, 5, 6, 7, 89, tzinfo=UTC)
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    value = {
        "text": "ă",
        "n": 3,
        "x": 1.5,
        "flag": True,
        "none": None,
        "priority": Priority.URGENT,
        "when": when,
        "id": ident,
        "raw": b"\x00\x01",
        "nested": [{"k": (1, 2)}, frozenset({"a"})],
        7: "int key",
    }
    assert jsonable(value) == {
        "text": "ă",
        "n": 3,
        "x": 1.5,
        "flag": True,
        "none": None,
        "priority": "URGENT",
        "when": "2026-03-04T05:06:07.000089Z",
        "id": "12345678-1234-5678-1234-567812345678",
        "raw": "AAE=",
        "nested": [{"k": [1, 2]}, ["a"]],
        "7": "int key",
    }
