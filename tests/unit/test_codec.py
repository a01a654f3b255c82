"""The event codec: framings, round trips, known answers, and refusal of bad input."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import uuid
from pathlib import Path
from typing import Any

import fastavro
import pytest
from fastavro.schema import fingerprint as fastavro_fingerprint
from fastavro.schema import to_parsing_canonical_form
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schemas
from corridor.codec import (
    CONFLUENT_MAGIC,
    DEFAULT_MAX_MESSAGE_BYTES,
    SINGLE_OBJECT_MAGIC,
    Codec,
    Framing,
    canonical_form,
    fingerprint,
)
from corridor.codec_errors import (
    CodecConfigError,
    CodecError,
    DecodeError,
    EncodeError,
    UnexpectedEventError,
    UnknownSchemaError,
)
from corridor.exceptions import CorridorError
from tests.strategies import EVENT_NAMES, event_records

VECTORS = sorted((Path(__file__).parent / "vectors").glob("codec_*.json"))
CODEC = Codec()
SECRET = "Zoryana Secretname"
NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


def untag(value: Any) -> Any:
    """Turn a vector's tagged JSON back into the values the codec returns."""
    if isinstance(value, list):
        return [untag(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$bytes" in value:
        return bytes.fromhex(value["$bytes"])
    if "$uuid" in value:
        return uuid.UUID(value["$uuid"])
    if "$timestamp" in value:
        return dt.datetime.fromisoformat(value["$timestamp"])
    if "$union" in value:
        return (value["$union"], untag(value["value"]))
    return {k: untag(v) for k, v in value.items()}


def load_vector(path: Path) -> dict[str, Any]:
    vector: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    vector["record"] = untag(vector["record"])
    return vector


def zigzag(n: int) -> bytes:
    """Avro's variable-length zig-zag encoding of a long."""
    value = (n << 1) ^ (n >> 63)
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def avro_string(text: str) -> bytes:
    raw = text.encode()
    return zigzag(len(raw)) + raw


def ack_record(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "ack_id": uuid.UUID(int=1),
        "alert_id": uuid.UUID(int=2),
        "corridor": {"origin": "RO", "destination": "AT", "transit": []},
        "from_agency": "AT-BKA",
        "to_issuer": "RO-ANITP",
        "status": "ACCEPTED",
        "created_at": NOW,
        "note": None,
        "signature": {"key_id": "k1", "value": b"s" * 64},
    }
    record.update(overrides)
    return record


def case_alert_record() -> dict[str, Any]:
    for path in VECTORS:
        vector = load_vector(path)
        if vector["event"] == "CaseAlert":
            record: dict[str, Any] = vector["record"]
            return record
    raise AssertionError("no CaseAlert vector")


# -- framing and fingerprints ------------------------------------------------------------


def test_fingerprint_of_null_matches_the_specification() -> None:
    # The Avro specification's CRC-64-AVRO test value for the schema "null".
    assert fingerprint('"null"') == (7195948357588979594).to_bytes(8, "little")


@pytest.mark.parametrize("name", schemas.names())
def test_fingerprint_is_crc64_of_the_canonical_form(name: str) -> None:
    parsed = schemas.load(name)
    expected = fastavro_fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO")
    assert CODEC.fingerprint(name).hex() == expected
    assert canonical_form(schemas.expanded(name)) == to_parsing_canonical_form(parsed)


def test_fingerprints_of_events_differ() -> None:
    assert len({CODEC.fingerprint(name) for name in CODEC.names}) == len(CODEC.names)


def test_single_object_framing_is_the_default() -> None:
    data = CODEC.encode("Acknowledgement", ack_record())
    assert CODEC.framing is Framing.SINGLE_OBJECT
    assert data[:2] == SINGLE_OBJECT_MAGIC
    assert data[2:10] == CODEC.fingerprint("Acknowledgement")
    body = fastavro.schemaless_reader(io.BytesIO(data[10:]), CODEC.schema("Acknowledgement"))
    assert isinstance(body, dict)
    assert body["from_agency"] == "AT-BKA"


def test_confluent_framing_when_registry_ids_are_given() -> None:
    codec = Codec(registry_ids={"Acknowledgement": 77, "CaseAlert": 78})
    data = codec.encode("Acknowledgement", ack_record())
    assert codec.framing is Framing.CONFLUENT
    assert data[:5] == CONFLUENT_MAGIC + (77).to_bytes(4, "big")
    decoded = codec.decode(data)
    assert (decoded.name, decoded.framing) == ("Acknowledgement", Framing.CONFLUENT)
    assert decoded.record == ack_record()


def test_a_codec_reads_both_framings() -> None:
    confluent = Codec(registry_ids={"Acknowledgement": 5})
    framed = [
        CODEC.encode("Acknowledgement", ack_record()),
        confluent.encode("Acknowledgement", ack_record()),
    ]
    for codec in (
        confluent,
        Codec(registry_ids={"Acknowledgement": 5}, framing=Framing.SINGLE_OBJECT),
    ):
        assert [codec.decode(data).framing for data in framed] == [
            Framing.SINGLE_OBJECT,
            Framing.CONFLUENT,
        ]
        assert all(codec.decode(data).record == ack_record() for data in framed)


def test_confluent_framing_needs_an_id_for_the_event() -> None:
    codec = Codec(registry_ids={"CaseAlert": 1})
    with pytest.raises(
        CodecConfigError, match="no schema registry id is configured for Escalation"
    ):
        codec.encode("Escalation", {})


def test_single_object_codec_cannot_read_confluent_ids_it_was_not_given() -> None:
    data = Codec(registry_ids={"Acknowledgement": 4242}).encode("Acknowledgement", ack_record())
    with pytest.raises(UnknownSchemaError, match="unknown schema registry id 4242") as caught:
        CODEC.decode(data)
    assert caught.value.schema_id == 4242
    assert caught.value.fingerprint is None


def test_unknown_fingerprint_is_named_in_hex() -> None:
    data = SINGLE_OBJECT_MAGIC + bytes.fromhex("0123456789abcdef") + b"\x00"
    with pytest.raises(UnknownSchemaError, match="fingerprint 0123456789abcdef") as caught:
        CODEC.decode(data)
    assert caught.value.fingerprint == bytes.fromhex("0123456789abcdef")
    assert isinstance(caught.value, DecodeError)
    assert isinstance(caught.value, CorridorError)
    assert caught.value.retriable is False


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "starts with nothing"),
        (b"\x7b\x22", "starts with 0x7b"),
        (b"\xc3", "starts with 0xc3"),
        (SINGLE_OBJECT_MAGIC + b"\x01\x02", "truncated single-object header"),
        (CONFLUENT_MAGIC + b"\x00\x01", "truncated Confluent header"),
    ],
)
def test_bad_framing_is_a_decode_error(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        CODEC.decode(data)


def test_decode_as_checks_the_event() -> None:
    data = CODEC.encode("Acknowledgement", ack_record())
    assert CODEC.decode_as("Acknowledgement", data) == ack_record()
    with pytest.raises(
        UnexpectedEventError, match=r"expected a CaseAlert but the bytes hold an? Ack"
    ) as caught:
        CODEC.decode_as("CaseAlert", data)
    assert (caught.value.expected, caught.value.actual) == ("CaseAlert", "Acknowledgement")


def test_decode_accepts_bytes_like_input_only() -> None:
    data = CODEC.encode("Acknowledgement", ack_record())
    assert CODEC.decode(bytearray(data)).record == ack_record()
    assert CODEC.decode(memoryview(data)).record == ack_record()
    with pytest.raises(DecodeError, match="expected bytes to decode, got str"):
        CODEC.decode(data.hex())  # type: ignore[arg-type]


def test_unknown_event_name() -> None:
    with pytest.raises(EncodeError, match="unknown event 'Alert'; known events: CaseAlert"):
        CODEC.encode("Alert", {})
    with pytest.raises(EncodeError, match="unknown event 'Nope'"):
        CODEC.decode_as("Nope", b"")


# -- round trips -----------------------------------------------------------------------


@pytest.mark.parametrize("name", EVENT_NAMES)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_event_round_trips(name: str, data: st.DataObject) -> None:
    record = data.draw(event_records(name))
    encoded = CODEC.encode(name, record)
    decoded = CODEC.decode(encoded)
    assert decoded.name == name
    assert decoded.framing is Framing.SINGLE_OBJECT
    assert decoded.record == record
    assert CODEC.encode(name, decoded.record) == encoded


def test_strategies_cover_every_event() -> None:
    assert set(EVENT_NAMES) == set(schemas.names())


def test_fields_with_defaults_may_be_left_out() -> None:
    record = ack_record()
    del record["note"]
    decoded = CODEC.decode(CODEC.encode("Acknowledgement", record)).record
    assert decoded["note"] is None
    body = CODEC.decode(CODEC.encode("AlertBody", {"person": {}})).record
    assert body["narrative"] == ""
    assert body["person"]["given_names"] == []
    assert body["contact"] is None


def test_uuid_strings_and_objects_encode_alike() -> None:
    as_text = ack_record(ack_id=str(uuid.UUID(int=1)))
    assert CODEC.encode("Acknowledgement", as_text) == CODEC.encode("Acknowledgement", ack_record())


def test_timestamps_are_micro_precise_and_come_back_in_utc() -> None:
    local = dt.datetime(2025, 3, 1, 14, 0, 0, 1, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    decoded = CODEC.decode(CODEC.encode("Acknowledgement", ack_record(created_at=local))).record
    assert decoded["created_at"] == local
    assert decoded["created_at"].tzinfo == dt.UTC
    assert decoded["created_at"].microsecond == 1


def test_unframed_encoding_of_a_nested_type() -> None:
    metadata = case_alert_record()["metadata"]
    data = CODEC.encode_unframed("corridor.alert.AlertMetadata", metadata)
    assert CODEC.decode_unframed("corridor.alert.AlertMetadata", data) == metadata
    whole = CODEC.encode("CaseAlert", case_alert_record())
    assert data in whole
    assert CODEC.encode_unframed("CaseAlert", case_alert_record()) == whole[10:]
    with pytest.raises(
        EncodeError, match=r"corridor.alert.AlertMetadata: field 'tlp' must be one of"
    ):
        CODEC.encode_unframed("corridor.alert.AlertMetadata", {**metadata, "tlp": "PURPLE"})
    with pytest.raises(EncodeError, match=r"unknown event or record type 'corridor.alert.Nope'"):
        CODEC.encode_unframed("corridor.alert.Nope", metadata)
    with pytest.raises(DecodeError, match="trailing"):
        CODEC.decode_unframed("corridor.alert.AlertMetadata", data + b"\x00")


# -- known-answer vectors -------------------------------------------------------------------


def test_there_is_a_vector_for_every_event() -> None:
    assert sorted(load_vector(path)["event"] for path in VECTORS) == sorted(schemas.names())


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_known_answer_vectors(path: Path) -> None:
    vector = load_vector(path)
    name, record = vector["event"], vector["record"]
    confluent = Codec(registry_ids={name: vector["confluent"]["schema_id"]})
    assert CODEC.fingerprint(name).hex() == vector["fingerprint"]
    assert CODEC.encode(name, record).hex() == vector["single_object"]
    assert confluent.encode(name, record).hex() == vector["confluent"]["hex"]
    assert CODEC.decode(bytes.fromhex(vector["single_object"])).record == record
    assert confluent.decode(bytes.fromhex(vector["confluent"]["hex"])).record == record
    # The two framings carry the same Avro body.
    assert vector["single_object"][20:] == vector["confluent"]["hex"][10:]


# -- encode errors name the field, never the value ----------------------------------------------


@pytest.mark.parametrize(
    ("change", "path", "problem"),
    [
        (lambda r: r.update(from_agency=7), "from_agency", "must be a str, got int"),
        (lambda r: r.pop("to_issuer"), "to_issuer", "is missing and has no default"),
        (lambda r: r.update(fromAgency=SECRET), "(record)", "fields the schema does not define"),
        (lambda r: r.update(status=SECRET), "status", "must be one of the enumeration's symbols"),
        (
            lambda r: r["corridor"].update(transit="HU"),
            "corridor.transit",
            "must be a list or tuple",
        ),
        (lambda r: r["corridor"].update(transit={"HU", "AT"}), "corridor.transit", "got set"),
        (lambda r: r["corridor"].update(transit=["HU", 3]), "corridor.transit[1]", "must be a str"),
        (lambda r: r.update(created_at=dt.datetime(2025, 1, 1)), "created_at", "timezone-aware"),
        (lambda r: r.update(created_at="2025-01-01"), "created_at", "must be a long"),
        (lambda r: r.update(ack_id=SECRET), "ack_id", "must be a UUID in lower-case"),
        (lambda r: r.update(ack_id=str(uuid.UUID(int=0xABC)).upper()), "ack_id", "lower-case"),
        (lambda r: r.update(ack_id=uuid.UUID(int=1).hex), "ack_id", "8-4-4-4-12"),
        (lambda r: r["signature"].update(value=SECRET), "signature.value", "must be bytes"),
        (lambda r: r.update(note={"nonce": b"", "ciphertext": b""}), "note.recipients", "missing"),
        (lambda r: r.update(note=(1, 2)), "note", "must be a record"),
        (lambda r: r.update(signature=None), "signature", "must be a record"),
    ],
)
def test_encode_errors_name_the_field(change: Any, path: str, problem: str) -> None:
    record = copy.deepcopy(ack_record())
    change(record)
    with pytest.raises(EncodeError) as caught:
        CODEC.encode("Acknowledgement", record)
    message = str(caught.value)
    assert message.startswith(f"Acknowledgement: field '{path}' ")
    assert problem in message
    assert caught.value.path == path
    assert SECRET not in message
    assert SECRET.upper() not in message


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("source_partition", True, "must be an int, got bool"),
        ("source_partition", 2**31, "out of the int range"),
        ("source_offset", 2**63, "out of the long range"),
        ("source_offset", 1.0, "must be a long, got float"),
    ],
)
def test_integers_are_checked_strictly(field: str, value: Any, problem: str) -> None:
    record = {
        "reason": "R",
        "detail": "d",
        "source_topic": "t",
        "source_partition": 0,
        "source_offset": 0,
        "original_value": b"",
        "failed_at": NOW,
        "component": "c",
        field: value,
    }
    with pytest.raises(EncodeError, match=problem):
        CODEC.encode("DeadLetter", record)


