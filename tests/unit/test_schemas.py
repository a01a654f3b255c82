"""The .avsc files: documented, namespaced, in step with the domain, loadable alone."""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from fastavro.schema import parse_schema

import schemas
from corridor import domain

SCHEMA_DIR = Path(schemas.__file__).parent

#: Each Avro enumeration that mirrors a domain enumeration.
MIRRORED_ENUMS: dict[str, type[StrEnum]] = {
    "corridor.common.AlertType": domain.AlertType,
    "corridor.common.Priority": domain.Priority,
    "corridor.common.DataCategory": domain.DataCategory,
    "corridor.common.AgencyKind": domain.AgencyKind,
    "corridor.alert.TrmPhase": domain.TrmPhase,
    "corridor.alert.HandlingCode": domain.HandlingCode,
    "corridor.alert.Tlp": domain.Tlp,
    "corridor.alert.ConsentScope": domain.ConsentScope,
    "corridor.ack.AckStatus": domain.AckStatus,
    "corridor.directory.AgencyStatus": domain.AgencyStatus,
    "corridor.directory.AgreementKind": domain.AgreementKind,
    "corridor.directory.AgreementStatus": domain.AgreementStatus,
}

#: Each Avro record that mirrors a domain dataclass, with the fields that differ by design.
MIRRORED_RECORDS: dict[str, tuple[type[Any], dict[str, str]]] = {
    "corridor.alert.AlertMetadata": (domain.AlertMetadata, {}),
    "corridor.common.Corridor": (domain.Corridor, {}),
    "corridor.alert.LinkageToken": (domain.LinkageToken, {}),
    "corridor.common.WrappedKey": (domain.WrappedKey, {}),
    "corridor.directory.PublicKeyEntry": (domain.PublicKey, {}),
    "corridor.directory.AgencyEntry": (domain.Agency, {}),
    "corridor.directory.AgreementEntry": (domain.Agreement, {}),
}


