"""A deterministic, unambiguous byte encoding of plain values, for signatures and AAD.

Signatures and associated data must cover *values*, not whatever bytes a serialiser
happened to produce: the Avro codec, JSON or a future format may all carry the same
alert, and each must verify. This encoding is the one place that turns a value into
bytes for those purposes, so it is kept small, strict and stable.

Every value is a one-byte type tag followed by its payload; variable-length payloads
and collections carry a length or count first. The encoding is therefore prefix-free
(no encoding is a prefix of another), so concatenations inside collections cannot be
confused: ``["ab", "c"]`` and ``["a", "bc"]`` differ, as do ``b"1"`` and ``"1"`` and
``1``. Sets and mappings are sorted by the bytes of their (encoded) elements or keys, so
the order in which they were built does not matter.

Format (``u64`` and ``i64`` are 8-byte big-endian, unsigned and signed)::

    None      N                      False/True  F / T
    int       I u64(n) two's-complement big-endian, (bit_length + 8) // 8 bytes
    bytes     B u64(n) raw           str         S u64(n) UTF-8
    datetime  D i64(microseconds since 1970-01-01T00:00:00Z)
    list      L u64(count) items...  (tuples too; order kept)
    set       U u64(count) items...  (sorted by their encodings)
    mapping   M u64(count) (key value)...  (sorted by the keys' encodings)

Enumerations encode as their value: a StrEnum member equals its string in Python and
encodes the same, so a reader that decodes an enum as a plain string still verifies.
Datetimes must be timezone-aware and encode as the exact number of microseconds since
the Unix epoch, so equal instants in different zones encode the same.

Mapping keys are typed ``Any`` only because ``Mapping`` is invariant in its key type;
at run time keys are encoded (and checked) like any other value.

Changing anything here invalidates every signature ever made: treat it as frozen and
add a new context string (and encoding) instead.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from enum import Enum
from functools import lru_cache
from typing import Any, TypeAlias

from corridor.domain import AlertMetadata
from corridor.exceptions import CorridorError

__all__ = [
    "Canonical",
    "CanonicalError",
    "encode",
    "encode_metadata",
    "encode_with_metadata",
    "metadata_value",
]

Canonical: TypeAlias = (
    bool
    | int
    | str
    | bytes
    | bytearray
    | memoryview
    | datetime
    | Enum
    | Sequence["Canonical"]
    | Set["Canonical"]
    | Mapping[Any, "Canonical"]
    | None
)

TAG_NONE = b"N"
TAG_FALSE = b"F"
TAG_TRUE = b"T"
TAG_INT = b"I"
TAG_BYTES = b"B"
TAG_STR = b"S"
TAG_DATETIME = b"D"
TAG_LIST = b"L"
TAG_SET = b"U"
TAG_MAP = b"M"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_pack_length = struct.Struct(">Q").pack
_pack_timestamp = struct.Struct(">q").pack


class CanonicalError(CorridorError):
    """A value cannot be encoded canonically (unsupported type, naive datetime, bad text)."""


def encode(value: Canonical) -> bytes:
    """The canonical bytes of ``value``; equal values give equal bytes, different ones never."""
    out = bytearray()
    _encode_into(out, value)
    return bytes(out)


# Signing and opening encode every alert's metadata, so the common types are dispatched
# on their exact type; subclasses (enums, other mappings, named tuples) take the slow path.


def _none(out: bytearray, value: Any) -> None:
    out += TAG_NONE


def _bool(out: bytearray, value: Any) -> None:
    out += TAG_TRUE if value else TAG_FALSE


def _int(out: bytearray, value: Any) -> None:
    raw = value.to_bytes((value.bit_length() + 8) // 8, "big", signed=True)
    out += TAG_INT
    out += _pack_length(len(raw))
    out += raw


def _str(out: bytearray, value: Any) -> None:
    try:
        raw = value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalError("text is not valid Unicode (lone surrogate)") from exc
    out += TAG_STR
    out += _pack_length(len(raw))
    out += raw


def _bytes(out: bytearray, value: Any) -> None:
    raw = bytes(value)
    out += TAG_BYTES
    out += _pack_length(len(raw))
    out += raw


def _datetime(out: bytearray, value: Any) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise CanonicalError("datetime has no timezone; only aware datetimes can be signed")
    out += TAG_DATETIME
    out += _pack_timestamp((value - _EPOCH) // _MICROSECOND)


def _sequence(out: bytearray, value: Any) -> None:
    out += TAG_LIST
    out += _pack_length(len(value))
    for item in value:
        _encode_into(out, item)


@lru_cache(maxsize=512)
def _encoded_name(key: str) -> bytes:
    """Mapping keys are mostly the same few field names: encode each once."""
    return encode(key)


def _encoded_key(key: Any) -> bytes:
    return _encoded_name(key) if type(key) is str and len(key) <= 64 else encode(key)


def _mapping(out: bytearray, value: Any) -> None:
    # Distinct keys have distinct encodings, so sorting by them never compares keys.
    keys = sorted((_encoded_key(key), key) for key in value)
    out += TAG_MAP
    out += _pack_length(len(keys))
    for raw, key in keys:
        out += raw
        _encode_into(out, value[key])


def _set(out: bytearray, value: Any) -> None:
    items = sorted(encode(item) for item in value)
    out += TAG_SET
    out += _pack_length(len(items))
    for item in items:
        out += item


#: Encodings of enumeration members, keyed by identity; each entry holds its member, so
#: the identity cannot be reused while it is cached. A handful of enum types exist.
_ENUM_ENCODINGS: dict[int, tuple[Enum, bytes]] = {}
_MAX_ENUM_ENCODINGS = 4096


def _enum(out: bytearray, value: Any) -> None:
    cached = _ENUM_ENCODINGS.get(id(value))
    if cached is not None and cached[0] is value:
        out += cached[1]
        return
    raw = encode(value._value_)
    if len(_ENUM_ENCODINGS) < _MAX_ENUM_ENCODINGS:
        _ENUM_ENCODINGS[id(value)] = (value, raw)
    out += raw


_ENCODERS: dict[type, Callable[[bytearray, Any], None]] = {
    type(None): _none,
    bool: _bool,
    int: _int,
    str: _str,
    bytes: _bytes,
    datetime: _datetime,
    list: _sequence,
    tuple: _sequence,
    dict: _mapping,
    frozenset: _set,
    set: _set,
}


def _encode_into(out: bytearray, value: Canonical) -> None:
    encoder = _ENCODERS.get(type(value))
    if encoder is not None:
        encoder(out, value)
    elif isinstance(value, Enum):
        _ENCODERS[type(value)] = _enum  # a handful of enum types: remember them
        _enum(out, value)
    elif isinstance(value, bool):
        _bool(out, value)
    elif isinstance(value, int):
        _int(out, value)
    elif isinstance(value, str):
        _str(out, value)
    elif isinstance(value, bytes | bytearray | memoryview):
        _bytes(out, value)
    elif isinstance(value, datetime):
        _datetime(out, value)
    elif isinstance(value, Mapping):
        _mapping(out, value)
    elif isinstance(value, Set):
        _set(out, value)
    elif isinstance(value, list | tuple):
        _sequence(out, value)
    else:
        raise CanonicalError(f"cannot encode a value of type {type(value).__name__}")


def metadata_value(metadata: AlertMetadata) -> Mapping[str, Canonical]:
    """The alert's clear metadata as a plain mapping, field by field.

    Spelled out rather than derived from the dataclass so that adding a field to
    :class:`AlertMetadata` is a deliberate change to what gets signed.
    """
    corridor = metadata.corridor
    return {
        "alert_id": metadata.alert_id,
        "case_ref": metadata.case_ref,
        "issuer": metadata.issuer,
        "corridor": {
            "origin": corridor.origin,
            "destination": corridor.destination,
            "transit": tuple(corridor.transit),
        },
        "alert_type": metadata.alert_type,
        "phase": metadata.phase,
        "priority": metadata.priority,
        "handling": metadata.handling,
        "tlp": metadata.tlp,
        "data_categories": frozenset(metadata.data_categories),
        "involves_minor": metadata.involves_minor,
        "best_interests_assessed": metadata.best_interests_assessed,
        "consent": metadata.consent,
        "created_at": metadata.created_at,
        "addressees": tuple(metadata.addressees),
        "linkage_tokens": tuple(
            {"epoch": token.epoch, "value": token.value} for token in metadata.linkage_tokens
        ),
    }


def encode_metadata(metadata: AlertMetadata) -> bytes:
    """The canonical bytes of an alert's clear metadata: ``encode(metadata_value(m))``."""
    out = bytearray()
    _metadata_into(out, metadata)
    return bytes(out)