def test_booleans_must_be_bools() -> None:
    record = case_alert_record()
    record["metadata"]["involves_minor"] = "no"
    with pytest.raises(
        EncodeError, match=r"field 'metadata.involves_minor' must be a bool, got str"
    ):
        CODEC.encode("CaseAlert", record)


def test_record_unions_take_a_named_pair() -> None:
    vector = next(load_vector(p) for p in VECTORS if "directory_record" in p.name)
    record = vector["record"]
    name, entry = record["entry"]
    with pytest.raises(EncodeError, match="'entry' must be a \\(type name, record\\) pair"):
        CODEC.encode("DirectoryRecord", {**record, "entry": entry})
    with pytest.raises(EncodeError, match="'entry' must be a \\(type name, record\\) pair"):
        CODEC.encode("DirectoryRecord", {**record, "entry": ("corridor.directory.Nope", entry)})
    wrong = ("corridor.directory.AgencyEntry", entry)
    with pytest.raises(EncodeError, match=r"field 'entry<AgencyEntry>.name' is missing"):
        CODEC.encode("DirectoryRecord", {**record, "entry": wrong})
    assert CODEC.decode(CODEC.encode("DirectoryRecord", record)).record["entry"][0] == name


def test_encoding_over_the_size_limit_is_refused() -> None:
    codec = Codec(max_message_bytes=200)
    record = ack_record(signature={"key_id": "k", "value": bytes(300)})
    with pytest.raises(EncodeError, match="over the 200-byte limit"):
        codec.encode("Acknowledgement", record)


