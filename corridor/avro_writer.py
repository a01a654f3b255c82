"""Avro binary writing for the event schemas, compiled once per schema.

fastavro writes a value by looking up its schema's type, logical type and named types
as it goes. Writing a CaseAlert that way cost about 35 µs, as much as the Ed25519
signature over it, and every alert is written by its publisher and written again by
each reader's canonical check (decision 2). :func:`compile_writer` turns a parsed
schema into nested closures once, so each value costs one call and the work of its
encoding.

It covers what the event schemas use: records, arrays, enums, strings, bytes, int,
long, boolean, null, unions of null and one other type, and the ``uuid`` and
``timestamp-micros`` logical types. A schema with anything else gets no compiled
writer. A value the compiled writer cannot write exactly as fastavro would (another
Python type, a union value in tuple notation, a missing field, a naive datetime, text
that is not valid Unicode) raises :class:`Unsupported` before anything is returned,
and the caller writes that record with fastavro. The bytes are fastavro's either way;
the unit tests hold the two writers to the same bytes for records of every event.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["Unsupported", "avro_long", "compile_writer"]

_Write = Callable[[bytearray, Any], None]

_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Zig-zag varints of 0..63 (and -1..-64) are one byte; most lengths and counts are.
_ONE_BYTE = tuple(bytes((n,)) for n in range(128))


class Unsupported(Exception):  # noqa: N818 - a signal to fall back, not a failure
    """This value is written by fastavro instead (nothing was returned)."""


class _UnsupportedSchemaError(Exception):
    """The schema uses what the compiled writer does not cover."""


def avro_long(n: int) -> bytes:
    """Avro's zig-zag varint of a long, as fastavro writes it."""
    z = (n << 1) ^ (n >> 63)
    if z < 0x80:
        return _ONE_BYTE[z]
    out = bytearray()
    while z > 0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def _null(out: bytearray, value: Any) -> None:
    if value is not None:
        raise Unsupported


def _boolean(out: bytearray, value: Any) -> None:
    if type(value) is not bool:
        raise Unsupported
    out.append(1 if value else 0)


def _int(out: bytearray, value: Any) -> None:
    if type(value) is not int or not _INT_MIN <= value <= _INT_MAX:
        raise Unsupported
    out += _ONE_BYTE[value << 1] if 0 <= value < 64 else avro_long(value)


def _long(out: bytearray, value: Any) -> None:
    if type(value) is not int or not _LONG_MIN <= value <= _LONG_MAX:
        raise Unsupported
    out += _ONE_BYTE[value << 1] if 0 <= value < 64 else avro_long(value)


def _timestamp_micros(out: bytearray, value: Any) -> None:
    if type(value) is datetime:
        if value.tzinfo is None:
            raise Unsupported  # fastavro reads a naive datetime as local time
        delta = value - _EPOCH
        value = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    _long(out, value)


def _string(out: bytearray, value: Any) -> None:
    if type(value) is not str:
        raise Unsupported
    try:
        raw = value.encode()
    except UnicodeEncodeError:
        raise Unsupported from None
    size = len(raw)
    out += _ONE_BYTE[size << 1] if size < 64 else avro_long(size)
    out += raw


def _uuid(out: bytearray, value: Any) -> None:
    _string(out, str(value) if type(value) is uuid.UUID else value)


def _bytes(out: bytearray, value: Any) -> None:
    if type(value) is not bytes:
        raise Unsupported
    size = len(value)
    out += _ONE_BYTE[size << 1] if size < 64 else avro_long(size)
    out += value


_PRIMITIVES: dict[str, _Write] = {
    "null": _null,
    "boolean": _boolean,
    "int": _int,
    "long": _long,
    "string": _string,
    "bytes": _bytes,
}
_LOGICAL: dict[tuple[str, str], _Write] = {
    ("long", "timestamp-micros"): _timestamp_micros,
    ("string", "uuid"): _uuid,
}