def encode_with_metadata(prefix: Sequence[Canonical], metadata: AlertMetadata) -> bytes:
    """``encode((*prefix, metadata_value(metadata)))``: a context tuple ending in the
    metadata, as the body AAD is, without building the mapping."""
    out = bytearray(TAG_LIST)
    out += _pack_length(len(prefix) + 1)
    for item in prefix:
        _encode_into(out, item)
    _metadata_into(out, metadata)
    return bytes(out)


# Every alert is signed, verified and opened over its metadata, so the metadata mapping
# has a writer of its own. Its keys never change, so their order (by encoding, as
# ``_mapping`` sorts them) is computed once here from the generic encoder; each value
# goes through ``_encode_into`` after the same conversion ``metadata_value`` applies. The
# unit tests hold it byte for byte to ``encode(metadata_value(m))``.


def _key_order(names: Sequence[str]) -> tuple[tuple[bytes, str], ...]:
    return tuple(sorted((encode(name), name) for name in names))


_CORRIDOR_KEYS = _key_order(("origin", "destination", "transit"))
_TOKEN_KEYS = _key_order(("epoch", "value"))
# Every field of the dataclass: adding one makes this writer disagree with
# ``metadata_value`` (and the property test fail) until the mapping spells it out too.
_METADATA_KEYS = _key_order(tuple(field.name for field in fields(AlertMetadata)))
_CORRIDOR_HEAD = TAG_MAP + _pack_length(len(_CORRIDOR_KEYS))
_TOKEN_HEAD = TAG_MAP + _pack_length(len(_TOKEN_KEYS))
_METADATA_HEAD = TAG_MAP + _pack_length(len(_METADATA_KEYS))


def _corridor_into(out: bytearray, corridor: Any) -> None:
    out += _CORRIDOR_HEAD
    for raw, name in _CORRIDOR_KEYS:
        out += raw
        value = getattr(corridor, name)
        _encode_into(out, tuple(value) if name == "transit" else value)


def _tokens_into(out: bytearray, tokens: Any) -> None:
    tokens = tuple(tokens)
    out += TAG_LIST
    out += _pack_length(len(tokens))
    for token in tokens:
        out += _TOKEN_HEAD
        for raw, name in _TOKEN_KEYS:
            out += raw
            _encode_into(out, getattr(token, name))


def _metadata_into(out: bytearray, metadata: AlertMetadata) -> None:
    out += _METADATA_HEAD
    for raw, name in _METADATA_KEYS:
        out += raw
        value = getattr(metadata, name)
        if name == "corridor":
            _corridor_into(out, value)
        elif name == "linkage_tokens":
            _tokens_into(out, value)
        elif name == "data_categories":
            _set(out, value if type(value) is frozenset else frozenset(value))
        elif name == "addressees":
            _encode_into(out, tuple(value))
        else:
            _encode_into(out, value)