# -- decode errors: truncated, garbage, hostile ----------------------------------------------


def test_every_truncation_is_a_decode_error() -> None:
    data = CODEC.encode("CaseAlert", case_alert_record())
    for end in range(len(data)):
        with pytest.raises(DecodeError):
            CODEC.decode(data[:end])


def test_trailing_bytes_are_a_decode_error() -> None:
    data = CODEC.encode("Acknowledgement", ack_record())
    with pytest.raises(DecodeError, match="1 trailing bytes after the Acknowledgement"):
        CODEC.decode(data + b"\x00")


def test_oversized_input_is_refused_before_reading() -> None:
    with pytest.raises(
        DecodeError, match=f"over the {DEFAULT_MAX_MESSAGE_BYTES}-byte message limit"
    ):
        CODEC.decode(SINGLE_OBJECT_MAGIC + bytes(DEFAULT_MAX_MESSAGE_BYTES))
    small = Codec(max_message_bytes=64)
    with pytest.raises(DecodeError, match="over the 64-byte message limit"):
        small.decode(CODEC.encode("CaseAlert", case_alert_record()))


def _ack_prefix() -> bytes:
    """The frame and the two UUID fields of an Acknowledgement, up to its corridor."""
    ids = avro_string(str(uuid.UUID(int=1))) + avro_string(str(uuid.UUID(int=2)))
    return SINGLE_OBJECT_MAGIC + CODEC.fingerprint("Acknowledgement") + ids


