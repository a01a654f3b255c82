"""Domain objects to Avro records and back, alone and through the codec."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings

from corridor.codec import Codec
from corridor.codec_errors import RecordError
from corridor.domain import (
    Agency,
    AgencyKind,
    Agreement,
    AlertMetadata,
    DataCategory,
    Priority,
    SealedAlert,
)
from corridor.records import (
    AGENCY_ENTRY,
    AGREEMENT_ENTRY,
    agency_from_record,
    agency_to_record,
    agreement_from_record,
    agreement_to_record,
    alert_from_record,
    alert_to_record,
    metadata_from_record,
    metadata_to_record,
)
from tests.strategies import agencies, agreements, alert_metadata, sealed_alerts

CODEC = Codec()
PROPERTY = settings(max_examples=60, deadline=None)


@PROPERTY
@given(alert=sealed_alerts())
def test_sealed_alert_round_trips_through_the_codec(alert: SealedAlert) -> None:
    record = alert_to_record(alert)
    assert alert_from_record(record) == alert
    decoded = CODEC.decode_as("CaseAlert", CODEC.encode("CaseAlert", record))
    assert alert_from_record(decoded) == alert
    assert alert_to_record(alert_from_record(decoded)) == record


@PROPERTY
@given(metadata=alert_metadata())
def test_metadata_round_trips(metadata: AlertMetadata) -> None:
    record = metadata_to_record(metadata)
    assert metadata_from_record(record) == metadata
    data = CODEC.encode_unframed("corridor.alert.AlertMetadata", record)
    decoded = CODEC.decode_unframed("corridor.alert.AlertMetadata", data)
    assert metadata_from_record(decoded) == metadata
    assert isinstance(metadata_from_record(decoded).alert_id, str)


@PROPERTY
@given(agency=agencies())
def test_agency_round_trips_as_a_directory_entry(agency: Agency) -> None:
    record = agency_to_record(agency)
    assert agency_from_record(record) == agency
    directory_record = {
        "directory_version": 1,
        "issued_at": dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        "entry": (AGENCY_ENTRY, record),
        "authority_key_id": "authority-1",
        "signature": bytes(64),
    }
    decoded = CODEC.decode_as("DirectoryRecord", CODEC.encode("DirectoryRecord", directory_record))
    kind, entry = decoded["entry"]
    assert kind == AGENCY_ENTRY
    assert agency_from_record(entry) == agency


@PROPERTY
@given(agreement=agreements())
def test_agreement_round_trips_as_a_directory_entry(agreement: Agreement) -> None:
    record = agreement_to_record(agreement)
    assert agreement_from_record(record) == agreement
    data = CODEC.encode_unframed(AGREEMENT_ENTRY, record)
    decoded = CODEC.decode_unframed(AGREEMENT_ENTRY, data)
    assert agreement_from_record(decoded) == agreement
    assert agreement_to_record(agreement_from_record(decoded)) == decoded


@PROPERTY
@given(agreement=agreements())
def test_set_like_fields_encode_one_way_whatever_their_order(agreement: Agreement) -> None:
    reordered = dataclasses.replace(
        agreement,
        parties=frozenset(sorted(agreement.parties, reverse=True)),
        scope=dict(reversed(list(agreement.scope.items()))),
        response_deadlines=dict(reversed(list(agreement.response_deadlines.items()))),
    )
    first = CODEC.encode_unframed(AGREEMENT_ENTRY, agreement_to_record(agreement))
    second = CODEC.encode_unframed(AGREEMENT_ENTRY, agreement_to_record(reordered))
    assert first == second
    record = agreement_to_record(agreement)
    assert record["parties"] == sorted(agreement.parties)
    assert [s["agency_kind"] for s in record["scope"]] == sorted(k.value for k in agreement.scope)


def _metadata() -> AlertMetadata:
    return metadata_from_record(
        {
            "alert_id": "6f1c1f0e-7b0a-4f43-9b8e-3e2d6c1a0b9f",
            "case_ref": "Ana Secretname",
            "issuer": "RO-ANITP",
            "corridor": {"origin": "RO", "destination": "AT"},
            "alert_type": "REFERRAL_REQUEST",
            "phase": "IDENTIFICATION",
            "priority": "URGENT",
            "handling": "H1",
            "tlp": "AMBER",
            "data_categories": ["IDENTITY", "LOCATION"],
            "involves_minor": False,
            "best_interests_assessed": False,
            "consent": "FULL",
            "created_at": dt.datetime(2025, 3, 1, tzinfo=dt.UTC),
        }
    )


def test_defaulted_fields_may_be_absent() -> None:
    metadata = _metadata()
    assert metadata.addressees == ()
    assert metadata.linkage_tokens == ()
    assert metadata.corridor.transit == ()
    assert metadata.data_categories == {DataCategory.IDENTITY, DataCategory.LOCATION}


@pytest.mark.parametrize(
    ("change", "path", "problem"),
    [
        (lambda r: r.update(alert_id="Ana Secretname"), "alert_id", "must be a UUID"),
        (lambda r: r.update(alert_id=7), "alert_id", "must be a UUID, got int"),
        (lambda r: r.pop("case_ref"), "case_ref", "is missing"),
        (lambda r: r.update(tlp="Ana Secretname"), "tlp", "is not a Tlp symbol"),
        (lambda r: r.update(data_categories=["LOCATION", "IDENTITY"]), "data_categories", "sorted"),
        (
            lambda r: r.update(data_categories=["IDENTITY", "IDENTITY"]),
            "data_categories",
            "repeats",
        ),
        (
            lambda r: r.update(data_categories=["IDENTITY", "Ana"]),
            "data_categories[1]",
            "DataCategory",
        ),
        (lambda r: r.update(involves_minor=1), "involves_minor", "must be a bool, got int"),
        (lambda r: r.update(created_at=dt.datetime(2025, 1, 1)), "created_at", "timezone-aware"),
        (lambda r: r["corridor"].update(origin=None), "corridor.origin", "must be a str"),
        (lambda r: r["corridor"].update(transit="HU"), "corridor.transit", "must be a list"),
        (
            lambda r: r.update(linkage_tokens=[{"epoch": "1", "value": b""}]),
            "linkage_tokens[0].epoch",
            "int",
        ),
        (lambda r: r.update(corridor=None), "corridor", "must be a record"),
    ],
)
def test_metadata_errors_name_the_field(change: Any, path: str, problem: str) -> None:
    record = copy.deepcopy(metadata_to_record(_metadata()))
    change(record)
    with pytest.raises(RecordError) as caught:
        metadata_from_record(record, path="")
    assert caught.value.path == path
    assert problem in str(caught.value)
    assert "Ana" not in str(caught.value)


def test_alert_errors_carry_the_full_path() -> None:
    alert = SealedAlert("S", _metadata(), b"n", b"c", (), "k", b"s")
    record = alert_to_record(alert)
    record["body"]["recipients"] = [{"agency_id": "AT-BKA", "key_id": "k", "enc": "x"}]
    with pytest.raises(RecordError, match=r"^body.recipients\[0\].enc must be bytes, got str"):
        alert_from_record(record)
    record = alert_to_record(alert)
    record["metadata"]["priority"] = "SOON"
    with pytest.raises(RecordError, match=r"^metadata.priority is not a Priority symbol"):
        alert_from_record(record)


def test_to_record_refuses_naive_datetimes_and_bad_ids() -> None:
    metadata = _metadata()
    with pytest.raises(RecordError, match=r"metadata.created_at must be a timezone-aware"):
        metadata_to_record(dataclasses.replace(metadata, created_at=dt.datetime(2025, 1, 1)))
    with pytest.raises(RecordError, match=r"metadata.alert_id must be a UUID"):
        metadata_to_record(dataclasses.replace(metadata, alert_id="RO-1"))
    with pytest.raises(RecordError, match=r"metadata.alert_id"):
        metadata_to_record(dataclasses.replace(metadata, alert_id=metadata.alert_id.upper()))


def _agreement() -> Agreement:
    return agreement_from_record(
        {
            "id": "RO-AT",
            "title": "t",
            "kind": "BILATERAL",
            "parties": ["AT", "RO"],
            "alert_types": ["REFERRAL_REQUEST"],
            "scope": [{"agency_kind": "LAW_ENFORCEMENT", "categories": ["IDENTITY"]}],
            "valid_from": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
            "status": "ACTIVE",
        }
    )


def test_agreement_defaults_and_deadlines() -> None:
    agreement = _agreement()
    assert agreement.valid_to is None
    assert agreement.child_safeguards is True
    assert agreement.retention_days == 365
    assert agreement.response_deadlines == {}
    assert agreement.scope == {AgencyKind.LAW_ENFORCEMENT: frozenset({DataCategory.IDENTITY})}
    timed = dataclasses.replace(
        agreement, response_deadlines={Priority.URGENT: dt.timedelta(hours=4)}
    )
    record = agreement_to_record(timed)
    assert record["response_deadlines"] == [{"priority": "URGENT", "seconds": 14400}]
    assert agreement_from_record(record) == timed


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.update(parties=["RO", "AT"]), "parties must be sorted"),
        (
            lambda r: r.update(scope=[{"agency_kind": "PROSECUTION", "categories": []}] * 2),
            "scope must be sorted and without repeats",
        ),
        (
            lambda r: r.update(response_deadlines=[{"priority": "URGENT", "seconds": 2**60}]),
            r"response_deadlines\[0\].seconds is out of range",
        ),
        (lambda r: r.update(retention_days="365"), "retention_days must be an int"),
        (lambda r: r.update(valid_to=dt.datetime(2030, 1, 1)), "valid_to must be a timezone-aware"),
    ],
)
def test_agreement_errors(change: Any, message: str) -> None:
    record = agreement_to_record(_agreement())
    change(record)
    with pytest.raises(RecordError, match=message):
        agreement_from_record(record)


def test_fractional_deadlines_cannot_be_represented() -> None:
    agreement = dataclasses.replace(
        _agreement(), response_deadlines={Priority.ROUTINE: dt.timedelta(seconds=1.5)}
    )
    with pytest.raises(RecordError, match=r"response_deadlines\[ROUTINE\] must be whole seconds"):
        agreement_to_record(agreement)


def test_agency_public_key_errors_name_the_key() -> None:
    record: dict[str, Any] = {
        "id": "AT-BKA",
        "name": "n",
        "country": "AT",
        "kind": "LAW_ENFORCEMENT",
        "cleared_for_children": True,
        "signing_keys": [],
        "encryption_keys": [{"key_id": "e1", "public_key": b"k", "valid_from": None}],
    }
    with pytest.raises(RecordError, match=r"^encryption_keys\[0\].valid_from must be a timezone"):
        agency_from_record(record)
    record["encryption_keys"] = []
    assert agency_from_record(record).status.value == "ACTIVE"
