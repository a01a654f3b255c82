"""Schema evolution: every historical writer schema stays readable by the current one."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import avro.schema
import fastavro
import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schemas
from corridor.codec import SINGLE_OBJECT_MAGIC, Codec, canonical_form, fingerprint
from corridor.codec_errors import CodecConfigError, IncompatibleSchemaError
from corridor.compat import assert_backward_compatible, check_backward_compatible
from tests.strategies import event_records

CODEC = Codec()
HISTORY = [
    (name, version, schema) for name in schemas.names() for version, schema in schemas.history(name)
]
_NAMED = ("record", "enum", "fixed")


def _named_types(
    schema: Any, namespace: str | None = None, found: dict[str, Any] | None = None
) -> dict[str, Any]:
    found = {} if found is None else found
    if isinstance(schema, list):
        for branch in schema:
            _named_types(branch, namespace, found)
    elif isinstance(schema, dict):
        kind = schema["type"]
        if kind in _NAMED:
            name = schema["name"]
            ns = schema.get("namespace", namespace)
            full = name if "." in name or not ns else f"{ns}.{name}"
            found[full] = schema
            for field in schema.get("fields", ()):
                _named_types(field["type"], full.rpartition(".")[0], found)
        elif kind == "array":
            _named_types(schema["items"], namespace, found)
        elif not isinstance(kind, str):
            _named_types(kind, namespace, found)
    return found


class _Resolver:
    """What reading ``datum`` (written with the writer schema) gives under the reader schema.

    Written independently of fastavro, from the specification's rules: reader fields the
    writer lacks take their defaults; writer fields the reader lacks disappear.
    """

    def __init__(self, writer: Any, reader: Any) -> None:
        self._writer_types = _named_types(writer)
        self._reader_types = _named_types(reader)

    def _deref(self, schema: Any, types: dict[str, Any]) -> Any:
        while True:
            if isinstance(schema, str) and "." in schema:
                schema = types[schema]
            elif isinstance(schema, dict) and not isinstance(schema["type"], str):
                schema = schema["type"]
            elif isinstance(schema, dict) and "." in schema["type"]:
                schema = types[schema["type"]]
            else:
                return schema

    def written(self, datum: Any, schema: Any) -> Any:
        """``datum`` cut down to the fields the writer schema has."""
        schema = self._deref(schema, self._writer_types)
        return self._walk(datum, schema, self._writer_types, lambda d, s, n: self.written(d, s))

    def resolve(self, datum: Any, writer: Any, reader: Any) -> Any:
        writer = self._deref(writer, self._writer_types)
        reader = self._deref(reader, self._reader_types)
        if isinstance(reader, dict) and reader["type"] == "record":
            fields = {f["name"]: f for f in writer["fields"]}
            return {
                f["name"]: self.resolve(datum[f["name"]], fields[f["name"]]["type"], f["type"])
                if f["name"] in fields
                else copy.deepcopy(f["default"])
                for f in reader["fields"]
            }
        if isinstance(reader, dict) and reader["type"] == "array":
            return [self.resolve(d, writer["items"], reader["items"]) for d in datum]
        if isinstance(reader, list):
            if datum is None:
                return None
            if isinstance(datum, tuple):
                return (datum[0], self.resolve(datum[1], datum[0], datum[0]))
            branch = next(b for b in reader if b != "null")
            other = next(b for b in writer if b != "null")
            return self.resolve(datum, other, branch)
        return datum

    def _walk(self, datum: Any, schema: Any, types: dict[str, Any], again: Any) -> Any:
        if isinstance(schema, dict) and schema["type"] == "record":
            return {
                f["name"]: again(datum[f["name"]], f["type"], types)
                for f in schema["fields"]
                if f["name"] in datum
            }
        if isinstance(schema, dict) and schema["type"] == "array":
            return [again(d, schema["items"], types) for d in datum]
        if isinstance(schema, list):
            if datum is None:
                return None
            if isinstance(datum, tuple):
                return (datum[0], again(datum[1], datum[0], types))
            return again(datum, next(b for b in schema if b != "null"), types)
        return datum


def _write(schema: Any, record: Any) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), record)
    return SINGLE_OBJECT_MAGIC + fingerprint(schema) + out.getvalue()


# -- the history itself -------------------------------------------------------------------


@pytest.mark.parametrize("name", schemas.names())
def test_history_is_complete_and_ends_with_the_current_schema(name: str) -> None:
    versions = schemas.history(name)
    assert [v for v, _ in versions] == list(range(1, len(versions) + 1))
    assert versions[-1][1] == schemas.expanded(name), (
        f"{name}.avsc changed: add history/{name}/v{len(versions) + 1}.avsc holding "
        "schemas.expanded(name), and keep the older versions"
    )
    prints = [canonical_form(schema) for _, schema in versions]
    assert len(set(prints)) == len(prints), "two history versions parse the same"


def test_case_alert_has_a_real_older_version() -> None:
    (_, v1), (_, v2) = schemas.history("CaseAlert")
    assert fingerprint(v1) != fingerprint(v2)
    added = _named_types(v2)["corridor.alert.AlertMetadata"]["fields"]
    old = _named_types(v1)["corridor.alert.AlertMetadata"]["fields"]
    assert {f["name"] for f in added} - {f["name"] for f in old} == {"linkage_tokens"}


# -- data written with every version reads back under the current schema -----------------


@pytest.mark.parametrize(
    ("name", "version", "writer"), HISTORY, ids=[f"{n}-v{v}" for n, v, _ in HISTORY]
)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_historical_writer_is_read_by_the_current_reader(
    name: str, version: int, writer: Any, data: st.DataObject
) -> None:
    reader = schemas.expanded(name)
    resolver = _Resolver(writer, reader)
    sample = data.draw(event_records(name))
    written = resolver.written(sample, writer)
    expected = resolver.resolve(written, writer, reader)
    decoded = CODEC.decode(_write(writer, written))
    assert decoded.name == name
    assert decoded.record == expected
    reread = fastavro.schemaless_reader(
        io.BytesIO(_write(writer, written)[10:]),
        fastavro.parse_schema(writer),
        fastavro.parse_schema(reader),
        return_record_name=True,
        return_record_name_override=True,
    )
    assert reread == expected


def test_case_alert_v1_reads_with_no_linkage_tokens() -> None:
    (_, v1), _ = schemas.history("CaseAlert")
    vector = json.loads((Path(__file__).parent / "vectors" / "codec_case_alert.json").read_text())
    current = CODEC.decode(bytes.fromhex(vector["single_object"])).record
    old = copy.deepcopy(current)
    del old["metadata"]["linkage_tokens"]
    data = _write(v1, old)
    assert data[2:10] != CODEC.fingerprint("CaseAlert")
    decoded = CODEC.decode(data).record
    assert decoded["metadata"]["linkage_tokens"] == []
    assert current["metadata"]["linkage_tokens"] != []
    assert {k: v for k, v in decoded["metadata"].items() if k != "linkage_tokens"} == {
        k: v for k, v in current["metadata"].items() if k != "linkage_tokens"
    }
    assert decoded["body"] == current["body"]
    assert decoded["signature"] == current["signature"]


# -- the compatibility check ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "version", "writer"), HISTORY, ids=[f"{n}-v{v}" for n, v, _ in HISTORY]
)
def test_current_schemas_read_every_historical_version(
    name: str, version: int, writer: Any
) -> None:
    reader = schemas.expanded(name)
    assert check_backward_compatible(reader, writer) == []
    assert check_backward_compatible(json.dumps(reader), json.dumps(writer)) == []
    # Older readers still read current data (forward compatibility, for rolling upgrades).
    assert check_backward_compatible(writer, reader) == []


def _record(*fields: dict[str, Any], name: str = "t.R", **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields), **extra}


def _enum(*symbols: str, **extra: Any) -> dict[str, Any]:
    return {"type": "enum", "name": "t.E", "symbols": list(symbols), **extra}


CASES: list[tuple[str, Any, Any, str | None]] = [
    ("same", _record({"name": "a", "type": "int"}), _record({"name": "a", "type": "int"}), None),
    (
        "int to long",
        _record({"name": "a", "type": "long"}),
        _record({"name": "a", "type": "int"}),
        None,
    ),
    (
        "long to int",
        _record({"name": "a", "type": "int"}),
        _record({"name": "a", "type": "long"}),
        "a: the reader's int cannot read the writer's long",
    ),
    (
        "string to bytes",
        _record({"name": "a", "type": "bytes"}),
        _record({"name": "a", "type": "string"}),
        None,
    ),
    (
        "new field with default",
        _record({"name": "a", "type": "int"}, {"name": "b", "type": "string", "default": ""}),
        _record({"name": "a", "type": "int"}),
        None,
    ),
    (
        "new field without default",
        _record({"name": "a", "type": "int"}, {"name": "b", "type": "string"}),
        _record({"name": "a", "type": "int"}),
        "b: the writer does not write it",
    ),
    (
        "dropped field",
        _record({"name": "a", "type": "int"}),
        _record({"name": "a", "type": "int"}, {"name": "b", "type": "string"}),
        None,
    ),
    (
        "renamed field with alias",
        _record({"name": "b", "type": "int", "aliases": ["a"]}),
        _record({"name": "a", "type": "int"}),
        None,
    ),
    (
        "enum symbol removed",
        _record({"name": "e", "type": _enum("A")}),
        _record({"name": "e", "type": _enum("A", "B")}),
        "the reader's enum lacks symbols ['B']",
    ),
    (
        "enum symbol removed with default",
        _record({"name": "e", "type": _enum("A", default="A")}),
        _record({"name": "e", "type": _enum("A", "B")}),
        None,
    ),
    (
        "enum symbol added",
        _record({"name": "e", "type": _enum("A", "B")}),
        _record({"name": "e", "type": _enum("A")}),
        None,
    ),
    (
        "optional to required",
        _record({"name": "a", "type": "string"}),
        _record({"name": "a", "type": ["null", "string"]}),
        "a<branch 0>: the reader's string cannot read the writer's null",
    ),
    (
        "required to optional",
        _record({"name": "a", "type": ["null", "string"]}),
        _record({"name": "a", "type": "string"}),
        None,
    ),
    (
        "union lost a branch",
        _record({"name": "a", "type": ["null", "int"]}),
        _record({"name": "a", "type": ["null", "int", "string"]}),
        "no branch of the reader's union reads the writer's string",
    ),
    (
        "array items",
        _record({"name": "a", "type": {"type": "array", "items": "int"}}),
        _record({"name": "a", "type": {"type": "array", "items": "string"}}),
        "a[]: the reader's int cannot read",
    ),
    (
        "nested record field",
        _record({"name": "n", "type": _record({"name": "x", "type": "int"}, name="t.N")}),
        _record(
            {
                "name": "n",
                "type": _record(
                    {"name": "x", "type": "int"}, {"name": "y", "type": "int"}, name="t.N"
                ),
            }
        ),
        None,
    ),
    (
        "nested new field",
        _record(
            {
                "name": "n",
                "type": _record(
                    {"name": "x", "type": "int"}, {"name": "y", "type": "int"}, name="t.N"
                ),
            }
        ),
        _record({"name": "n", "type": _record({"name": "x", "type": "int"}, name="t.N")}),
        "n.y: the writer does not write it",
    ),
    (
        "record renamed",
        _record({"name": "a", "type": "int"}, name="t.S"),
        _record({"name": "a", "type": "int"}),
        "the reader's record cannot read the writer's record",
    ),
    (
        "record renamed with alias",
        _record({"name": "a", "type": "int"}, name="t.S", aliases=["t.R"]),
        _record({"name": "a", "type": "int"}),
        None,
    ),
    (
        "fixed size",
        _record({"name": "f", "type": {"type": "fixed", "name": "t.F", "size": 4}}),
        _record({"name": "f", "type": {"type": "fixed", "name": "t.F", "size": 8}}),
        "fixed sizes differ",
    ),
    (
        "logical type ignored",
        _record({"name": "t", "type": {"type": "long", "logicalType": "timestamp-micros"}}),
        _record({"name": "t", "type": "long"}),
        None,
    ),
]


@pytest.mark.parametrize(("label", "reader", "writer", "problem"), CASES, ids=[c[0] for c in CASES])
def test_compatibility_rules(label: str, reader: Any, writer: Any, problem: str | None) -> None:
    problems = check_backward_compatible(reader, writer)
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1
        assert problem in problems[0]
    # The Apache implementation, independent of ours, agrees.
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
    verdict = checker.get_compatibility(
        avro.schema.parse(json.dumps(reader)), avro.schema.parse(json.dumps(writer))
    )
    assert (verdict.compatibility == SchemaCompatibilityType.compatible) == (problem is None)


def test_assert_backward_compatible_raises_with_the_problems() -> None:
    reader, writer = CASES[5][1], CASES[5][2]
    with pytest.raises(
        IncompatibleSchemaError, match="Thing: the reader schema cannot read"
    ) as caught:
        assert_backward_compatible(reader, writer, what="Thing")
    assert caught.value.problems == tuple(check_backward_compatible(reader, writer))


def test_named_references_and_recursion_are_followed() -> None:
    node = _record(
        {"name": "value", "type": "int"},
        {"name": "next", "type": ["null", "t.Node"], "default": None},
        name="t.Node",
    )
    widened = copy.deepcopy(node)
    widened["fields"][0]["type"] = "long"
    assert check_backward_compatible(widened, node) == []
    # Reported once, where the type is first met, and the recursion ends.
    assert check_backward_compatible(node, widened) == [
        "value: the reader's int cannot read the writer's long"
    ]


def test_codec_refuses_an_unreadable_history(monkeypatch: pytest.MonkeyPatch) -> None:
    real = schemas.history

    def history(name: str) -> list[tuple[int, dict[str, Any]]]:
        versions = real(name)
        if name == "Escalation":
            broken = copy.deepcopy(versions[0][1])
            broken["fields"][0]["type"] = "bytes"
            broken["fields"][1]["type"] = "long"
            return [(1, broken), *[(v + 1, s) for v, s in versions]]
        return versions

    monkeypatch.setattr(schemas, "history", history)
    with pytest.raises(
        CodecConfigError,
        match=r"Escalation v1: .*issuer: the reader's string cannot read the writer's long",
    ):
        Codec()
