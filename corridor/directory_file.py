"""The directory file: agencies and agreements as plain data (JSON or TOML) and back.

Everything the policy and the envelope trust comes from here, so nothing half-valid gets
through: every field is checked, every problem is reported at once, and the result is
immutable. ``directory_to_data`` is the exact inverse, used to publish and sign entries.
The format is described in ``docs/directory-format.md``.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from corridor.countries import COUNTRY_CODES
from corridor.directory_fields import (
    Checker,
    DirectoryError,
    encode_key,
    format_duration,
    format_timestamp,
    show,
)
from corridor.domain import (
    AGENCY_ID,
    COUNTRY_CODE,
    Agency,
    AgencyKind,
    AgencyStatus,
    Agreement,
    AgreementKind,
    AgreementStatus,
    AlertType,
    DataCategory,
    Directory,
    Priority,
    PublicKey,
)

__all__ = [
    "AGREEMENT_ID",
    "KEY_ID",
    "DirectoryError",
    "agency_to_data",
    "agreement_to_data",
    "directory_to_data",
    "load_directory",
    "parse_agency",
    "parse_agreement",
    "parse_directory",
]

AGREEMENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
PUBLIC_KEY_BYTES = 32

_AGENCY_REQUIRED = (
    "id",
    "name",
    "country",
    "kind",
    "cleared_for_children",
    "signing_keys",
    "encryption_keys",
)
_AGREEMENT_REQUIRED = ("id", "title", "kind", "parties", "alert_types", "scope", "valid_from")
_AGREEMENT_OPTIONAL = (
    "valid_to",
    "status",
    "child_safeguards",
    "response_deadlines",
    "retention_days",
)


def _label(data: object, where: str) -> str:
    entry_id = data.get("id") if isinstance(data, Mapping) else None
    return f"{where} ({entry_id})" if isinstance(entry_id, str) and entry_id else where


def _country(checker: Checker, value: object, where: str) -> str | None:
    code = checker.string(value, where, pattern=COUNTRY_CODE, what="a two-letter country code")
    if code is not None and code not in COUNTRY_CODES:
        checker.add(where, f"{show(code)} is not an ISO 3166-1 alpha-2 code")
        return None
    return code


def _keys(checker: Checker, value: object, where: str) -> tuple[PublicKey, ...] | None:
    items = checker.list_of(value, where)
    if items is None:
        return None
    before = len(checker.problems)
    if not items:
        checker.add(where, "needs at least one key")
    keys: list[PublicKey] = []
    for index, item in enumerate(items):
        at = f"{where}[{index}]"
        data = checker.mapping(item, at)
        if data is None:
            continue
        checker.fields(
            data, at, required=("key_id", "public_key", "valid_from"), optional=("valid_to",)
        )
        key_id = checker.string(data.get("key_id"), f"{at}.key_id", pattern=KEY_ID, what="a key id")
        raw = checker.key_bytes(data.get("public_key"), f"{at}.public_key", length=PUBLIC_KEY_BYTES)
        valid_from = checker.timestamp(data.get("valid_from"), f"{at}.valid_from")
        valid_to = None
        if data.get("valid_to") is not None:
            valid_to = checker.timestamp(data.get("valid_to"), f"{at}.valid_to")
            if valid_from is not None and valid_to is not None and valid_to <= valid_from:
                checker.add(f"{at}.valid_to", "must be later than valid_from")
        if key_id is not None and any(k.key_id == key_id for k in keys):
            checker.add(f"{at}.key_id", f"{show(key_id)} is used twice")
        if key_id is not None and raw is not None and valid_from is not None:
            keys.append(PublicKey(key_id, raw, valid_from, valid_to))
    return tuple(keys) if len(checker.problems) == before else None


def _agency(checker: Checker, value: object, where: str) -> Agency | None:
    data = checker.mapping(value, where)
    if data is None:
        return None
    where = _label(data, where)
    before = len(checker.problems)
    checker.fields(data, where, required=_AGENCY_REQUIRED, optional=("status",))
    agency_id = checker.string(
        data.get("id"), f"{where}.id", pattern=AGENCY_ID, what="an agency id"
    )
    name = checker.string(data.get("name"), f"{where}.name")
    country = _country(checker, data.get("country"), f"{where}.country")
    if agency_id is not None and country is not None and agency_id[:2] != country:
        checker.add(f"{where}.id", f"prefix {agency_id[:2]!r} differs from country {country!r}")
    kind = checker.enum(data.get("kind"), AgencyKind, f"{where}.kind")
    children = checker.boolean(data.get("cleared_for_children"), f"{where}.cleared_for_children")
    status = checker.enum(data.get("status", "ACTIVE"), AgencyStatus, f"{where}.status")
    signing = _keys(checker, data.get("signing_keys"), f"{where}.signing_keys")
    encryption = _keys(checker, data.get("encryption_keys"), f"{where}.encryption_keys")
    if (
        len(checker.problems) != before
        or agency_id is None
        or name is None
        or country is None
        or kind is None
        or children is None
        or status is None
        or signing is None
        or encryption is None
    ):
        return None
    return Agency(agency_id, name, country, kind, children, signing, encryption, status)


def _scope(
    checker: Checker, value: object, where: str
) -> Mapping[AgencyKind, frozenset[DataCategory]] | None:
    data = checker.mapping(value, where)
    if data is None:
        return None
    before = len(checker.problems)
    if not data:
        checker.add(where, "must name at least one agency kind")
    scope: dict[AgencyKind, frozenset[DataCategory]] = {}
    for name, categories in data.items():
        kind = checker.enum(name, AgencyKind, f"{where}.{name}")
        allowed = checker.enum_set(categories, DataCategory, f"{where}.{name}", non_empty=False)
        if kind is not None and allowed is not None:
            scope[kind] = allowed
    return MappingProxyType(scope) if len(checker.problems) == before else None


def _deadlines(checker: Checker, value: object, where: str) -> Mapping[Priority, timedelta] | None:
    data = checker.mapping(value, where)
    if data is None:
        return None
    before = len(checker.problems)
    deadlines: dict[Priority, timedelta] = {}
    for name, text in data.items():
        priority = checker.enum(name, Priority, f"{where}.{name}")
        delay = checker.duration(text, f"{where}.{name}")
        if priority is not None and delay is not None:
            deadlines[priority] = delay
    return MappingProxyType(deadlines) if len(checker.problems) == before else None


def _parties(checker: Checker, value: object, where: str, kind: object) -> frozenset[str] | None:
    items = checker.list_of(value, where)
    if items is None:
        return None
    before = len(checker.problems)
    parties: list[str] = []
    for index, item in enumerate(items):
        code = _country(checker, item, f"{where}[{index}]")
        if code is not None and code in parties:
            checker.add(f"{where}[{index}]", f"{code} is listed twice")
        if code is not None:
            parties.append(code)
    if kind is AgreementKind.BILATERAL and len(items) != 2:
        checker.add(where, f"a BILATERAL agreement has exactly 2 parties, not {len(items)}")
    elif len(items) < 2:
        checker.add(where, f"an agreement needs at least 2 parties, not {len(items)}")
    return frozenset(parties) if len(checker.problems) == before else None


def _agreement(checker: Checker, value: object, where: str) -> Agreement | None:
    data = checker.mapping(value, where)
    if data is None:
        return None
    where = _label(data, where)
    before = len(checker.problems)
    checker.fields(data, where, required=_AGREEMENT_REQUIRED, optional=_AGREEMENT_OPTIONAL)
    agreement_id = checker.string(
        data.get("id"), f"{where}.id", pattern=AGREEMENT_ID, what="an agreement id"
    )
    title = checker.string(data.get("title"), f"{where}.title")
    kind = checker.enum(data.get("kind"), AgreementKind, f"{where}.kind")
    parties = _parties(checker, data.get("parties"), f"{where}.parties", kind)
    alert_types = checker.enum_set(data.get("alert_types"), AlertType, f"{where}.alert_types")
    scope = _scope(checker, data.get("scope"), f"{where}.scope")
    valid_from = checker.timestamp(data.get("valid_from"), f"{where}.valid_from")
    valid_to = None
    if data.get("valid_to") is not None:
        valid_to = checker.timestamp(data.get("valid_to"), f"{where}.valid_to")
        if valid_from is not None and valid_to is not None and valid_to <= valid_from:
            checker.add(f"{where}.valid_to", "must be later than valid_from")
    status = checker.enum(data.get("status", "ACTIVE"), AgreementStatus, f"{where}.status")
    safeguards = checker.boolean(data.get("child_safeguards", True), f"{where}.child_safeguards")
    deadlines = _deadlines(
        checker, data.get("response_deadlines", {}), f"{where}.response_deadlines"
    )
    retention = checker.integer(
        data.get("retention_days", 365), f"{where}.retention_days", minimum=1
    )
    if (
        len(checker.problems) != before
        or agreement_id is None
        or title is None
        or kind is None
        or parties is None
        or alert_types is None
        or scope is None
        or valid_from is None
        or status is None
        or safeguards is None
        or deadlines is None
        or retention is None
    ):
        return None
    return Agreement(
        id=agreement_id,
        title=title,
        kind=kind,
        parties=parties,
        alert_types=alert_types,
        scope=scope,
        valid_from=valid_from,
        valid_to=valid_to,
        status=status,
        child_safeguards=safeguards,
        response_deadlines=deadlines,
        retention_days=retention,
    )


def parse_agency(data: Mapping[str, object], *, where: str = "agency") -> Agency:
    """One agency entry on its own, as published on the directory topic."""
    checker = Checker()
    agency = _agency(checker, data, where)
    checker.raise_if_any(_label(data, where))
    assert agency is not None
    return agency


def parse_agreement(data: Mapping[str, object], *, where: str = "agreement") -> Agreement:
    """One agreement entry on its own, as published on the directory topic."""
    checker = Checker()
    agreement = _agreement(checker, data, where)
    checker.raise_if_any(_label(data, where))
    assert agreement is not None
    return agreement


def parse_directory(data: Mapping[str, object]) -> Directory:
    """A whole directory, with the checks that need every entry: unique ids, known parties."""
    checker = Checker()
    top = checker.mapping(data, "directory")
    if top is None:
        raise DirectoryError.from_problems("the directory", checker.problems)
    checker.fields(
        top,
        "",
        required=("version", "issued_at", "agencies", "agreements"),
        optional=("note",),
    )
    version = checker.integer(top.get("version"), "version", minimum=1)
    issued_at = checker.timestamp(top.get("issued_at"), "issued_at")
    if top.get("note") is not None:
        checker.string(top.get("note"), "note")

    agencies: dict[str, Agency] = {}
    first_seen: dict[str, int] = {}
    # Countries named by any agency entry, even an invalid one, so that one bad agency
    # does not also make every agreement of its country look wrong.
    countries: set[str] = set()
    for index, item in enumerate(checker.list_of(top.get("agencies"), "agencies") or ()):
        if isinstance(item, Mapping) and isinstance(item.get("country"), str):
            countries.add(item["country"])
        agency = _agency(checker, item, f"agencies[{index}]")
        if agency is None:
            continue
        if agency.id in agencies:
            where = f"agencies[{index}] ({agency.id}).id"
            checker.add(where, f"is already used by agencies[{first_seen[agency.id]}]")
            continue
        agencies[agency.id] = agency
        first_seen[agency.id] = index

    agreements: dict[str, Agreement] = {}
    for index, item in enumerate(checker.list_of(top.get("agreements"), "agreements") or ()):
        agreement = _agreement(checker, item, f"agreements[{index}]")
        if agreement is None:
            continue
        where = f"agreements[{index}] ({agreement.id})"
        if agreement.id in agreements:
            checker.add(f"{where}.id", "is already used by an earlier agreement")
            continue
        for party in sorted(agreement.parties - countries):
            checker.add(f"{where}.parties", f"{party!r} has no agency in the directory")
        agreements[agreement.id] = agreement

    checker.raise_if_any("the directory")
    if version is None or issued_at is None:  # pragma: no cover - reported above
        raise DirectoryError("the directory has no valid version or issued_at")
    return Directory(version, issued_at, MappingProxyType(agencies), MappingProxyType(agreements))


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"field {key!r} appears twice in one object")
        result[key] = value
    return result


def load_directory(path: str | Path) -> Directory:
    """Read a ``.json`` or ``.toml`` directory file and validate it."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in {".json", ".toml"}:
        raise DirectoryError(f"{path}: a directory file ends in .json or .toml")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DirectoryError(f"{path}: cannot be read ({exc.__class__.__name__})") from exc
    try:
        if suffix == ".toml":
            data: object = tomllib.loads(text)
        else:
            data = json.loads(text, object_pairs_hook=_reject_duplicate_keys)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise DirectoryError(f"{path}: not valid {suffix[1:].upper()}: {exc}") from exc
    if not isinstance(data, Mapping):
        raise DirectoryError(f"{path}: the top level must be an object")
    try:
        return parse_directory(data)
    except DirectoryError as exc:
        raise DirectoryError(f"{path}: {exc}", problems=exc.problems) from exc


