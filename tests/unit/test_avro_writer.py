"""The compiled Avro writer writes fastavro's bytes, or leaves the record to fastavro."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corridor.avro_writer import Unsupported, compile_writer
from corridor.codec import Codec
from tests.strategies import EVENT_NAMES, event_records

CODEC = Codec()
COMPILED = [name for name in EVENT_NAMES if compile_writer(CODEC.schema(name)) is not None]


def fastavro_bytes(schema: dict[str, Any], record: Any) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, schema, record)
    return out.getvalue()


def test_the_alert_path_events_are_compiled() -> None:
    # The events every alert is written and read as; the directory's union of entry
    # records is left to fastavro.
    assert {"CaseAlert", "AlertBody", "Acknowledgement", "AuditRecord"} <= set(COMPILED)
    assert "DirectoryRecord" not in COMPILED


@pytest.mark.parametrize("name", COMPILED)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_event_is_written_as_fastavro_writes_it(name: str, data: st.DataObject) -> None:
    schema = CODEC.schema(name)
    write = compile_writer(schema)
    assert write is not None
    record = data.draw(event_records(name))
    assert write(record) == fastavro_bytes(schema, record)
    decoded = CODEC.decode_as(name, CODEC.encode(name, record))  # uuids as UUID objects
    assert write(decoded) == fastavro_bytes(schema, decoded)


_junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.binary(max_size=8)
    | st.uuids()
    | st.datetimes(timezones=st.none() | st.just(UTC)),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


def _mutations(record: dict[str, Any]) -> st.SearchStrategy[Any]:
    """``record`` with one value somewhere replaced by junk."""
    paths: list[tuple[Any, ...]] = []

    def walk(value: Any, path: tuple[Any, ...]) -> None:
        paths.append(path)
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*path, index))

    walk(record, ())

    def replaced(path: tuple[Any, ...], junk: Any) -> Any:
        if not path:
            return junk
        copy: Any = {**record}
        node = copy
        for step in path[:-1]:
            child = node[step]
            node[step] = {**child} if isinstance(child, dict) else list(child)
            node = node[step]
        node[path[-1]] = junk
        return copy

    return st.builds(replaced, st.sampled_from(paths), _junk)


@pytest.mark.parametrize("name", ["CaseAlert", "AlertBody", "Acknowledgement", "DeadLetter"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_value_it_cannot_write_as_fastavro_would_is_left_to_fastavro(
    name: str, data: st.DataObject
) -> None:
    schema = CODEC.schema(name)
    write = compile_writer(schema)
    assert write is not None
    record = data.draw(event_records(name).flatmap(_mutations))
    try:
        expected: bytes | None = fastavro_bytes(schema, record)
    except Exception:
        expected = None
    try:
        written: bytes | None = write(record)
    except Unsupported:
        written = None
    if written is not None:  # whatever it writes, fastavro writes the same
        assert written == expected


def parsed(schema: dict[str, Any]) -> dict[str, Any]:
    result = fastavro.parse_schema(schema)
    assert isinstance(result, dict)
    return result


def test_values_of_a_subclass_or_in_tuple_notation_go_to_fastavro() -> None:
    schema = {
        "type": "record",
        "name": "t.R",
        "fields": [
            {"name": "s", "type": ["null", "string"]},
            {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
            {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
        ],
    }
    write = compile_writer(parsed(schema))
    assert write is not None
    at = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    ok = {"s": None, "at": at, "id": uuid.UUID(int=7)}
    assert write(ok) == fastavro_bytes(parsed(schema), ok)
    for bad in (
        {**ok, "s": ("string", "x")},  # union tuple notation
        {**ok, "at": at.replace(tzinfo=None)},  # fastavro: local time
        {**ok, "s": "\ud800"},  # not encodable
        {"s": None, "at": at},  # missing field
    ):
        with pytest.raises(Unsupported):
            write(bad)


@pytest.mark.parametrize(
    "field_type",
    [
        {"type": "map", "values": "string"},
        {"type": "fixed", "name": "t.F", "size": 4},
        "double",
        ["null", "string", "long"],
        {"type": "int", "logicalType": "date"},
    ],
)
def test_a_schema_with_what_it_does_not_cover_gets_no_writer(field_type: Any) -> None:
    schema = {"type": "record", "name": "t.R", "fields": [{"name": "f", "type": field_type}]}
    assert compile_writer(parsed(schema)) is None