def _enum(symbols: list[str]) -> _Write:
    index = {symbol: avro_long(i) for i, symbol in enumerate(symbols)}

    def write(out: bytearray, value: Any) -> None:
        encoded = index.get(value) if type(value) is str else None
        if encoded is None:
            raise Unsupported
        out += encoded

    return write


def _array(items: _Write) -> _Write:
    def write(out: bytearray, value: Any) -> None:
        if type(value) is not list and type(value) is not tuple:
            raise Unsupported
        if value:
            size = len(value)
            out += _ONE_BYTE[size << 1] if size < 64 else avro_long(size)
            for item in value:
                items(out, item)
        out.append(0)

    return write


def _record(fields: list[tuple[str, _Write]]) -> _Write:
    def write(out: bytearray, value: Any) -> None:
        if type(value) is not dict:
            raise Unsupported
        try:
            for name, field in fields:
                field(out, value[name])
        except KeyError:
            raise Unsupported from None  # fastavro would write the field's default

    return write


def _optional(null_first: bool, other: _Write) -> _Write:
    null, branch = (b"\x00", b"\x02") if null_first else (b"\x02", b"\x00")

    def write(out: bytearray, value: Any) -> None:
        if value is None:
            out += null
        elif type(value) is tuple:
            raise Unsupported  # fastavro reads a tuple in a union as (type name, value)
        else:
            out += branch
            other(out, value)

    return write


class _Compiler:
    def __init__(self, named: Mapping[str, Any]) -> None:
        self._named = named
        self._done: dict[str, _Write] = {}
        self._busy: set[str] = set()

    def node(self, schema: Any) -> _Write:
        if isinstance(schema, str):
            if schema in _PRIMITIVES:
                return _PRIMITIVES[schema]
            return self._named_type(schema, self._named.get(schema))
        if isinstance(schema, list):
            return self._union(schema)
        if not isinstance(schema, dict):
            raise _UnsupportedSchemaError
        kind = schema.get("type")
        logical = schema.get("logicalType")
        if logical is not None:
            found = _LOGICAL.get((str(kind), str(logical)))
            if found is None:
                raise _UnsupportedSchemaError
            return found
        if kind in ("record", "enum"):
            return self._named_type(schema["name"], schema)
        if kind == "array":
            return _array(self.node(schema["items"]))
        if isinstance(kind, str) and kind in _PRIMITIVES:
            return _PRIMITIVES[kind]
        raise _UnsupportedSchemaError  # map, fixed, float, double, other logical types

    def _named_type(self, name: str, schema: Any) -> _Write:
        if name in self._done:
            return self._done[name]
        if not isinstance(schema, dict) or name in self._busy:
            raise _UnsupportedSchemaError  # unknown, or recursive
        self._busy.add(name)
        if schema.get("type") == "enum":
            written = _enum(list(schema["symbols"]))
        elif schema.get("type") == "record":
            written = _record([(f["name"], self.node(f["type"])) for f in schema["fields"]])
        else:
            raise _UnsupportedSchemaError
        self._busy.discard(name)
        self._done[name] = written
        return written

    def _union(self, branches: list[Any]) -> _Write:
        if len(branches) != 2 or "null" not in branches or branches[0] == branches[1]:
            raise _UnsupportedSchemaError
        null_first = branches[0] == "null"
        other = branches[1] if null_first else branches[0]
        if isinstance(other, list):
            raise _UnsupportedSchemaError
        return _optional(null_first, self.node(other))


def compile_writer(schema: Mapping[str, Any]) -> Callable[[Any], bytes] | None:
    """A writer of ``schema`` (parsed by fastavro), or None if the schema uses what the
    writer does not cover. The writer raises :class:`Unsupported` for a value it
    leaves to fastavro."""
    try:
        write = _Compiler(schema.get("__named_schemas", {})).node(schema)
    except _UnsupportedSchemaError:
        return None

    def encode(value: Any) -> bytes:
        out = bytearray()
        write(out, value)
        return bytes(out)

    return encode
