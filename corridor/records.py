"""Conversions between the domain dataclasses and the Avro records of ``schemas/``.

Records are plain dicts in the shape :class:`corridor.codec.Codec` encodes and decodes.
Set-like domain fields (frozensets, mappings) become arrays sorted by value without
repeats, so one object has exactly one encoding and a signature over it is stable
across processes; the ``*_from_record`` functions accept only that form, which makes
``to_record(from_record(r)) == r`` hold for every record they accept. Datetimes must
be timezone-aware, in both directions.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any, Final, TypeVar

from corridor.codec_errors import RecordError
from corridor.domain import (
    Agency,
    AgencyKind,
    AgencyStatus,
    Agreement,
    AgreementKind,
    AgreementStatus,
    AlertMetadata,
    AlertType,
    ConsentScope,
    Corridor,
    DataCategory,
    HandlingCode,
    LinkageToken,
    Priority,
    PublicKey,
    SealedAlert,
    Tlp,
    TrmPhase,
    WrappedKey,
)

__all__ = [
    "AGENCY_ENTRY",
    "AGREEMENT_ENTRY",
    "LINKAGE_KEY_GRANT",
    "Record",
    "agency_from_record",
    "agency_to_record",
    "agreement_from_record",
    "agreement_to_record",
    "alert_from_record",
    "alert_to_record",
    "corridor_from_record",
    "corridor_to_record",
    "metadata_from_record",
    "metadata_to_record",
    "public_key_from_record",
    "public_key_to_record",
]

Record = dict[str, Any]

#: Type names of the branches of ``DirectoryRecord.entry``, as the codec expects them
#: in its ``(type name, record)`` pairs.
AGENCY_ENTRY: Final = "corridor.directory.AgencyEntry"
AGREEMENT_ENTRY: Final = "corridor.directory.AgreementEntry"
LINKAGE_KEY_GRANT: Final = "corridor.directory.LinkageKeyGrant"

_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")
_SECOND = dt.timedelta(seconds=1)


# -- to records ------------------------------------------------------------------------


def corridor_to_record(corridor: Corridor) -> Record:
    return {
        "origin": corridor.origin,
        "destination": corridor.destination,
        "transit": list(corridor.transit),
    }


def metadata_to_record(metadata: AlertMetadata) -> Record:
    return {
        "alert_id": _uuid_out(metadata.alert_id, "metadata.alert_id"),
        "case_ref": metadata.case_ref,
        "issuer": metadata.issuer,
        "corridor": corridor_to_record(metadata.corridor),
        "alert_type": metadata.alert_type.value,
        "phase": metadata.phase.value,
        "priority": metadata.priority.value,
        "handling": metadata.handling.value,
        "tlp": metadata.tlp.value,
        "data_categories": _sorted_values(metadata.data_categories),
        "involves_minor": metadata.involves_minor,
        "best_interests_assessed": metadata.best_interests_assessed,
        "consent": metadata.consent.value,
        "addressees": list(metadata.addressees),
        "linkage_tokens": [{"epoch": t.epoch, "value": t.value} for t in metadata.linkage_tokens],
        "created_at": _time_out(metadata.created_at, "metadata.created_at"),
    }


def alert_to_record(alert: SealedAlert) -> Record:
    """The ``CaseAlert`` record of a sealed alert."""
    return {
        "suite": alert.suite,
        "metadata": metadata_to_record(alert.metadata),
        "body": {
            "nonce": alert.body_nonce,
            "ciphertext": alert.body_ciphertext,
            "recipients": [
                {
                    "agency_id": r.agency_id,
                    "key_id": r.key_id,
                    "enc": r.enc,
                    "wrapped_key": r.wrapped_key,
                }
                for r in alert.recipients
            ],
        },
        "signature": {"key_id": alert.signer_key_id, "value": alert.signature},
    }


def public_key_to_record(key: PublicKey, path: str = "key") -> Record:
    return {
        "key_id": key.key_id,
        "public_key": key.public_key,
        "valid_from": _time_out(key.valid_from, f"{path}.valid_from"),
        "valid_to": None if key.valid_to is None else _time_out(key.valid_to, f"{path}.valid_to"),
    }


def agency_to_record(agency: Agency) -> Record:
    """The ``AgencyEntry`` record of an agency."""
    return {
        "id": agency.id,
        "name": agency.name,
        "country": agency.country,
        "kind": agency.kind.value,
        "cleared_for_children": agency.cleared_for_children,
        "signing_keys": [
            public_key_to_record(k, f"signing_keys[{i}]") for i, k in enumerate(agency.signing_keys)
        ],
        "encryption_keys": [
            public_key_to_record(k, f"encryption_keys[{i}]")
            for i, k in enumerate(agency.encryption_keys)
        ],
        "status": agency.status.value,
    }


def agreement_to_record(agreement: Agreement) -> Record:
    """The ``AgreementEntry`` record of an agreement."""
    deadlines = []
    for priority in sorted(agreement.response_deadlines):
        whole, rest = divmod(agreement.response_deadlines[priority], _SECOND)
        if rest:
            raise RecordError(
                f"response_deadlines[{priority.value}] must be whole seconds",
                path=f"response_deadlines[{priority.value}]",
            )
        deadlines.append({"priority": priority.value, "seconds": whole})
    return {
        "id": agreement.id,
        "title": agreement.title,
        "kind": agreement.kind.value,
        "parties": sorted(agreement.parties),
        "alert_types": _sorted_values(agreement.alert_types),
        "scope": [
            {"agency_kind": kind.value, "categories": _sorted_values(agreement.scope[kind])}
            for kind in sorted(agreement.scope)
        ],
        "valid_from": _time_out(agreement.valid_from, "valid_from"),
        "valid_to": (
            None if agreement.valid_to is None else _time_out(agreement.valid_to, "valid_to")
        ),
        "status": agreement.status.value,
        "child_safeguards": agreement.child_safeguards,
        "response_deadlines": deadlines,
        "retention_days": agreement.retention_days,
    }


# -- from records ----------------------------------------------------------------------


def corridor_from_record(record: Mapping[str, Any], path: str = "corridor") -> Corridor:
    r = _Fields(record, path)
    return Corridor(
        origin=r.text("origin"),
        destination=r.text("destination"),
        transit=tuple(r.items("transit", _str, default=[])),
    )


def metadata_from_record(record: Mapping[str, Any], path: str = "metadata") -> AlertMetadata:
    r = _Fields(record, path)
    return AlertMetadata(
        alert_id=r.uuid_text("alert_id"),
        case_ref=r.text("case_ref"),
        issuer=r.text("issuer"),
        corridor=corridor_from_record(r.mapping("corridor"), r.path("corridor")),
        alert_type=r.enum("alert_type", AlertType),
        phase=r.enum("phase", TrmPhase),
        priority=r.enum("priority", Priority),
        handling=r.enum("handling", HandlingCode),
        tlp=r.enum("tlp", Tlp),
        data_categories=r.enum_set("data_categories", DataCategory),
        involves_minor=r.flag("involves_minor"),
        best_interests_assessed=r.flag("best_interests_assessed"),
        consent=r.enum("consent", ConsentScope),
        created_at=r.time("created_at"),
        addressees=tuple(r.items("addressees", _str, default=[])),
        linkage_tokens=tuple(r.items("linkage_tokens", _linkage_token, default=[])),
    )


def alert_from_record(record: Mapping[str, Any]) -> SealedAlert:
    """The sealed alert of a ``CaseAlert`` record."""
    r = _Fields(record, "")
    body = _Fields(r.mapping("body"), "body")
    signature = _Fields(r.mapping("signature"), "signature")
    return SealedAlert(
        suite=r.text("suite"),
        metadata=metadata_from_record(r.mapping("metadata")),
        body_nonce=body.blob("nonce"),
        body_ciphertext=body.blob("ciphertext"),
        recipients=tuple(body.items("recipients", _wrapped_key)),
        signer_key_id=signature.text("key_id"),
        signature=signature.blob("value"),
    )


def public_key_from_record(record: Mapping[str, Any], path: str = "key") -> PublicKey:
    r = _Fields(record, path)
    return PublicKey(
        key_id=r.text("key_id"),
        public_key=r.blob("public_key"),
        valid_from=r.time("valid_from"),
        valid_to=r.optional_time("valid_to"),
    )


def agency_from_record(record: Mapping[str, Any]) -> Agency:
    """The agency of an ``AgencyEntry`` record."""
    r = _Fields(record, "")
    return Agency(
        id=r.text("id"),
        name=r.text("name"),
        country=r.text("country"),
        kind=r.enum("kind", AgencyKind),
        cleared_for_children=r.flag("cleared_for_children"),
        signing_keys=tuple(r.items("signing_keys", _public_key)),
        encryption_keys=tuple(r.items("encryption_keys", _public_key)),
        status=r.enum("status", AgencyStatus, default=AgencyStatus.ACTIVE.value),
    )


def agreement_from_record(record: Mapping[str, Any]) -> Agreement:
    """The agreement of an ``AgreementEntry`` record."""
    r = _Fields(record, "")
    scope = r.items("scope", _scope_entry)
    deadlines = r.items("response_deadlines", _deadline, default=[])
    _require_canonical([kind for kind, _ in scope], r.path("scope"))
    _require_canonical([priority for priority, _ in deadlines], r.path("response_deadlines"))
    return Agreement(
        id=r.text("id"),
        title=r.text("title"),
        kind=r.enum("kind", AgreementKind),
        parties=frozenset(_require_canonical(r.items("parties", _str), r.path("parties"))),
        alert_types=r.enum_set("alert_types", AlertType),
        scope=dict(scope),
        valid_from=r.time("valid_from"),
        valid_to=r.optional_time("valid_to"),
        status=r.enum("status", AgreementStatus),
        child_safeguards=r.flag("child_safeguards", default=True),
        response_deadlines=dict(deadlines),
        retention_days=r.integer("retention_days", default=365),
    )


# -- helpers ---------------------------------------------------------------------------


def _sorted_values(values: Iterable[StrEnum]) -> list[str]:
    return sorted(v.value for v in values)


def _uuid_out(value: str, path: str) -> str:
    try:
        canonical = str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        canonical = ""
    if canonical != value:
        raise RecordError(f"{path} must be a UUID in lower-case 8-4-4-4-12 form", path=path)
    return value


def _time_out(value: dt.datetime, path: str) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise RecordError(f"{path} must be a timezone-aware datetime", path=path)
    return value


def _require_canonical(values: Sequence[_T], path: str) -> Sequence[_T]:
    keys = [str(v) for v in values]
    if keys != sorted(set(keys)):
        raise RecordError(f"{path} must be sorted and without repeats", path=path)
    return values


def _fail(path: str, problem: str) -> RecordError:
    return RecordError(f"{path.lstrip('.') or '(record)'} {problem}", path=path.lstrip("."))


def _str(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _fail(path, f"must be a str, got {type(value).__name__}")
    return value


def _linkage_token(value: Any, path: str) -> LinkageToken:
    r = _Fields(_mapping(value, path), path)
    return LinkageToken(epoch=r.integer("epoch"), value=r.blob("value"))


def _wrapped_key(value: Any, path: str) -> WrappedKey:
    r = _Fields(_mapping(value, path), path)
    return WrappedKey(
        agency_id=r.text("agency_id"),
        key_id=r.text("key_id"),
        enc=r.blob("enc"),
        wrapped_key=r.blob("wrapped_key"),
    )


def _public_key(value: Any, path: str) -> PublicKey:
    return public_key_from_record(_mapping(value, path), path)


def _scope_entry(value: Any, path: str) -> tuple[AgencyKind, frozenset[DataCategory]]:
    r = _Fields(_mapping(value, path), path)
    return r.enum("agency_kind", AgencyKind), r.enum_set("categories", DataCategory)


def _deadline(value: Any, path: str) -> tuple[Priority, dt.timedelta]:
    r = _Fields(_mapping(value, path), path)
    try:
        allowed = dt.timedelta(seconds=r.integer("seconds"))
    except OverflowError:
        raise _fail(r.path("seconds"), "is out of range") from None
    return r.enum("priority", Priority), allowed


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if type(value) is dict:  # what fastavro reads; skips the ABC check
        return value
    if not isinstance(value, Mapping):
        raise _fail(path, f"must be a record, got {type(value).__name__}")
    return value


_MISSING: Final = object()


class _Fields:
    """Typed access to one record's fields; every error names the field's path.

    Every processor and consumer reads each alert through here, so a field of exactly
    the expected type returns at once, and the path and the message of an error are
    made only on the way to raising it.
    """

    def __init__(self, record: Mapping[str, Any], path: str) -> None:
        self._record = _mapping(record, path)
        self._path = path

    def path(self, name: str) -> str:
        return f"{self._path}.{name}" if self._path else name

    def get(self, name: str, default: Any = _MISSING) -> Any:
        value = self._record.get(name, default)
        if value is _MISSING:
            raise _fail(self.path(name), "is missing")
        return value

    def text(self, name: str) -> str:
        value = self._record.get(name)
        if type(value) is str:
            return value
        return _str(self.get(name), self.path(name))

    def blob(self, name: str) -> bytes:
        value = self._record.get(name)
        if type(value) is bytes:
            return value
        value = self.get(name)
        if not isinstance(value, bytes):
            raise _fail(self.path(name), f"must be bytes, got {type(value).__name__}")
        return value

    def flag(self, name: str, default: Any = _MISSING) -> bool:
        value = self._record.get(name, default)
        if type(value) is bool:
            return value
        value = self.get(name, default)
        if not isinstance(value, bool):
            raise _fail(self.path(name), f"must be a bool, got {type(value).__name__}")
        return value

    def integer(self, name: str, default: Any = _MISSING) -> int:
        value = self._record.get(name, default)
        if type(value) is int:
            return value
        value = self.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(self.path(name), f"must be an int, got {type(value).__name__}")
        return value

    def uuid_text(self, name: str) -> str:
        value = self.get(name)
        if isinstance(value, uuid.UUID):
            return str(value)
        if not isinstance(value, str):
            raise _fail(self.path(name), f"must be a UUID, got {type(value).__name__}")
        return _uuid_out(value, self.path(name))

    def time(self, name: str) -> dt.datetime:
        return _time_out(self.get(name), self.path(name))

    def optional_time(self, name: str) -> dt.datetime | None:
        value = self.get(name, None)
        return None if value is None else _time_out(value, self.path(name))

    def mapping(self, name: str) -> Mapping[str, Any]:
        return _mapping(self.get(name), self.path(name))

    def enum(self, name: str, kind: type[_E], default: Any = _MISSING) -> _E:
        value = self._record.get(name, default)
        if type(value) is str:
            member = kind._value2member_map_.get(value)  # what kind(value) looks up first
            if member is not None:
                return member  # type: ignore[return-value]
        return _enum_value(self.get(name, default), kind, self.path(name))

    def enum_set(self, name: str, kind: type[_E]) -> frozenset[_E]:
        values = self.items(name, lambda value, path: _enum_value(value, kind, path))
        return frozenset(_require_canonical(values, self.path(name)))

    def items(self, name: str, item: Callable[[Any, str], _T], default: Any = _MISSING) -> list[_T]:
        value = self.get(name, default)
        path = self.path(name)
        if not isinstance(value, list | tuple):
            raise _fail(path, f"must be a list, got {type(value).__name__}")
        return [item(v, f"{path}[{i}]") for i, v in enumerate(value)]


def _enum_value(value: Any, kind: type[_E], path: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        raise _fail(path, f"is not a {kind.__name__} symbol") from None
