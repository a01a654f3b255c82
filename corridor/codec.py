"""Turns Corridor events into framed Avro bytes and back.

Two framings say which writer schema the bytes were made with:

- Avro single-object encoding (the default): ``C3 01`` and the 8-byte little-endian
  CRC-64-AVRO fingerprint of the writer schema's Parsing Canonical Form. Needs no
  registry: every schema version ever written ships in ``schemas/history``.
- Confluent wire format: byte ``00`` and a 4-byte big-endian schema-registry id, used
  when the codec is given the registry's ids.

:meth:`Codec.decode` accepts both, resolves an older writer schema to the current
reader schema, and refuses anything else with :class:`DecodeError`: oversized input,
truncation, trailing bytes and non-canonical encodings (a negative enum index, a
declared length past the end) alike, because fastavro alone would quietly return
wrong values for some of those. Accepting only the canonical encoding also means one
record has exactly one byte form, which signatures rely on.
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import fastavro
from fastavro.schema import fingerprint as _fastavro_fingerprint
from fastavro.schema import parse_schema, to_parsing_canonical_form

import schemas
from corridor.avro_writer import Unsupported, compile_writer
from corridor.codec_errors import (
    CodecConfigError,
    DecodeError,
    EncodeError,
    IncompatibleSchemaError,
    UnexpectedEventError,
    UnknownSchemaError,
)
from corridor.codec_validate import SchemaValidator
from corridor.compat import assert_backward_compatible

__all__ = [
    "CONFLUENT_MAGIC",
    "DEFAULT_MAX_MESSAGE_BYTES",
    "SINGLE_OBJECT_MAGIC",
    "Codec",
    "Decoded",
    "Framing",
    "canonical_form",
    "fingerprint",
]

SINGLE_OBJECT_MAGIC: Final = b"\xc3\x01"
CONFLUENT_MAGIC: Final = b"\x00"
DEFAULT_MAX_MESSAGE_BYTES: Final = 1 << 20
_SINGLE_OBJECT_HEADER = len(SINGLE_OBJECT_MAGIC) + 8
_CONFLUENT_HEADER = len(CONFLUENT_MAGIC) + 4
_MAX_SCHEMA_ID = 2**31 - 1


class Framing(StrEnum):
    """How the writer schema of an encoded event is identified."""

    SINGLE_OBJECT = "single-object"
    CONFLUENT = "confluent"


@dataclass(frozen=True, slots=True)
class Decoded:
    """A decoded event: its name (``"CaseAlert"``...), the record, and how it was framed.

    The record is in the current schema's shape whatever version wrote it. Values are
    fastavro's: ``uuid.UUID`` for UUID fields, aware UTC ``datetime`` for timestamps,
    ``(type name, record)`` for a union of several record types.
    """

    name: str
    record: dict[str, Any]
    framing: Framing


def canonical_form(schema: Any) -> str:
    """The Parsing Canonical Form of a self-contained schema (JSON text or object)."""
    if isinstance(schema, str | bytes):
        schema = json.loads(schema)
    return str(to_parsing_canonical_form(parse_schema(schema)))


def fingerprint(schema: Any) -> bytes:
    """The CRC-64-AVRO fingerprint of a schema, in single-object byte order (little-endian)."""
    return bytes.fromhex(_fastavro_fingerprint(canonical_form(schema), "CRC-64-AVRO"))


@dataclass(frozen=True, slots=True)
class _Writer:
    """A writer schema decoders may meet, and how to read it."""

    name: str
    schema: dict[str, Any]
    # None when the writer is the current schema: no resolution step needed.
    reader: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class _Event:
    name: str
    full_name: str
    schema: dict[str, Any]
    validator: SchemaValidator
    fingerprint: bytes
    header: bytes


class Codec:
    """Encodes and decodes every Corridor event; build one per process and share it.

    ``registry_ids`` maps event names to the schema-registry ids of their current
    schemas; given it, :meth:`encode` writes the Confluent framing (or pass ``framing``
    explicitly). ``registry_writers`` maps further registry ids to the writer schemas
    they stand for (JSON text or object), so data written under them can be read; each
    is checked at construction to be readable by the current schema.
    """

    def __init__(
        self,
        *,
        registry_ids: Mapping[str, int] | None = None,
        registry_writers: Mapping[int, Any] | None = None,
        framing: Framing | None = None,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        if max_message_bytes < _SINGLE_OBJECT_HEADER:
            raise CodecConfigError(f"max_message_bytes must be at least {_SINGLE_OBJECT_HEADER}")
        self._max = max_message_bytes
        self._events: dict[str, _Event] = {}
        self._by_full_name: dict[str, str] = {}
        self._by_fingerprint: dict[bytes, _Writer] = {}
        self._by_schema_id: dict[int, _Writer] = {}
        self._confluent_headers: dict[str, bytes] = {}
        self._types: dict[str, tuple[dict[str, Any], SchemaValidator]] = {}
        self._writers: dict[int, tuple[dict[str, Any], Callable[[Any], bytes] | None]] = {}
        for name in schemas.names():
            self._add_event(name)
        self._add_registry(registry_ids or {}, registry_writers or {})
        if framing is None:
            framing = Framing.CONFLUENT if registry_ids else Framing.SINGLE_OBJECT
        if framing is Framing.CONFLUENT and not registry_ids:
            raise CodecConfigError("the Confluent framing needs registry_ids")
        self._framing = framing

    @property
    def names(self) -> tuple[str, ...]:
        """The events this codec encodes and decodes."""
        return tuple(self._events)

    @property
    def framing(self) -> Framing:
        """The framing :meth:`encode` writes."""
        return self._framing

    @property
    def max_message_bytes(self) -> int:
        return self._max

    def fingerprint(self, name: str) -> bytes:
        """The 8-byte fingerprint of the event's current schema."""
        return self._event(name).fingerprint

    def schema(self, name: str) -> dict[str, Any]:
        """A copy of the event's current schema as parsed by fastavro."""
        schema: dict[str, Any] = copy.deepcopy(self._event(name).schema)
        return schema

    def encode(self, name: str, record: Mapping[str, Any]) -> bytes:
        """Frame and encode ``record`` as event ``name`` with its current schema."""
        event = self._event(name)
        if self._framing is Framing.CONFLUENT:
            header = self._confluent_headers.get(name)
            if header is None:
                raise CodecConfigError(f"no schema registry id is configured for {name}")
        else:
            header = event.header
        event.validator.check(record, what=name)
        data = header + self._write(event.schema, record, name)
        if len(data) > self._max:
            raise EncodeError(
                f"{name} encodes to {len(data)} bytes, over the {self._max}-byte limit"
            )
        return data

    def decode(self, data: bytes | bytearray | memoryview) -> Decoded:
        """Decode an event in either framing, resolved to its current schema."""
        body, writer, framing = self._unframe(data)
        record: dict[str, Any] = self._read(writer, body)
        return Decoded(writer.name, record, framing)

    def decode_as(self, name: str, data: bytes | bytearray | memoryview) -> dict[str, Any]:
        """Decode bytes that must be event ``name``; another event is a DecodeError."""
        self._event(name)
        body, writer, _ = self._unframe(data)
        if writer.name != name:
            raise UnexpectedEventError(
                f"expected a {name} but the bytes hold a {writer.name}",
                expected=name,
                actual=writer.name,
            )
        record: dict[str, Any] = self._read(writer, body)
        return record

    def encode_unframed(self, type_name: str, datum: Mapping[str, Any]) -> bytes:
        """Bare Avro binary of an event or a named record type inside one, no framing.

        ``type_name`` is an event name or a full type name such as
        ``"corridor.alert.AlertMetadata"``. For byte strings that are signed or
        hashed, where the type is known from context and a header would only add bytes.
        """
        schema, validator = self._type(type_name)
        validator.check(datum, what=type_name, type_name=self._type_full_name(type_name))
        data = self._write(schema, datum, type_name)
        if len(data) > self._max:
            raise EncodeError(f"{type_name} encodes to {len(data)} bytes, over the limit")
        return data

    def decode_unframed(self, type_name: str, data: bytes | bytearray | memoryview) -> Any:
        """Read what :meth:`encode_unframed` wrote, with the same checks as :meth:`decode`."""
        schema, _ = self._type(type_name)
        body = self._check_size(data)
        return self._read(_Writer(type_name, schema, None), body)

    # -- construction ----------------------------------------------------------------

    def _add_event(self, name: str) -> None:
        raw = schemas.expanded(name)
        named: dict[str, Any] = {}
        parsed = _parse(raw, named)
        validator = SchemaValidator(raw)
        print_ = fingerprint(raw)
        event = _Event(
            name, parsed["name"], parsed, validator, print_, SINGLE_OBJECT_MAGIC + print_
        )
        self._events[name] = event
        self._by_full_name[event.full_name] = name
        self._register_fingerprint(print_, _Writer(name, parsed, None))
        for type_name, definition in named.items():
            if type_name not in self._types and isinstance(definition, dict):
                others = {k: v for k, v in named.items() if k != type_name}
                self._types[type_name] = (_parse(definition, others), validator)
        for version, old in schemas.history(name):
            old_print = fingerprint(old)
            if old_print == print_:
                continue
            self._check_readable(raw, old, f"{name} v{version}")
            self._register_fingerprint(old_print, _Writer(name, _parse(old), parsed))

    def _register_fingerprint(self, print_: bytes, writer: _Writer) -> None:
        known = self._by_fingerprint.get(print_)
        if known is not None and known.name != writer.name:
            raise CodecConfigError(
                f"{writer.name} and {known.name} share the fingerprint {print_.hex()}"
            )
        self._by_fingerprint.setdefault(print_, writer)

    def _add_registry(self, ids: Mapping[str, int], writers: Mapping[int, Any]) -> None:
        for name, schema_id in ids.items():
            event = self._event(name, error=CodecConfigError)
            _check_schema_id(schema_id)
            if schema_id in self._by_schema_id:
                raise CodecConfigError(f"schema id {schema_id} is given to two events")
            self._by_schema_id[schema_id] = _Writer(name, event.schema, None)
            self._confluent_headers[name] = CONFLUENT_MAGIC + schema_id.to_bytes(4, "big")
        for schema_id, writer_schema in writers.items():
            _check_schema_id(schema_id)
            try:
                parsed = _parse(writer_schema)
            except Exception as exc:
                raise CodecConfigError(f"writer schema of id {schema_id} does not parse") from exc
            event_name = self._by_full_name.get(parsed.get("name", ""))
            if event_name is None:
                raise CodecConfigError(
                    f"writer schema of id {schema_id} is not a Corridor event "
                    f"({parsed.get('name')!r})"
                )
            known = self._by_schema_id.get(schema_id)
            if known is not None and known.name != event_name:
                raise CodecConfigError(f"schema id {schema_id} is {known.name}, not {event_name}")
            event = self._events[event_name]
            if fingerprint(writer_schema) == event.fingerprint:
                self._by_schema_id[schema_id] = _Writer(event_name, event.schema, None)
                continue
            self._check_readable(
                schemas.expanded(event_name), writer_schema, f"{event_name} id {schema_id}"
            )
            self._by_schema_id[schema_id] = _Writer(event_name, parsed, event.schema)

    @staticmethod
    def _check_readable(reader: Any, writer: Any, what: str) -> None:
        try:
            assert_backward_compatible(reader, writer, what=what)
        except IncompatibleSchemaError as exc:
            raise CodecConfigError(str(exc)) from exc

    # -- encoding and decoding -------------------------------------------------------

    def _event(self, name: str, error: type[Exception] = EncodeError) -> _Event:
        event = self._events.get(name)
        if event is None:
            known = ", ".join(self._events)
            raise error(f"unknown event {name!r}; known events: {known}")
        return event

    def _type_full_name(self, type_name: str) -> str:
        event = self._events.get(type_name)
        return event.full_name if event else type_name

    def _type(self, type_name: str) -> tuple[dict[str, Any], SchemaValidator]:
        full = self._type_full_name(type_name)
        found = self._types.get(full)
        if found is None:
            raise EncodeError(f"unknown event or record type {type_name!r}")
        return found

    def _compiled(self, schema: dict[str, Any]) -> Callable[[Any], bytes] | None:
        """The compiled writer of ``schema`` (one of this codec's, so it lives as long
        as the codec and its id is never reused while cached)."""
        kept = self._writers.get(id(schema))
        if kept is None or kept[0] is not schema:
            kept = (schema, compile_writer(schema))
            self._writers[id(schema)] = kept
        return kept[1]

    def _write_compiled(self, schema: dict[str, Any], record: Any) -> bytes | None:
        """The bytes fastavro would write, by the compiled writer; None where it leaves
        the record to fastavro."""
        compiled = self._compiled(schema)
        if compiled is None:
            return None
        try:
            return compiled(record)
        except Unsupported:
            return None

    def _write(self, schema: dict[str, Any], record: Mapping[str, Any], what: str) -> bytes:
        written = self._write_compiled(schema, record)
        if written is not None:
            return written
        out = io.BytesIO()
        try:
            fastavro.schemaless_writer(out, schema, record)
        except Exception as exc:
            # Not chained: fastavro's messages quote the value, which may be personal data.
            raise EncodeError(f"{what} could not be written ({type(exc).__name__})") from None
        return out.getvalue()

    def _check_size(self, data: bytes | bytearray | memoryview) -> bytes:
        if not isinstance(data, bytes):
            if not isinstance(data, bytearray | memoryview):
                raise DecodeError(f"expected bytes to decode, got {type(data).__name__}")
            data = bytes(data)
        if len(data) > self._max:
            raise DecodeError(
                f"refusing {len(data)} bytes: over the {self._max}-byte message limit"
            )
        return data

    def _unframe(self, data: bytes | bytearray | memoryview) -> tuple[bytes, _Writer, Framing]:
        data = self._check_size(data)
        if data.startswith(SINGLE_OBJECT_MAGIC):
            if len(data) < _SINGLE_OBJECT_HEADER:
                raise DecodeError(f"truncated single-object header ({len(data)} bytes)")
            print_ = data[2:_SINGLE_OBJECT_HEADER]
            writer = self._by_fingerprint.get(print_)
            if writer is None:
                raise UnknownSchemaError(
                    f"unknown writer schema fingerprint {print_.hex()}", fingerprint=print_
                )
            return data[_SINGLE_OBJECT_HEADER:], writer, Framing.SINGLE_OBJECT
        if data.startswith(CONFLUENT_MAGIC):
            if len(data) < _CONFLUENT_HEADER:
                raise DecodeError(f"truncated Confluent header ({len(data)} bytes)")
            schema_id = int.from_bytes(data[1:_CONFLUENT_HEADER], "big")
            writer = self._by_schema_id.get(schema_id)
            if writer is None:
                raise UnknownSchemaError(
                    f"unknown schema registry id {schema_id}", schema_id=schema_id
                )
            return data[_CONFLUENT_HEADER:], writer, Framing.CONFLUENT
        first = f"0x{data[0]:02x}" if data else "nothing"
        raise DecodeError(
            f"unrecognised framing: starts with {first}, neither the single-object marker "
            "C3 01 nor the Confluent magic byte 00"
        )

    def _read(self, writer: _Writer, body: bytes) -> Any:
        source = io.BytesIO(body)
        try:
            written = fastavro.schemaless_reader(
                source,
                writer.schema,
                None,
                return_record_name=True,
                return_record_name_override=True,
            )
        except Exception as exc:
            # fastavro reports hostile input as anything from IndexError to OverflowError.
            raise DecodeError(
                f"{writer.name} payload is truncated or malformed ({type(exc).__name__})"
            ) from exc
        consumed = source.tell()
        if consumed != len(body):
            raise DecodeError(f"{len(body) - consumed} trailing bytes after the {writer.name}")
        if self._write_canonical(writer.schema, written) != body:
            raise DecodeError(f"{writer.name} payload is not in canonical Avro binary form")
        if writer.reader is None:
            return written
        try:
            return fastavro.schemaless_reader(
                io.BytesIO(body),
                writer.schema,
                writer.reader,
                return_record_name=True,
                return_record_name_override=True,
            )
        except Exception as exc:
            raise DecodeError(f"{writer.name} could not be resolved to the current schema") from exc

    def _write_canonical(self, schema: dict[str, Any], record: Any) -> bytes | None:
        written = self._write_compiled(schema, record)
        if written is not None:
            return written
        out = io.BytesIO()
        try:
            fastavro.schemaless_writer(out, schema, record)
        except Exception:
            return None  # what was read cannot be written back: not a canonical encoding
        return out.getvalue()


def _parse(schema: Any, named: dict[str, Any] | None = None) -> dict[str, Any]:
    if isinstance(schema, str | bytes):
        schema = json.loads(schema)
    parsed = parse_schema(schema, named)
    if not isinstance(parsed, dict):
        raise CodecConfigError("event schemas must be record schemas")
    return parsed


def _check_schema_id(schema_id: int) -> None:
    if isinstance(schema_id, bool) or not isinstance(schema_id, int):
        raise CodecConfigError(f"schema ids must be integers, got {type(schema_id).__name__}")
    if not 0 <= schema_id <= _MAX_SCHEMA_ID:
        raise CodecConfigError(f"schema id {schema_id} is outside 0..{_MAX_SCHEMA_ID}")