def test_huge_declared_string_length_is_a_decode_error() -> None:
    data = SINGLE_OBJECT_MAGIC + CODEC.fingerprint("Acknowledgement") + zigzag(2**31) + b"x" * 64
    with pytest.raises(DecodeError, match="truncated or malformed"):
        CODEC.decode(data)


def test_huge_declared_bytes_length_is_a_decode_error() -> None:
    prefix = SINGLE_OBJECT_MAGIC + CODEC.fingerprint("DeadLetter")
    fields = b"".join(avro_string(s) for s in ("R", "d", "t")) + zigzag(0) + zigzag(1)
    data = prefix + fields + zigzag(0) + zigzag(2**31) + b"v" * 64
    with pytest.raises(DecodeError, match="DeadLetter payload is truncated or malformed"):
        CODEC.decode(data)


def test_negative_declared_length_is_a_decode_error() -> None:
    data = SINGLE_OBJECT_MAGIC + CODEC.fingerprint("Acknowledgement") + zigzag(-1) + b"x" * 64
    with pytest.raises(DecodeError):
        CODEC.decode(data)


@pytest.mark.parametrize("count", [2**31, 2**62, -(2**62), -(2**63)])
def test_huge_declared_array_is_a_decode_error(count: int) -> None:
    corridor = avro_string("RO") + avro_string("AT")
    block_size = zigzag(10) if count < 0 else b""
    items = avro_string("HU") * 200_000
    data = _ack_prefix() + corridor + zigzag(count) + block_size + items
    with pytest.raises(DecodeError):
        CODEC.decode(data)