def _key_to_data(key: PublicKey) -> dict[str, Any]:
    data: dict[str, Any] = {
        "key_id": key.key_id,
        "public_key": encode_key(key.public_key),
        "valid_from": format_timestamp(key.valid_from),
    }
    if key.valid_to is not None:
        data["valid_to"] = format_timestamp(key.valid_to)
    return data


def agency_to_data(agency: Agency) -> dict[str, Any]:
    """The JSON-ready form of one agency, accepted back by :func:`parse_agency`."""
    return {
        "id": agency.id,
        "name": agency.name,
        "country": agency.country,
        "kind": agency.kind.value,
        "cleared_for_children": agency.cleared_for_children,
        "status": agency.status.value,
        "signing_keys": [_key_to_data(k) for k in agency.signing_keys],
        "encryption_keys": [_key_to_data(k) for k in agency.encryption_keys],
    }


def agreement_to_data(agreement: Agreement) -> dict[str, Any]:
    """The JSON-ready form of one agreement, in a stable order (sets sorted)."""
    data: dict[str, Any] = {
        "id": agreement.id,
        "title": agreement.title,
        "kind": agreement.kind.value,
        "parties": sorted(agreement.parties),
        "alert_types": sorted(t.value for t in agreement.alert_types),
        "scope": {
            kind.value: sorted(c.value for c in categories)
            for kind, categories in sorted(agreement.scope.items())
        },
        "valid_from": format_timestamp(agreement.valid_from),
        "status": agreement.status.value,
        "child_safeguards": agreement.child_safeguards,
        "response_deadlines": {
            p.value: format_duration(d) for p, d in sorted(agreement.response_deadlines.items())
        },
        "retention_days": agreement.retention_days,
    }
    if agreement.valid_to is not None:
        data["valid_to"] = format_timestamp(agreement.valid_to)
    return data


def directory_to_data(directory: Directory) -> dict[str, Any]:
    """The inverse of :func:`parse_directory`: ``parse_directory(directory_to_data(d)) == d``."""
    return {
        "version": directory.version,
        "issued_at": format_timestamp(directory.issued_at),
        "agencies": [agency_to_data(a) for a in directory.agencies.values()],
        "agreements": [agreement_to_data(a) for a in directory.agreements.values()],
    }
