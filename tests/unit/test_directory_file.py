"""The directory file format: loading, every validation rule, and the round trip."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from corridor.countries import ISO_3166_ALPHA2
from corridor.directory import (
    DirectoryError,
    directory_to_data,
    load_directory,
    parse_agency,
    parse_agreement,
    parse_directory,
)
from corridor.domain import AgencyKind, AgreementStatus, Priority
from corridor.exceptions import CorridorError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "directory.json"
KEY_A = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
KEY_B = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="


def agency_data(agency_id: str = "AT-BKA", **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": agency_id,
        "name": "Federal Criminal Police Office",
        "country": agency_id[:2],
        "kind": "LAW_ENFORCEMENT",
        "cleared_for_children": True,
        "signing_keys": [
            {"key_id": "sig-1", "public_key": KEY_A, "valid_from": "2024-01-01T00:00:00Z"}
        ],
        "encryption_keys": [
            {"key_id": "enc-1", "public_key": KEY_B, "valid_from": "2024-01-01T00:00:00+01:00"}
        ],
    }
    data.update(changes)
    return data


def agreement_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "RO-AT-1",
        "title": "Romania-Austria",
        "kind": "BILATERAL",
        "parties": ["RO", "AT"],
        "alert_types": ["REFERRAL_REQUEST", "CASE_CLOSED"],
        "scope": {"LAW_ENFORCEMENT": ["IDENTITY", "LOCATION"], "CONSULAR": []},
        "valid_from": "2024-01-01T00:00:00Z",
        "valid_to": "2027-01-01T00:00:00Z",
        "status": "ACTIVE",
        "child_safeguards": True,
        "response_deadlines": {"IMMEDIATE": "PT4H", "ROUTINE": "P2DT12H"},
        "retention_days": 730,
    }
    data.update(changes)
    return data


def directory_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": 3,
        "issued_at": "2025-01-01T00:00:00Z",
        "agencies": [agency_data(), agency_data("RO-IGPR")],
        "agreements": [agreement_data()],
    }
    data.update(changes)
    return data


def problems_of(data: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(DirectoryError) as caught:
        parse_directory(data)
    assert isinstance(caught.value, CorridorError)
    assert not caught.value.retriable
    for problem in caught.value.problems:
        assert problem in str(caught.value)
    return caught.value.problems


def test_example_network_loads() -> None:
    directory = load_directory(EXAMPLE)
    assert len(directory.agencies) >= 12
    assert len({a.country for a in directory.agencies.values()}) >= 6
    assert len({a.kind for a in directory.agencies.values()}) >= 5
    statuses = {a.status for a in directory.agreements.values()}
    assert AgreementStatus.SUSPENDED in statuses
    assert any(len(a.parties) == 2 for a in directory.agreements.values())
    assert any(len(a.parties) > 2 for a in directory.agreements.values())
    assert all(k.key_id.endswith("-sample") for a in directory.agencies.values()
               for k in a.signing_keys + a.encryption_keys)  # fmt: skip


def test_parsed_values_are_typed_and_in_utc() -> None:
    directory = parse_directory(directory_data())
    agency = directory.agencies["AT-BKA"]
    assert agency.kind is AgencyKind.LAW_ENFORCEMENT
    assert agency.signing_keys[0].public_key == bytes(32)
    assert agency.encryption_keys[0].valid_from == datetime(2023, 12, 31, 23, tzinfo=UTC)
    agreement = directory.agreements["RO-AT-1"]
    assert agreement.parties == frozenset({"RO", "AT"})
    assert agreement.response_deadlines[Priority.ROUTINE] == timedelta(days=2, hours=12)
    assert agreement.scope[AgencyKind.CONSULAR] == frozenset()


def test_directory_is_read_only() -> None:
    directory = parse_directory(directory_data())
    with pytest.raises(TypeError):
        directory.agencies["XX-NEW"] = directory.agencies["AT-BKA"]  # type: ignore[index]


def test_round_trip_is_exact() -> None:
    for directory in (parse_directory(directory_data()), load_directory(EXAMPLE)):
        data = directory_to_data(directory)
        assert parse_directory(data) == directory
        assert directory_to_data(parse_directory(json.loads(json.dumps(data)))) == data


def test_toml_has_the_same_structure(tmp_path: Path) -> None:
    toml = tmp_path / "directory.toml"
    toml.write_text(
        f"""
version = 3
issued_at = 2025-01-01T00:00:00Z
agreements = []