def test_a_deep_and_wide_input_within_the_limit_fails_fast() -> None:
    corridor = avro_string("RO") + avro_string("AT")
    # A million-byte array of one-byte empty strings, then nothing: fails at the end.
    data = _ack_prefix() + corridor + zigzag(2**40) + b"\x00" * (DEFAULT_MAX_MESSAGE_BYTES - 120)
    assert len(data) <= DEFAULT_MAX_MESSAGE_BYTES
    with pytest.raises(DecodeError, match="truncated or malformed"):
        CODEC.decode(data)


def _ack_with_status_byte(status: bytes) -> bytes:
    good = CODEC.encode("Acknowledgement", ack_record(status="RECEIVED"))
    prefix = _ack_prefix() + avro_string("RO") + avro_string("AT") + zigzag(0)
    prefix += avro_string("AT-BKA") + avro_string("RO-ANITP")
    assert good.startswith(prefix + zigzag(0))
    return prefix + status + good[len(prefix) + 1 :]


def test_negative_enum_index_is_refused() -> None:
    # fastavro alone would read index -1 as the last symbol.
    assert CODEC.decode(_ack_with_status_byte(zigzag(3))).record["status"] == "NEED_INFO"
    with pytest.raises(DecodeError, match="not in canonical Avro binary form"):
        CODEC.decode(_ack_with_status_byte(zigzag(-1)))
    with pytest.raises(DecodeError, match="truncated or malformed"):
        CODEC.decode(_ack_with_status_byte(zigzag(4)))


def test_non_minimal_varint_is_refused() -> None:
    with pytest.raises(DecodeError, match="canonical"):
        CODEC.decode(_ack_with_status_byte(b"\x86\x00"))


