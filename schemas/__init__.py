"""The event contracts of Corridor: Avro schemas, one ``<Name>.avsc`` per event.

Named types that several events share (enumerations, ``Corridor``, ``Signature``,
``SealedPayload``...) live once in ``common.avsc`` and events refer to them by full
name, so an enumeration cannot drift between two events. :func:`expanded` turns an
event into one self-contained schema (each named type defined at its first use), the
form that schema registries, other Avro implementations and fingerprints need.

``history/<Name>/v<N>.avsc`` keeps every version of an event ever written, each
self-contained; the newest one equals ``expanded(name)`` (a test enforces it).
Readers resolve data written under any of them. To change an event, edit its file,
then add the next ``v<N>.avsc`` holding ``expanded(name)``; never edit an old version.

This package only reads files; it imports nothing from :mod:`corridor`.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastavro.schema import parse_schema

__all__ = [
    "COMMON",
    "EVENTS",
    "SchemaDefinitionError",
    "SchemaNotFoundError",
    "expanded",
    "history",
    "history_path",
    "load",
    "names",
    "read_json",
    "schema_path",
]

#: Every event, in the order of the design's flow.
EVENTS: tuple[str, ...] = (
    "CaseAlert",
    "AlertBody",
    "Acknowledgement",
    "DirectoryRecord",
    "AuditRecord",
    "DeadLetter",
    "LinkNotice",
    "Escalation",
)
#: The file of shared named types; not an event.
COMMON = "common"

_DIR = Path(__file__).resolve().parent
_HISTORY = _DIR / "history"
_VERSION_FILE = re.compile(r"^v([1-9][0-9]*)\.avsc$")
_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_NAMED = frozenset({"record", "error", "enum", "fixed"})


class SchemaNotFoundError(LookupError):
    """No schema file of that name or version ships with this package."""


class SchemaDefinitionError(ValueError):
    """A schema file refers to a type that is not defined, or defines one twice."""


def names() -> tuple[str, ...]:
    """The events this package defines."""
    return EVENTS


def schema_path(name: str) -> Path:
    """The ``.avsc`` file of an event (or of :data:`COMMON`)."""
    if name not in EVENTS and name != COMMON:
        raise SchemaNotFoundError(f"no schema named {name!r}; known: {', '.join(EVENTS)}")
    return _DIR / f"{name}.avsc"


def read_json(name: str) -> Any:
    """The schema file as written, with references to shared types left unresolved."""
    return json.loads(schema_path(name).read_text(encoding="utf-8"))


def expanded(name: str) -> dict[str, Any]:
    """The event as one self-contained schema, docs and defaults kept."""
    shared: dict[str, Any] = {}
    for definition in read_json(COMMON):
        shared[_full_name(definition["name"], definition.get("namespace"))] = definition
    result = _Expander(shared).expand(read_json(name), None)
    if not isinstance(result, dict):
        raise SchemaDefinitionError(f"{name}.avsc must hold one record schema")
    return result


def load(name: str) -> dict[str, Any]:
    """The event's schema parsed by fastavro, ready for its readers and writers."""
    parsed = parse_schema(expanded(name))
    if not isinstance(parsed, dict):
        raise SchemaDefinitionError(f"{name}.avsc must hold one record schema")
    return parsed


def history(name: str) -> list[tuple[int, dict[str, Any]]]:
    """Every version of the event as ``(version, self-contained schema)``, oldest first."""
    schema_path(name)
    folder = _HISTORY / name
    versions: list[tuple[int, dict[str, Any]]] = []
    if folder.is_dir():
        for path in folder.iterdir():
            match = _VERSION_FILE.match(path.name)
            if match:
                versions.append((int(match.group(1)), json.loads(path.read_text("utf-8"))))
    return sorted(versions, key=lambda item: item[0])


def history_path(name: str, version: int) -> Path:
    """Where version ``version`` of the event is (or would be) kept."""
    schema_path(name)
    if version < 1:
        raise SchemaNotFoundError(f"schema versions start at 1, not {version}")
    return _HISTORY / name / f"v{version}.avsc"


def _full_name(name: str, namespace: str | None) -> str:
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"


class _Expander:
    """Inlines each shared named type at its first use, as the Avro specification asks."""

    def __init__(self, shared: Mapping[str, Any]) -> None:
        self._shared = shared
        self._defined: set[str] = set()

    def expand(self, schema: Any, namespace: str | None) -> Any:
        if isinstance(schema, str):
            return self._reference(schema, namespace)
        if isinstance(schema, list):
            return [self.expand(branch, namespace) for branch in schema]
        if not isinstance(schema, dict) or "type" not in schema:
            raise SchemaDefinitionError(f"not an Avro schema: {schema!r}")
        kind = schema["type"]
        result = dict(schema)
        if kind in _NAMED:
            full = _full_name(schema["name"], schema.get("namespace", namespace))
            if full in self._defined:
                raise SchemaDefinitionError(f"type {full!r} is defined twice")
            self._defined.add(full)
            inner = full.rpartition(".")[0] or None
            if kind in ("record", "error"):
                result["fields"] = [
                    {**field, "type": self.expand(field["type"], inner)}
                    for field in schema["fields"]
                ]
        elif kind == "array":
            result["items"] = self.expand(schema["items"], namespace)
        elif kind == "map":
            result["values"] = self.expand(schema["values"], namespace)
        elif not (isinstance(kind, str) and kind in _PRIMITIVES):
            result["type"] = self.expand(kind, namespace)
        return result

    def _reference(self, name: str, namespace: str | None) -> Any:
        if name in _PRIMITIVES:
            return name
        full = _full_name(name, namespace)
        if full in self._defined:
            return name
        if full in self._shared:
            return self.expand(copy.deepcopy(self._shared[full]), namespace)
        raise SchemaDefinitionError(f"type {full!r} is not defined")
