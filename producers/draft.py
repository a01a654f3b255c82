"""The alert as a caller writes it (docs/publish-format.md), checked field by field.

:func:`parse_draft` turns one JSON object into an :class:`AlertDraft`, reporting every
problem it finds at once (a caller fixing a file wants the whole list, not one error
per attempt). Only the shape and the vocabulary are checked here; the rules that need
the directory or the body's contents live in :mod:`producers.rules`. Messages quote
values of the clear metadata (which travels in clear anyway) but never of the body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from corridor.domain import (
    AlertType,
    ConsentScope,
    Corridor,
    DataCategory,
    HandlingCode,
    Priority,
    Tlp,
    TrmPhase,
)
from producers.alert_id import check_idempotency_key
from producers.exceptions import AlertValidationError

__all__ = ["FIELDS", "AlertDraft", "parse_draft"]

_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")

#: Top-level fields of the input format; anything else is refused as a likely typo.
FIELDS = frozenset(
    {
        "idempotency_key",
        "issuer",
        "case_ref",
        "corridor",
        "alert_type",
        "phase",
        "priority",
        "handling",
        "tlp",
        "data_categories",
        "involves_minor",
        "best_interests_assessed",
        "consent",
        "addressees",
        "created_at",
        "body",
    }
)
_CORRIDOR_FIELDS = frozenset({"origin", "destination", "transit"})


@dataclass(frozen=True, slots=True)
class AlertDraft:
    """One alert before the publisher derives its id, tokens and recipients.

    ``involves_minor`` None means: work it out from the body (an unknown age counts as
    a minor's). ``created_at`` None means: now. ``body`` is an ``AlertBody`` record
    (schemas/AlertBody.avsc) as plain JSON values.
    """

    idempotency_key: str
    case_ref: str
    corridor: Corridor
    alert_type: AlertType
    phase: TrmPhase
    priority: Priority
    handling: HandlingCode
    tlp: Tlp
    data_categories: frozenset[DataCategory]
    consent: ConsentScope
    body: Mapping[str, Any]
    involves_minor: bool | None = None
    best_interests_assessed: bool = False
    addressees: tuple[str, ...] = ()
    created_at: datetime | None = None
    issuer: str | None = None


class _Reader:
    """Reads fields of one JSON object, collecting a problem per bad field."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.problems: list[str] = []

    def fail(self, problem: str) -> None:
        self.problems.append(problem)

    def required(self, name: str) -> Any:
        if name not in self.data or self.data[name] is None:
            self.fail(f"{name} is required")
            return None
        return self.data[name]

    def text(self, name: str, *, optional: bool = False) -> str | None:
        value = self.data.get(name) if optional else self.required(name)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(f"{name} must be a non-empty string")
            return None
        return value

    def flag(self, name: str) -> bool | None:
        value = self.data.get(name)
        if value is None or isinstance(value, bool):
            return value
        self.fail(f"{name} must be true or false")
        return None

    def enum(self, name: str, kind: type[_E]) -> _E | None:
        value = self.required(name)
        return None if value is None else self.symbol(name, value, kind)

    def symbol(self, where: str, value: Any, kind: type[_E]) -> _E | None:
        try:
            return kind(value)
        except ValueError:
            shown = repr(value) if isinstance(value, str) and len(value) <= 40 else "the value"
            self.fail(f"{where}: {shown} is not one of {', '.join(k.value for k in kind)}")
            return None

    def strings(self, name: str, value: Any) -> list[str] | None:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(f"{name} must be a list of strings")
            return None
        return list(value)


def _corridor(reader: _Reader) -> Corridor | None:
    value = reader.required("corridor")
    if value is None:
        return None
    if not isinstance(value, Mapping):
        reader.fail('corridor must be an object {"origin": ..., "destination": ...}')
        return None
    unknown = sorted(set(value) - _CORRIDOR_FIELDS)
    if unknown:
        reader.fail(f"corridor has unknown field(s): {', '.join(unknown)}")
    origin, destination = value.get("origin"), value.get("destination")
    transit = reader.strings("corridor.transit", value.get("transit"))
    ok = True
    for name, code in (("origin", origin), ("destination", destination)):
        if not isinstance(code, str) or not code:
            reader.fail(f"corridor.{name} is required (an ISO 3166-1 alpha-2 code)")
            ok = False
    if not ok or transit is None:
        return None
    return Corridor(str(origin), str(destination), tuple(transit))


def _created_at(reader: _Reader) -> datetime | None:
    value = reader.data.get("created_at")
    if value is None:
        return None
    if not isinstance(value, str):
        reader.fail("created_at must be an ISO 8601 timestamp string")
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        reader.fail(f"created_at: {value[:40]!r} is not an ISO 8601 timestamp")
        return None
    if parsed.utcoffset() is None:
        reader.fail("created_at must carry a time zone (e.g. 2025-03-01T12:00:00Z)")
        return None
    return parsed


def _enum_list(reader: _Reader, name: str, kind: type[_E]) -> frozenset[_E] | None:
    value = reader.required(name)
    items = None if value is None else reader.strings(name, value)
    if items is None:
        return None
    if len(set(items)) != len(items):
        reader.fail(f"{name} lists a value twice")
    found = [reader.symbol(f"{name}[{i}]", item, kind) for i, item in enumerate(items)]
    if any(f is None for f in found):
        return None
    return frozenset(f for f in found if f is not None)


def _some(value: _T | None) -> _T:
    """A field that parsed; only called once no problem was found."""
    if value is None:
        raise AssertionError("a checked field is missing")
    return value


def parse_draft(data: object) -> AlertDraft:
    """Check one alert object of the input format; raises AlertValidationError listing
    every problem found."""
    if not isinstance(data, Mapping):
        raise AlertValidationError(["an alert must be a JSON object"])
    reader = _Reader(data)
    unknown = sorted(str(k) for k in data if k not in FIELDS)
    if unknown:
        reader.fail(f"unknown field(s): {', '.join(unknown)}")
    key = reader.required("idempotency_key")
    key_problem = None if key is None else check_idempotency_key(key)
    if key_problem is not None:
        reader.fail(key_problem)
    case_ref = reader.text("case_ref")
    issuer = reader.text("issuer", optional=True)
    corridor = _corridor(reader)
    alert_type = reader.enum("alert_type", AlertType)
    phase = reader.enum("phase", TrmPhase)
    priority = reader.enum("priority", Priority)
    handling = reader.enum("handling", HandlingCode)
    tlp = reader.enum("tlp", Tlp)
    consent = reader.enum("consent", ConsentScope)
    categories = _enum_list(reader, "data_categories", DataCategory)
    involves_minor = reader.flag("involves_minor")
    assessed = reader.flag("best_interests_assessed")
    addressees = reader.strings("addressees", data.get("addressees"))
    created_at = _created_at(reader)
    body = reader.required("body")
    if body is not None and not isinstance(body, Mapping):
        reader.fail("body must be an object (an AlertBody, see docs/publish-format.md)")
    if reader.problems:
        raise AlertValidationError(reader.problems)
    return AlertDraft(
        idempotency_key=str(key),
        case_ref=_some(case_ref),
        corridor=_some(corridor),
        alert_type=_some(alert_type),
        phase=_some(phase),
        priority=_some(priority),
        handling=_some(handling),
        tlp=_some(tlp),
        data_categories=_some(categories),
        consent=_some(consent),
        body=body,
        involves_minor=involves_minor,
        best_interests_assessed=bool(assessed),
        addressees=tuple(addressees or ()),
        created_at=created_at,
        issuer=issuer,
    )