def test_boolean_bytes_other_than_0_and_1_are_refused() -> None:
    data = CODEC.encode("CaseAlert", case_alert_record())
    # involves_minor and best_interests_assessed are both true (01 01), then consent
    # ASSISTANCE (index 2). fastavro alone would read 02 as true.
    marker = b"\x01\x01" + zigzag(2)
    assert data.count(marker) == 1
    with pytest.raises(DecodeError, match="canonical"):
        CODEC.decode(data.replace(marker, b"\x02\x01" + zigzag(2)))


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=300), name=st.sampled_from(EVENT_NAMES))
def test_random_bodies_raise_only_decode_errors(body: bytes, name: str) -> None:
    data = SINGLE_OBJECT_MAGIC + CODEC.fingerprint(name) + body
    try:
        decoded = CODEC.decode(data)
    except DecodeError:
        return
    assert CODEC.encode(name, decoded.record) == data


@settings(max_examples=300, deadline=None)
@given(
    position=st.integers(min_value=0),
    value=st.integers(min_value=0, max_value=255),
    name=st.sampled_from(EVENT_NAMES),
)
def test_flipped_bytes_decode_canonically_or_not_at_all(
    position: int, value: int, name: str
) -> None:
    vector = next(load_vector(p) for p in VECTORS if load_vector(p)["event"] == name)
    data = bytearray.fromhex(vector["single_object"])
    data[position % len(data)] = value
    try:
        decoded = CODEC.decode(bytes(data))
    except DecodeError:
        return
    assert CODEC.encode(decoded.name, decoded.record) == bytes(data)


# -- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"registry_ids": {"Nope": 1}}, "unknown event 'Nope'"),
        ({"registry_ids": {"CaseAlert": 1, "AlertBody": 1}}, "schema id 1 is given to two events"),
        ({"registry_ids": {"CaseAlert": -1}}, "schema id -1 is outside"),
        ({"registry_ids": {"CaseAlert": 2**31}}, "is outside 0..2147483647"),
        ({"registry_ids": {"CaseAlert": "7"}}, "schema ids must be integers, got str"),
        ({"framing": Framing.CONFLUENT}, "the Confluent framing needs registry_ids"),
        ({"max_message_bytes": 4}, "max_message_bytes must be at least 10"),
        (
            {"registry_writers": {9: {"type": "record", "name": "x.Y", "fields": []}}},
            "not a Corridor event",
        ),
        ({"registry_writers": {9: "{not json"}}, "writer schema of id 9 does not parse"),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(CodecConfigError, match=message):
        Codec(**kwargs)


def test_registry_writer_must_be_readable() -> None:
    writer = schemas.expanded("Escalation")
    writer["fields"].append({"name": "x", "type": "string"})
    writer["fields"][0]["type"] = "int"
    with pytest.raises(CodecConfigError, match=r"Escalation id 9: .*alert_id: the reader's string"):
        Codec(registry_writers={9: writer})


def test_registry_writer_schema_for_an_older_version_is_resolved() -> None:
    (_, v1), *_ = schemas.history("CaseAlert")
    codec = Codec(registry_ids={"CaseAlert": 10}, registry_writers={3: json.dumps(v1)})
    record = case_alert_record()
    old = copy.deepcopy(record)
    del old["metadata"]["linkage_tokens"]
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(v1), old)
    decoded = codec.decode(CONFLUENT_MAGIC + (3).to_bytes(4, "big") + out.getvalue())
    assert decoded.record["metadata"]["linkage_tokens"] == []
    assert decoded.record["metadata"]["alert_id"] == record["metadata"]["alert_id"]
    assert decoded.record["body"] == record["body"]
    # The current schema given under another id decodes without resolution.
    same = Codec(registry_writers={11: schemas.expanded("CaseAlert")})
    data = CONFLUENT_MAGIC + (11).to_bytes(4, "big") + CODEC.encode("CaseAlert", record)[10:]
    assert same.decode(data).record == record


def test_codec_errors_share_one_root() -> None:
    for error in (CodecConfigError, EncodeError, DecodeError, UnknownSchemaError):
        assert issubclass(error, CodecError)
        assert issubclass(error, CorridorError)
