"""Checks a record against an Avro schema before it is written.

fastavro's writer coerces where it should refuse: it writes any truthy value as
``true``, iterates a string given for an array, writes a set in hash order (so the
bytes, and any signature over them, change between processes), writes a malformed
UUID that every reader will then reject, and takes a naive datetime as UTC. Its
error messages also quote the offending value, which may be personal data. This
module compiles each schema once into closures that refuse all of that and report
the field path and what was expected, never the value.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from corridor.codec_errors import EncodeError

Check = Callable[[Any], None]

_INT_RANGE = (-(2**31), 2**31 - 1)
_LONG_RANGE = (-(2**63), 2**63 - 1)


class _FieldError(Exception):
    """Raised deep in a check; each enclosing level adds its path segment on the way out."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.segments: list[str] = []


class SchemaValidator:
    """Checks records against one self-contained schema and each named type inside it."""

    def __init__(self, schema: Any) -> None:
        self._named: dict[str, Check] = {}
        self._root = self._compile(schema, None)

    @property
    def type_names(self) -> frozenset[str]:
        """Full names of the named types the schema defines."""
        return frozenset(self._named)

    def check(self, datum: Any, *, what: str, type_name: str | None = None) -> None:
        """Raise :class:`EncodeError` naming the first field of ``datum`` that is wrong."""
        check = self._root if type_name is None else self._named[type_name]
        try:
            check(datum)
        except _FieldError as exc:
            path = "".join(reversed(exc.segments)).lstrip(".") or "(record)"
            raise EncodeError(f"{what}: field '{path}' {exc.problem}", path=path) from None

    def _compile(self, schema: Any, namespace: str | None) -> Check:
        if isinstance(schema, str):
            return self._reference(schema, namespace)
        if isinstance(schema, list):
            return self._union(schema, namespace)
        kind = schema["type"]
        if kind in ("record", "error"):
            return self._record(schema, namespace)
        if kind == "enum":
            full = _full_name(schema["name"], schema.get("namespace", namespace))
            symbols = frozenset(schema["symbols"])
            return self._define(full, _enum(symbols))
        if kind == "fixed":
            full = _full_name(schema["name"], schema.get("namespace", namespace))
            return self._define(full, _fixed(int(schema["size"])))
        if kind == "array":
            return _array(self._compile(schema["items"], namespace))
        if kind == "map":
            return _map(self._compile(schema["values"], namespace))
        if not isinstance(kind, str):
            return self._compile(kind, namespace)
        return _primitive(kind, schema.get("logicalType"))

    def _define(self, full_name: str, check: Check) -> Check:
        self._named[full_name] = check
        return check

    def _reference(self, name: str, namespace: str | None) -> Check:
        if name in _PRIMITIVE_CHECKS:
            return _PRIMITIVE_CHECKS[name]
        full = _full_name(name, namespace)
        named = self._named

        def check(datum: Any) -> None:
            named[full](datum)

        return check

    def _record(self, schema: Mapping[str, Any], namespace: str | None) -> Check:
        full = _full_name(schema["name"], schema.get("namespace", namespace))
        inner = full.rpartition(".")[0] or None
        fields: list[tuple[str, Check, bool]] = []
        for field in schema["fields"]:
            fields.append((field["name"], self._compile(field["type"], inner), "default" in field))
        names = frozenset(name for name, _, _ in fields)

        def check(datum: Any) -> None:
            if not isinstance(datum, Mapping):
                raise _FieldError(f"must be a record ({full}), got {type(datum).__name__}")
            for name, field_check, has_default in fields:
                if name in datum:
                    try:
                        field_check(datum[name])
                    except _FieldError as exc:
                        exc.segments.append(f".{name}")
                        raise
                elif not has_default:
                    missing = _FieldError("is missing and has no default")
                    missing.segments.append(f".{name}")
                    raise missing
            if len(datum) > len(names) or not names.issuperset(datum):
                extra = sorted(str(key) for key in datum if key not in names)
                raise _FieldError(f"has fields the schema does not define: {', '.join(extra)}")

        return self._define(full, check)

    def _union(self, branches: list[Any], namespace: str | None) -> Check:
        nullable = "null" in branches
        others = [b for b in branches if b != "null"]
        checks = [self._compile(b, namespace) for b in others]
        named = [_branch_name(b, namespace) for b in others]
        if len(checks) == 1:
            only = checks[0]

            def check_optional(datum: Any) -> None:
                if datum is None and nullable:
                    return
                only(datum)

            return check_optional
        if not all(named):
            raise ValueError("unions of several unnamed types are not supported")
        by_name = dict(zip(named, checks, strict=True))
        choices = ", ".join(n for n in named if n)

        def check_tagged(datum: Any) -> None:
            if datum is None and nullable:
                return
            if not (isinstance(datum, tuple) and len(datum) == 2 and datum[0] in by_name):
                raise _FieldError(f"must be a (type name, record) pair naming one of: {choices}")
            try:
                by_name[datum[0]](datum[1])
            except _FieldError as exc:
                exc.segments.append(f"<{datum[0].rpartition('.')[2]}>")
                raise

        return check_tagged