def named_types(schema: Any, namespace: str | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every named type a schema defines, with its full name."""
    if isinstance(schema, list):
        for branch in schema:
            yield from named_types(branch, namespace)
        return
    if not isinstance(schema, dict):
        return
    kind = schema["type"]
    if kind in ("record", "enum", "fixed"):
        name = schema["name"]
        ns = schema.get("namespace", namespace)
        full = name if "." in name or not ns else f"{ns}.{name}"
        yield full, schema
        for field in schema.get("fields", ()):
            yield from named_types(field["type"], full.rpartition(".")[0])
    elif kind == "array":
        yield from named_types(schema["items"], namespace)
    elif kind == "map":
        yield from named_types(schema["values"], namespace)
    elif not isinstance(kind, str):
        yield from named_types(kind, namespace)


def all_named_types() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for name in schemas.names():
        found.update(named_types(schemas.expanded(name)))
    return found


def test_the_schema_folder_holds_the_events_and_the_shared_types_only() -> None:
    files = {path.stem for path in SCHEMA_DIR.glob("*.avsc")}
    assert files == {*schemas.names(), schemas.COMMON}
    assert schemas.names() == schemas.EVENTS
    assert len(set(schemas.names())) == len(schemas.names())


@pytest.mark.parametrize("name", [*schemas.names(), schemas.COMMON])
def test_every_type_and_field_is_documented(name: str) -> None:
    undocumented = []
    for full, schema in named_types(schemas.read_json(name)):
        if not schema.get("doc", "").strip():
            undocumented.append(full)
        for field in schema.get("fields", ()):
            if not field.get("doc", "").strip():
                undocumented.append(f"{full}.{field['name']}")
    assert undocumented == []


@pytest.mark.parametrize("name", schemas.names())
def test_events_are_namespaced_under_corridor(name: str) -> None:
    full_names = [full for full, _ in named_types(schemas.expanded(name))]
    assert full_names[0].rpartition(".")[2] == name
    assert all(full.startswith("corridor.") for full in full_names)


def test_shared_types_are_defined_once() -> None:
    common = [full for full, _ in named_types(schemas.read_json(schemas.COMMON))]
    assert all(full.startswith("corridor.common.") for full in common)
    for name in schemas.names():
        local = [full for full, _ in named_types(schemas.read_json(name))]
        assert not set(local) & set(common), f"{name}.avsc redefines a shared type"
        assert len(local) == len(set(local))


def test_every_domain_enumeration_has_its_avro_mirror() -> None:
    domain_enums = {
        obj
        for _, obj in inspect.getmembers(domain, inspect.isclass)
        if issubclass(obj, StrEnum) and obj is not StrEnum
    }
    assert domain_enums == set(MIRRORED_ENUMS.values())


@pytest.mark.parametrize("full_name", sorted(MIRRORED_ENUMS))
def test_enum_symbols_equal_the_domain_values(full_name: str) -> None:
    schema = all_named_types()[full_name]
    assert schema["symbols"] == [member.value for member in MIRRORED_ENUMS[full_name]]


@pytest.mark.parametrize("full_name", sorted(MIRRORED_RECORDS))
def test_records_mirror_the_domain_dataclasses(full_name: str) -> None:
    cls, renamed = MIRRORED_RECORDS[full_name]
    schema = all_named_types()[full_name]
    avro_fields = {renamed.get(f["name"], f["name"]) for f in schema["fields"]}
    assert avro_fields == {f.name for f in dataclasses.fields(cls)}


def test_enums_that_may_grow_default_to_other_and_security_enums_do_not() -> None:
    types = all_named_types()
    for full in MIRRORED_ENUMS:
        assert "default" not in types[full], f"{full}: an unknown symbol must fail, not degrade"
    growing = [
        "corridor.body.ExploitationType",
        "corridor.body.LocationRole",
        "corridor.body.AssistanceNeed",
        "corridor.body.DocumentKind",
        "corridor.body.SuspectRole",
    ]
    for full in growing:
        assert types[full]["default"] == "OTHER"
        assert "OTHER" in types[full]["symbols"]


def test_alert_body_exploitation_types_and_location_roles() -> None:
    types = all_named_types()
    assert types["corridor.body.ExploitationType"]["symbols"] == [
        "SEXUAL",
        "LABOUR",
        "FORCED_CRIMINALITY",
        "FORCED_BEGGING",
        "DOMESTIC_SERVITUDE",
        "FORCED_MARRIAGE",
        "ORGAN_REMOVAL",
        "OTHER",
    ]
    assert types["corridor.body.LocationRole"]["symbols"] == [
        "RECRUITMENT",
        "TRANSIT",
        "EXPLOITATION",
        "CURRENT",
        "OTHER",
    ]


def test_schemas_hold_no_maps() -> None:
    # Map entries have no defined order, so one record could encode two ways.
    for name in schemas.names():
        assert '"map"' not in json.dumps(schemas.expanded(name))


def test_audit_and_dead_letter_have_no_place_for_personal_data() -> None:
    audit = {f["name"] for f in schemas.expanded("AuditRecord")["fields"]}
    assert audit == {
        "alert_id",
        "corridor_key",
        "issuer",
        "recipient",
        "outcome",
        "reason",
        "agreement_id",
        "policy_version",
        "decided_at",
        "processor_id",
        "priority",
    }
    case_alert = json.dumps(schemas.expanded("CaseAlert"))
    assert "given_names" not in case_alert
    assert "narrative" not in case_alert


# -- the loader ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", schemas.names())
def test_expanded_schemas_stand_alone(name: str) -> None:
    expanded = schemas.expanded(name)
    parsed = parse_schema(json.loads(json.dumps(expanded)), named_schemas={})
    assert isinstance(parsed, dict)
    assert parsed["name"] == f"{expanded['namespace']}.{name}"
    full_names = [full for full, _ in named_types(expanded)]
    assert len(full_names) == len(set(full_names)), "a named type is defined twice"
    assert schemas.load(name)["name"] == parsed["name"]


def test_expanded_returns_a_fresh_copy() -> None:
    first = schemas.expanded("Escalation")
    first["fields"].clear()
    assert schemas.expanded("Escalation")["fields"]


def test_schema_path_and_unknown_names() -> None:
    assert schemas.schema_path("CaseAlert") == SCHEMA_DIR / "CaseAlert.avsc"
    assert schemas.history_path("CaseAlert", 2) == SCHEMA_DIR / "history" / "CaseAlert" / "v2.avsc"
    with pytest.raises(schemas.SchemaNotFoundError, match="no schema named 'Alert'"):
        schemas.schema_path("Alert")
    with pytest.raises(schemas.SchemaNotFoundError):
        schemas.history("Alert")
    with pytest.raises(schemas.SchemaNotFoundError, match="start at 1"):
        schemas.history_path("CaseAlert", 0)


def test_unknown_and_duplicate_types_are_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    real = schemas.read_json

    def read_json(name: str) -> Any:
        if name == "Escalation":
            return {
                "type": "record",
                "name": "Escalation",
                "namespace": "corridor.escalation",
                "fields": [{"name": "x", "type": "corridor.common.Nope"}],
            }
        if name == "DeadLetter":
            enum = {"type": "enum", "name": "E", "symbols": ["A"]}
            return {
                "type": "record",
                "name": "DeadLetter",
                "namespace": "corridor.dlq",
                "fields": [{"name": "a", "type": enum}, {"name": "b", "type": enum}],
            }
        return real(name)

    monkeypatch.setattr(schemas, "read_json", read_json)
    with pytest.raises(
        schemas.SchemaDefinitionError, match=r"'corridor.common.Nope' is not defined"
    ):
        schemas.expanded("Escalation")
    with pytest.raises(schemas.SchemaDefinitionError, match=r"'corridor.dlq.E' is defined twice"):
        schemas.expanded("DeadLetter")


def test_package_data_covers_every_schema_file() -> None:
    text = (SCHEMA_DIR.parent / "pyproject.toml").read_text(encoding="utf-8")
    assert '"*.avsc"' in text
    assert '"history/*/*.avsc"' in text
    for path in SCHEMA_DIR.rglob("*.avsc"):
        depth = len(path.relative_to(SCHEMA_DIR).parts)
        assert depth in (1, 3), f"{path} would not ship with the package"