[[agencies]]
id = "AT-BKA"
name = "Federal Criminal Police Office"
country = "AT"
kind = "LAW_ENFORCEMENT"
cleared_for_children = true
signing_keys = [{{ key_id = "sig-1", public_key = "{KEY_A}", valid_from = 2024-01-01T00:00:00Z }}]
encryption_keys = [{{ key_id = "enc-1", public_key = "{KEY_B}", valid_from = "2024-01-01T00:00:00Z" }}]
""",
        encoding="utf-8",
    )
    directory = load_directory(toml)
    assert directory.version == 3
    assert directory.agencies["AT-BKA"].signing_keys[0].valid_from == datetime(
        2024, 1, 1, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"country": "XX"}, "agencies[0] (AT-BKA).country: 'XX' is not an ISO 3166-1 alpha-2 code"),
        ({"country": "at"}, "agencies[0] (AT-BKA).country: 'at' is not a two-letter country code"),
        ({"id": "at-bka"}, "agencies[0] (at-bka).id: 'at-bka' is not an agency id"),
        ({"country": "DE"}, "agencies[0] (AT-BKA).id: prefix 'AT' differs from country 'DE'"),
        ({"kind": "POLICE"}, "agencies[0] (AT-BKA).kind: 'POLICE' is not one of"),
        ({"status": "GONE"}, "agencies[0] (AT-BKA).status: 'GONE' is not one of"),
        ({"cleared_for_children": "yes"}, "agencies[0] (AT-BKA).cleared_for_children: expected"),
        ({"name": " "}, "agencies[0] (AT-BKA).name: expected a non-empty string"),
        ({"colour": "red"}, "agencies[0] (AT-BKA).colour: is not a known field"),
        ({"signing_keys": []}, "agencies[0] (AT-BKA).signing_keys: needs at least one key"),
    ],
)
def test_agency_problems_name_entry_and_field(change: dict[str, Any], expected: str) -> None:
    data = directory_data(agencies=[agency_data(**change), agency_data("RO-IGPR")])
    assert any(p.startswith(expected) for p in problems_of(data)), problems_of(data)


@pytest.mark.parametrize(
    ("key_change", "expected"),
    [
        ({"public_key": "AAAA"}, "public_key: decodes to 3 bytes, expected 32"),
        ({"public_key": "not base64!"}, "public_key: is not standard base64"),
        ({"public_key": KEY_A.rstrip("=")}, "public_key: is not standard base64"),
        (
            {"valid_from": "2024-01-01T00:00:00"},
            "valid_from: '2024-01-01T00:00:00' has no timezone",
        ),
        ({"valid_from": "soon"}, "valid_from: 'soon' is not an ISO-8601 date-time"),
        ({"valid_to": "2023-01-01T00:00:00Z"}, "valid_to: must be later than valid_from"),
        ({"key_id": "bad id"}, "key_id: 'bad id' is not a key id"),
    ],
)
def test_key_problems(key_change: dict[str, Any], expected: str) -> None:
    agency = agency_data()
    agency["signing_keys"][0].update(key_change)
    data = directory_data(agencies=[agency, agency_data("RO-IGPR")])
    prefix = "agencies[0] (AT-BKA).signing_keys[0]."
    assert prefix + expected in problems_of(data)


def test_key_ids_are_unique_within_an_agency() -> None:
    agency = agency_data()
    agency["signing_keys"].append(dict(agency["signing_keys"][0]))
    data = directory_data(agencies=[agency, agency_data("RO-IGPR")])
    assert "agencies[0] (AT-BKA).signing_keys[1].key_id: 'sig-1' is used twice" in problems_of(data)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"parties": ["RO", "AT", "DE"]}, "parties: a BILATERAL agreement has exactly 2 parties"),
        ({"kind": "MULTILATERAL", "parties": ["RO"]}, "parties: an agreement needs at least 2"),
        ({"parties": ["RO", "RO"]}, "parties[1]: RO is listed twice"),
        ({"parties": ["RO", "UK"]}, "parties[1]: 'UK' is not an ISO 3166-1 alpha-2 code"),
        ({"parties": ["RO", "FR"]}, "parties: 'FR' has no agency in the directory"),
        ({"alert_types": []}, "alert_types: must not be empty"),
        ({"alert_types": ["GOSSIP"]}, "alert_types[0]: 'GOSSIP' is not one of"),
        ({"scope": {"POLICE": []}}, "scope.POLICE: 'POLICE' is not one of"),
        ({"scope": {"CONSULAR": ["SHOE_SIZE"]}}, "scope.CONSULAR[0]: 'SHOE_SIZE' is not one of"),
        ({"scope": {}}, "scope: must name at least one agency kind"),
        ({"valid_to": "2023-01-01T00:00:00Z"}, "valid_to: must be later than valid_from"),
        ({"status": "PAUSED"}, "status: 'PAUSED' is not one of"),
        ({"response_deadlines": {"URGENT": "PT0H"}}, "response_deadlines.URGENT: 'PT0H' must be"),
        ({"response_deadlines": {"URGENT": "4 hours"}}, "response_deadlines.URGENT: '4 hours' is"),
        ({"response_deadlines": {"SOON": "PT4H"}}, "response_deadlines.SOON: 'SOON' is not one"),
        ({"retention_days": 0}, "retention_days: expected an integer >= 1, got 0"),
        ({"retention_days": True}, "retention_days: expected an integer >= 1, got True"),
        ({"id": "no spaces allowed"}, "id: 'no spaces allowed' is not an agreement id"),
    ],
)
def test_agreement_problems_name_entry_and_field(change: dict[str, Any], expected: str) -> None:
    data = directory_data(agreements=[agreement_data(**change)])
    label = f"agreements[0] ({change.get('id', 'RO-AT-1')})."
    found = problems_of(data)
    assert any(p.startswith(label + expected) for p in found), found


def test_ids_are_unique() -> None:
    data = directory_data(
        agencies=[agency_data(), agency_data("RO-IGPR"), agency_data()],
        agreements=[agreement_data(), agreement_data()],
    )
    found = problems_of(data)
    assert "agencies[2] (AT-BKA).id: is already used by agencies[0]" in found
    assert "agreements[1] (RO-AT-1).id: is already used by an earlier agreement" in found


def test_all_problems_are_reported_at_once() -> None:
    data = directory_data(
        version=0,
        issued_at="yesterday",
        agencies=[agency_data(country="XX"), agency_data("RO-IGPR", kind="SPY")],
        agreements=[agreement_data(parties=["RO"]), {"id": "EMPTY"}],
        extra=True,
    )
    found = problems_of(data)
    assert len(found) >= 8
    assert found[0] == "extra: is not a known field"
    assert "version: expected an integer >= 1, got 0" in found
    assert "agreements[1] (EMPTY).title: is required" in found
    # A missing field is reported once, not again as a wrong type.
    assert not any(p.startswith("agreements[1] (EMPTY).title: expected") for p in found)


def test_a_bad_agency_does_not_make_its_agreements_look_wrong() -> None:
    data = directory_data(agencies=[agency_data(kind="SPY"), agency_data("RO-IGPR")])
    assert not any("has no agency" in p for p in problems_of(data))


def test_required_top_level_fields() -> None:
    found = problems_of({})
    assert set(found) == {
        f"{n}: is required" for n in ("version", "issued_at", "agencies", "agreements")
    }


def test_single_entries_parse_alone() -> None:
    assert parse_agency(agency_data()).id == "AT-BKA"
    assert parse_agreement(agreement_data()).id == "RO-AT-1"
    with pytest.raises(DirectoryError, match=r"agency \(AT-BKA\)\.kind"):
        parse_agency(agency_data(kind="SPY"))


def test_country_list_is_the_real_one() -> None:
    assert len(ISO_3166_ALPHA2) == 249
    assert {"RO", "MD", "UA", "AT", "GB", "SS", "BQ"} <= ISO_3166_ALPHA2
    assert not {"UK", "EU", "XX", "YU", "AN"} & ISO_3166_ALPHA2


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(DirectoryError, match=r"ends in \.json or \.toml"):
        load_directory(tmp_path / "directory.yaml")
    with pytest.raises(DirectoryError, match="cannot be read"):
        load_directory(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(DirectoryError, match="not valid JSON"):
        load_directory(broken)
    twice = tmp_path / "twice.json"
    twice.write_text('{"version": 1, "version": 2}', encoding="utf-8")
    with pytest.raises(DirectoryError, match="'version' appears twice"):
        load_directory(twice)
    listed = tmp_path / "list.json"
    listed.write_text("[]", encoding="utf-8")
    with pytest.raises(DirectoryError, match="top level must be an object"):
        load_directory(listed)


def test_file_problems_keep_their_list(tmp_path: Path) -> None:
    data = copy.deepcopy(directory_data(version="three"))
    path = tmp_path / "directory.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(DirectoryError) as caught:
        load_directory(path)
    assert caught.value.problems == ("version: expected an integer >= 1, got 'three'",)
    assert str(path) in str(caught.value)
