"""The canonical encoding is deterministic, typed and injective."""

from __future__ import annotations

import struct
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor import canonical
from corridor.canonical import CanonicalError, encode, encode_metadata
from corridor.domain import (
    AlertMetadata,
    AlertType,
    ConsentScope,
    Corridor,
    DataCategory,
    HandlingCode,
    LinkageToken,
    Priority,
    Tlp,
    TrmPhase,
)
from tests.strategies import alert_metadata

# --- an independent decoder: if every encoding decodes back to its value, it is injective


def _decode(data: bytes) -> Any:
    value, end = _decode_at(data, 0)
    assert end == len(data), "trailing bytes after a complete value"
    return value


def _length(data: bytes, at: int) -> tuple[int, int]:
    return struct.unpack_from(">Q", data, at)[0], at + 8


def _decode_at(data: bytes, at: int) -> tuple[Any, int]:
    tag, at = data[at : at + 1], at + 1
    if tag == b"N":
        return ("none",), at
    if tag in (b"T", b"F"):
        return ("bool", tag == b"T"), at
    if tag in (b"I", b"B", b"S"):
        size, at = _length(data, at)
        raw = data[at : at + size]
        assert len(raw) == size
        if tag == b"I":
            return ("int", int.from_bytes(raw, "big", signed=True)), at + size
        if tag == b"B":
            return ("bytes", raw), at + size
        return ("str", raw.decode("utf-8")), at + size
    if tag == b"D":
        return ("datetime", struct.unpack_from(">q", data, at)[0]), at + 8
    if tag in (b"L", b"U", b"M"):
        count, at = _length(data, at)
        items = []
        for _ in range(count):
            item, at = _decode_at(data, at)
            if tag == b"M":
                value, at = _decode_at(data, at)
                item = (item, value)
            items.append(item)
        if tag == b"L":
            return ("list", tuple(items)), at
        return ("set" if tag == b"U" else "map", frozenset(items)), at
    raise AssertionError(f"unknown tag {tag!r}")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _norm(value: Any) -> Any:
    """The value with its type made explicit, as the decoder reports it."""
    if value is None:
        return ("none",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, Enum):
        return _norm(value.value)
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, bytes):
        return ("bytes", value)
    if isinstance(value, datetime):
        return ("datetime", (value - _EPOCH) // timedelta(microseconds=1))
    if isinstance(value, list | tuple):
        return ("list", tuple(_norm(v) for v in value))
    if isinstance(value, frozenset | set):
        return ("set", frozenset(_norm(v) for v in value))
    if isinstance(value, dict):
        return ("map", frozenset((_norm(k), _norm(v)) for k, v in value.items()))
    raise AssertionError(type(value))


_zones = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))])
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.text(),
    st.binary(),
    st.datetimes(timezones=_zones),
    st.sampled_from(list(AlertType) + list(Tlp)),
)
_hashables = st.one_of(st.none(), st.booleans(), st.integers(), st.text(), st.binary())
_values = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.frozensets(_hashables, max_size=4),
        st.dictionaries(_hashables, children, max_size=4),
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(_values)
def test_every_encoding_decodes_back_to_its_value(value: Any) -> None:
    assert _decode(encode(value)) == _norm(value)


@settings(max_examples=400, deadline=None)
@given(_values, _values)
def test_different_values_never_share_an_encoding(a: Any, b: Any) -> None:
    assert (encode(a) == encode(b)) == (_norm(a) == _norm(b))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=3), max_size=5), st.lists(st.text(max_size=3), max_size=5))
def test_lists_of_strings_with_the_same_concatenation_differ(a: list[str], b: list[str]) -> None:
    if a != b:
        assert encode(a) != encode(b)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=4), max_size=6, unique=True), st.randoms())
def test_set_and_mapping_order_does_not_matter(items: list[bytes], rnd: Any) -> None:
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert encode(frozenset(items)) == encode(set(shuffled))
    assert encode({k: len(k) for k in items}) == encode({k: len(k) for k in shuffled})


def test_frozen_format_of_scalars() -> None:
    assert encode(None) == b"N"
    assert encode(True) == b"T"
    assert encode(False) == b"F"
    assert encode(0) == b"I" + (1).to_bytes(8, "big") + b"\x00"
    assert encode(-1) == b"I" + (1).to_bytes(8, "big") + b"\xff"
    assert encode(128) == b"I" + (2).to_bytes(8, "big") + b"\x00\x80"
    assert encode("é") == b"S" + (2).to_bytes(8, "big") + "é".encode()
    assert encode(b"\x01") == b"B" + (1).to_bytes(8, "big") + b"\x01"
    assert encode(_EPOCH + timedelta(microseconds=1)) == b"D" + (1).to_bytes(8, "big")
    assert encode(["a"]) == b"L" + (1).to_bytes(8, "big") + encode("a")
    assert encode({"k": None}) == b"M" + (1).to_bytes(8, "big") + encode("k") + b"N"


def test_types_are_distinguished() -> None:
    encodings = {encode(v) for v in (1, True, "1", b"1", [1], (b"1",), frozenset({1}), {1: None})}
    assert len(encodings) == 8


