"""Interoperability with the Apache ``avro`` package, an implementation independent of ours.

It resolves the shared types of ``common.avsc`` by itself, reads the bytes our codec
writes, writes the same bytes for the same records, and agrees on fingerprints.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import uuid
from pathlib import Path
from typing import Any

import avro.io
import avro.schema
import pytest

import schemas
from corridor.codec import SINGLE_OBJECT_MAGIC, Codec, canonical_form, fingerprint
from tests.unit.test_codec import load_vector

CODEC = Codec()
VECTORS = sorted((Path(__file__).parent / "vectors").glob("codec_*.json"))
PRIMITIVES = ("null", "boolean", "int", "long", "float", "double", "bytes", "string")


def apache_schema_from_files(name: str) -> avro.schema.Schema:
    """Our .avsc files as the Apache package reads them: shared types registered first."""
    names = avro.schema.Names()
    for definition in schemas.read_json(schemas.COMMON):
        avro.schema.make_avsc_object(definition, names)
    return avro.schema.make_avsc_object(schemas.read_json(name), names)


def apache_read(schema: avro.schema.Schema, body: bytes, reader: Any = None) -> Any:
    return avro.io.DatumReader(schema, reader).read(avro.io.BinaryDecoder(io.BytesIO(body)))


def apache_write(schema: avro.schema.Schema, datum: Any) -> bytes:
    out = io.BytesIO()
    avro.io.DatumWriter(schema).write(datum, avro.io.BinaryEncoder(out))
    return out.getvalue()


def as_apache_datum(value: Any) -> Any:
    """Our record in the Apache package's representation: UUIDs as text, unions untagged."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, tuple):
        return as_apache_datum(value[1])
    if isinstance(value, dict):
        return {k: as_apache_datum(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_apache_datum(v) for v in value]
    return value


def simplify_primitives(node: Any) -> Any:
    """The specification's [PRIMITIVES] rule, which avro-python skips for logical types."""
    if isinstance(node, dict):
        if set(node) == {"type"} and node["type"] in PRIMITIVES:
            return node["type"]
        return {k: simplify_primitives(v) for k, v in node.items()}
    if isinstance(node, list):
        return [simplify_primitives(v) for v in node]
    return node


@pytest.mark.parametrize("name", schemas.names())
def test_apache_resolves_our_files_as_we_expand_them(name: str) -> None:
    from_files = apache_schema_from_files(name)
    from_expanded = avro.schema.parse(json.dumps(schemas.expanded(name)))
    assert from_files.canonical_form == from_expanded.canonical_form


@pytest.mark.parametrize("name", schemas.names())
def test_canonical_forms_and_fingerprints_agree(name: str) -> None:
    apache = apache_schema_from_files(name)
    ours = json.loads(json.dumps(schemas.expanded(name)))
    our_form = canonical_form(ours)
    # avro-python leaves {"type":"long"} where a logical type was; the specification
    # (and the Java implementation) reduce it to "long", as fastavro does.
    apache_form = json.dumps(
        simplify_primitives(json.loads(apache.canonical_form)), separators=(",", ":")
    )
    assert our_form == apache_form
    # CRC-64-AVRO as the Apache package computes it, over the same canonical form.
    assert avro.schema.parse(our_form).fingerprint("CRC-64-AVRO") == CODEC.fingerprint(name)


def test_fingerprints_agree_outright_where_no_logical_types_are_used() -> None:
    apache = apache_schema_from_files("AlertBody")
    assert "logicalType" not in json.dumps(schemas.expanded("AlertBody"))
    assert apache.fingerprint("CRC-64-AVRO") == CODEC.fingerprint("AlertBody")


def test_apache_reads_our_case_alert() -> None:
    vector = next(load_vector(p) for p in VECTORS if load_vector(p)["event"] == "CaseAlert")
    data = CODEC.encode("CaseAlert", vector["record"])
    assert data[:2] == SINGLE_OBJECT_MAGIC
    alert = apache_read(apache_schema_from_files("CaseAlert"), data[10:])
    metadata = alert["metadata"]
    assert alert["suite"] == "CORRIDOR-1"
    assert metadata["alert_id"] == "00000000-0000-4000-8000-000000000001"
    assert metadata["case_ref"] == "RO-2025-0042"
    assert metadata["issuer"] == "RO-ANITP"
    assert metadata["corridor"] == {"origin": "RO", "destination": "AT", "transit": ["HU"]}
    assert metadata["alert_type"] == "REFERRAL_REQUEST"
    assert metadata["phase"] == "FIRST_ASSISTANCE_AND_PROTECTION"
    assert (metadata["priority"], metadata["handling"], metadata["tlp"]) == (
        "URGENT",
        "H1",
        "AMBER",
    )
    assert metadata["data_categories"] == ["ASSISTANCE_NEEDS", "IDENTITY", "LOCATION"]
    assert metadata["involves_minor"] is True
    assert metadata["best_interests_assessed"] is True
    assert metadata["consent"] == "ASSISTANCE"
    assert metadata["addressees"] == ["AT-BKA", "AT-LEFOE"]
    assert metadata["linkage_tokens"] == [{"epoch": 3, "value": bytes(range(9, 41))}]
    assert metadata["created_at"] == dt.datetime(2025, 3, 1, 12, 30, 15, 123456, tzinfo=dt.UTC)
    body = alert["body"]
    assert body["nonce"] == bytes(range(12))
    assert body["ciphertext"] == bytes(range(0x80, 0x80 + 48))
    assert [r["agency_id"] for r in body["recipients"]] == ["AT-BKA", "AT-LEFOE"]
    assert body["recipients"][1]["wrapped_key"] == bytes(range(4, 52))
    assert alert["signature"] == {"key_id": "sig-2025", "value": bytes(range(0x40, 0x80))}


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_apache_writes_the_same_bytes_for_every_vector(path: Path) -> None:
    vector = load_vector(path)
    schema = apache_schema_from_files(vector["event"])
    body = bytes.fromhex(vector["single_object"])[10:]
    assert apache_write(schema, as_apache_datum(vector["record"])) == body
    assert apache_read(schema, body) == as_apache_datum(vector["record"])


def test_our_codec_reads_what_apache_writes() -> None:
    vector = next(load_vector(p) for p in VECTORS if load_vector(p)["event"] == "DirectoryRecord")
    record = copy.deepcopy(vector["record"])
    _, entry = record["entry"]
    entry["title"] = "Agreement between two NRMs"
    entry["retention_days"] = 90
    schema = apache_schema_from_files("DirectoryRecord")
    data = (
        SINGLE_OBJECT_MAGIC
        + CODEC.fingerprint("DirectoryRecord")
        + apache_write(schema, as_apache_datum(record))
    )
    decoded = CODEC.decode(data).record
    assert decoded["entry"] == ("corridor.directory.AgreementEntry", entry)
    assert decoded == record


def test_apache_resolves_case_alert_v1_data_to_the_current_schema() -> None:
    (_, v1), _ = schemas.history("CaseAlert")
    vector = next(load_vector(p) for p in VECTORS if load_vector(p)["event"] == "CaseAlert")
    old = as_apache_datum(vector["record"])
    del old["metadata"]["linkage_tokens"]
    writer = avro.schema.parse(json.dumps(v1))
    data = apache_write(writer, old)
    resolved = apache_read(writer, data, apache_schema_from_files("CaseAlert"))
    assert resolved["metadata"]["linkage_tokens"] == []
    # Framed with the specification's fingerprint of v1 (see the canonical-form test).
    ours = CODEC.decode(SINGLE_OBJECT_MAGIC + fingerprint(v1) + data).record
    assert as_apache_datum(ours) == resolved