def _full_name(name: str, namespace: str | None) -> str:
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"


def _branch_name(schema: Any, namespace: str | None) -> str | None:
    if isinstance(schema, str):
        return None if schema in _PRIMITIVE_CHECKS else _full_name(schema, namespace)
    if isinstance(schema, dict) and schema.get("type") in ("record", "error", "enum", "fixed"):
        return _full_name(schema["name"], schema.get("namespace", namespace))
    return None


def _enum(symbols: frozenset[str]) -> Check:
    def check(datum: Any) -> None:
        if not (isinstance(datum, str) and datum in symbols):
            raise _FieldError("must be one of the enumeration's symbols")

    return check


def _fixed(size: int) -> Check:
    def check(datum: Any) -> None:
        if not (isinstance(datum, bytes) and len(datum) == size):
            raise _FieldError(f"must be exactly {size} bytes")

    return check


def _array(items: Check) -> Check:
    def check(datum: Any) -> None:
        if not isinstance(datum, list | tuple):
            raise _FieldError(f"must be a list or tuple, got {type(datum).__name__}")
        for index, item in enumerate(datum):
            try:
                items(item)
            except _FieldError as exc:
                exc.segments.append(f"[{index}]")
                raise

    return check


def _map(values: Check) -> Check:
    def check(datum: Any) -> None:
        if not isinstance(datum, Mapping) or not all(isinstance(k, str) for k in datum):
            raise _FieldError("must be a mapping with string keys")
        for index, value in enumerate(datum.values()):
            try:
                values(value)
            except _FieldError as exc:
                exc.segments.append(f"[entry {index}]")
                raise

    return check


def _null(datum: Any) -> None:
    if datum is not None:
        raise _FieldError("must be null")


def _boolean(datum: Any) -> None:
    if not isinstance(datum, bool):
        raise _FieldError(f"must be a bool, got {type(datum).__name__}")


def _integer(low: int, high: int, kind: str) -> Check:
    article = "an" if kind == "int" else "a"

    def check(datum: Any) -> None:
        if isinstance(datum, bool) or not isinstance(datum, int):
            raise _FieldError(f"must be {article} {kind}, got {type(datum).__name__}")
        if not low <= datum <= high:
            raise _FieldError(f"is out of the {kind} range")

    return check


def _floating(datum: Any) -> None:
    if isinstance(datum, bool) or not isinstance(datum, int | float):
        raise _FieldError(f"must be a number, got {type(datum).__name__}")


def _string(datum: Any) -> None:
    if not isinstance(datum, str):
        raise _FieldError(f"must be a str, got {type(datum).__name__}")


def _bytes(datum: Any) -> None:
    if not isinstance(datum, bytes | bytearray):
        raise _FieldError(f"must be bytes, got {type(datum).__name__}")


def _uuid(datum: Any) -> None:
    if isinstance(datum, uuid.UUID):
        return
    if not isinstance(datum, str):
        raise _FieldError(f"must be a UUID or its string, got {type(datum).__name__}")
    try:
        canonical = str(uuid.UUID(datum))
    except ValueError:
        canonical = ""
    if canonical != datum:
        raise _FieldError("must be a UUID in lower-case 8-4-4-4-12 form")


def _timestamp(kind: str) -> Check:
    long_check = _integer(*_LONG_RANGE, "long")

    def check(datum: Any) -> None:
        if isinstance(datum, dt.datetime):
            if datum.utcoffset() is None:
                raise _FieldError(f"must be a timezone-aware datetime ({kind})")
            return
        long_check(datum)

    return check


_PRIMITIVE_CHECKS: dict[str, Check] = {
    "null": _null,
    "boolean": _boolean,
    "int": _integer(*_INT_RANGE, "int"),
    "long": _integer(*_LONG_RANGE, "long"),
    "float": _floating,
    "double": _floating,
    "string": _string,
    "bytes": _bytes,
}


def _primitive(kind: str, logical_type: str | None) -> Check:
    if kind == "string" and logical_type == "uuid":
        return _uuid
    if kind == "long" and logical_type in ("timestamp-millis", "timestamp-micros"):
        return _timestamp(logical_type)
    return _PRIMITIVE_CHECKS[kind]