def test_enum_encodes_as_its_value() -> None:
    assert encode(Tlp.RED) == encode("RED")
    assert encode(AlertType.CASE_CLOSED) != encode(AlertType.CASE_CLOSED.value + " ")


def test_same_instant_in_any_zone_encodes_the_same() -> None:
    utc = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert encode(utc) == encode(utc.astimezone(timezone(timedelta(hours=9))))
    assert encode(utc) != encode(utc + timedelta(microseconds=1))


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(CanonicalError, match="timezone"):
        encode(datetime(2025, 1, 1))


def test_unsupported_type_is_named() -> None:
    with pytest.raises(CanonicalError, match="float"):
        encode([1.5])  # type: ignore[list-item]


def test_lone_surrogate_is_refused() -> None:
    with pytest.raises(CanonicalError, match="Unicode"):
        encode("\ud800")


def _metadata() -> AlertMetadata:
    return AlertMetadata(
        alert_id="1b4e28ba-2fa1-11d2-883f-0016d3cca427",
        case_ref="RO-2025-0001",
        issuer="RO-ANITP",
        corridor=Corridor("RO", "AT", ("HU",)),
        alert_type=AlertType.REFERRAL_REQUEST,
        phase=TrmPhase.IDENTIFICATION,
        priority=Priority.URGENT,
        handling=HandlingCode.H1,
        tlp=Tlp.AMBER,
        data_categories=frozenset({DataCategory.IDENTITY, DataCategory.HEALTH}),
        involves_minor=False,
        best_interests_assessed=False,
        consent=ConsentScope.ASSISTANCE,
        created_at=datetime(2025, 3, 1, 12, 0, tzinfo=UTC),
        addressees=("AT-BKA",),
        linkage_tokens=(LinkageToken(1, b"\x01" * 32),),
    )


def test_metadata_covers_every_field() -> None:
    base = _metadata()
    names = set(canonical.metadata_value(base))
    assert names == set(AlertMetadata.__dataclass_fields__)
    variants = [
        replace(base, alert_id="other"),
        replace(base, case_ref="RO-2025-0002"),
        replace(base, issuer="RO-IGPR"),
        replace(base, corridor=Corridor("RO", "AT")),
        replace(base, corridor=Corridor("RO", "DE", ("HU",))),
        replace(base, alert_type=AlertType.RISK_ASSESSMENT),
        replace(base, phase=TrmPhase.RETURN_AND_SOCIAL_INCLUSION),
        replace(base, priority=Priority.ROUTINE),
        replace(base, handling=HandlingCode.H2),
        replace(base, tlp=Tlp.RED),
        replace(base, data_categories=frozenset({DataCategory.IDENTITY})),
        replace(base, involves_minor=True),
        replace(base, best_interests_assessed=True),
        replace(base, consent=ConsentScope.FULL),
        replace(base, created_at=base.created_at + timedelta(microseconds=1)),
        replace(base, addressees=()),
        replace(base, linkage_tokens=(LinkageToken(2, b"\x01" * 32),)),
    ]
    encodings = {encode_metadata(v) for v in [base, *variants]}
    assert len(encodings) == len(variants) + 1


def test_metadata_set_order_does_not_matter() -> None:
    base = _metadata()
    reordered = replace(
        base, data_categories=frozenset([DataCategory.HEALTH, DataCategory.IDENTITY])
    )
    assert encode_metadata(base) == encode_metadata(reordered)


@settings(max_examples=300)
@given(alert_metadata(), st.lists(st.one_of(st.text(), st.integers(), st.binary()), max_size=3))
def test_metadata_writer_matches_the_generic_encoding(
    metadata: AlertMetadata, prefix: list[Any]
) -> None:
    value = canonical.metadata_value(metadata)
    assert encode_metadata(metadata) == encode(value)
    assert canonical.encode_with_metadata(tuple(prefix), metadata) == encode((*prefix, value))


def test_metadata_writer_converts_fields_as_the_mapping_does() -> None:
    """Lists where tuples and frozensets are expected (a record not built by the codec)
    encode as ``metadata_value`` converts them, duplicates included."""
    base = _metadata()
    loose = replace(
        base,
        data_categories=[DataCategory.HEALTH, DataCategory.IDENTITY, DataCategory.HEALTH],  # type: ignore[arg-type]
        addressees=["AT-BKA"],  # type: ignore[arg-type]
        corridor=Corridor("RO", "AT", ["HU"]),  # type: ignore[arg-type]
        linkage_tokens=[LinkageToken(1, b"\x01" * 32)],  # type: ignore[arg-type]
    )
    assert encode_metadata(loose) == encode_metadata(base)
    assert encode_metadata(loose) == encode(canonical.metadata_value(loose))


def test_enum_encodings_are_cached_per_member() -> None:
    first = encode((Tlp.RED, Tlp.AMBER, Tlp.RED))
    assert first == encode((Tlp.RED.value, Tlp.AMBER.value, Tlp.RED.value))
    assert encode(Tlp.RED) != encode(Tlp.AMBER)
