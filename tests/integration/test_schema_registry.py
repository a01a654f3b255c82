"""Events in the Confluent wire format, through a real Apicurio registry and a real broker.

Confluent's own serializer and deserializer (``confluent_kafka.schema_registry.avro``)
stand for any third-party consumer or producer: what one writes the other must read.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner
from confluent_kafka.schema_registry import Schema, record_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError as ClientError
from confluent_kafka.serialization import MessageField, SerializationContext

import schemas
from corridor.cli.main import cli
from corridor.codec import CONFLUENT_MAGIC, Codec, Framing
from corridor.connection import load_connection
from corridor.domain import (
    AlertMetadata,
    AlertType,
    ConsentScope,
    Corridor,
    DataCategory,
    HandlingCode,
    LinkageToken,
    Priority,
    SealedAlert,
    Tlp,
    TrmPhase,
    WrappedKey,
)
from corridor.infra.cluster import LocalCluster
from corridor.records import alert_from_record, alert_to_record
from corridor.schema_registry import SchemaRegistry, codec_for, schema_text, subject_for
from tests.kafka_helpers import consume_all, produce_all

pytestmark = pytest.mark.integration


def sample_alert() -> SealedAlert:
    return SealedAlert(
        suite="CORRIDOR-1",
        metadata=AlertMetadata(
            alert_id=str(uuid.UUID("6f1c2b7e-1d2a-4c1e-9a6b-2f0d3c4b5a69")),
            case_ref="RO-ANITP-2025-0412",
            issuer="RO-ANITP",
            corridor=Corridor("RO", "AT", ("HU",)),
            alert_type=AlertType.REFERRAL_REQUEST,
            phase=TrmPhase.FIRST_ASSISTANCE_AND_PROTECTION,
            priority=Priority.URGENT,
            handling=HandlingCode.H1,
            tlp=Tlp.AMBER,
            data_categories=frozenset({DataCategory.IDENTITY, DataCategory.ASSISTANCE_NEEDS}),
            involves_minor=False,
            best_interests_assessed=False,
            consent=ConsentScope.ASSISTANCE,
            created_at=dt.datetime(2025, 3, 14, 9, 26, 53, 589793, tzinfo=dt.UTC),
            addressees=("AT-BKA",),
            linkage_tokens=(LinkageToken(3, bytes(range(32))),),
        ),
        body_nonce=b"\x01" * 12,
        body_ciphertext=b"sealed body bytes" * 8,
        recipients=(WrappedKey("AT-BKA", "at-bka-enc-1", b"\x02" * 32, b"\x03" * 48),),
        signer_key_id="ro-anitp-sig-1",
        signature=b"\x04" * 64,
    )


def value_context(topic: str) -> SerializationContext:
    return SerializationContext(topic, MessageField.VALUE)


def round_trip(cluster: LocalCluster, topic: str, group: str, value: bytes) -> bytes:
    """Produce ``value`` to the real broker and read it back."""
    conn = cluster.connection()
    produce_all(conn, topic, [(b"RO>AT", value)])
    received = consume_all(conn, topic, group, expected=1)
    assert len(received) == 1
    data = received[0].value()
    assert data is not None
    return data


def test_infra_status_reports_the_serving_registry(
    kafka_cluster: LocalCluster, schema_registry: SchemaRegistry
) -> None:
    result = CliRunner().invoke(
        cli, ["--home", str(kafka_cluster.home), "infra", "status", "--json"]
    )
    assert result.exit_code == 0, result.output
    registry = json.loads(result.stdout)["registry"]
    assert registry["url"] == schema_registry.url
    assert registry["running"] is True
    assert registry["serving"] is True
    assert registry["url"].startswith("http://127.0.0.1:")
    assert load_connection(kafka_cluster.home).schema_registry_url == schema_registry.url


def test_register_command_is_idempotent_and_list_shows_every_event(
    kafka_cluster: LocalCluster, schema_registry: SchemaRegistry
) -> None:
    home = ["--home", str(kafka_cluster.home)]
    first = CliRunner().invoke(cli, [*home, "schemas", "register"])
    second = CliRunner().invoke(cli, [*home, "schemas", "register"])
    assert first.exit_code == 0, first.output
    assert second.stdout == first.stdout
    lines = first.stdout.strip().splitlines()
    assert [line.split(" -> ")[0] for line in lines] == [subject_for(e) for e in schemas.names()]

    listed = CliRunner().invoke(cli, [*home, "schemas", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {row["event"]: row for row in json.loads(listed.stdout)}
    for line in lines:
        subject, rest = line.split(" -> id ")
        row = next(r for r in rows.values() if r["subject"] == subject)
        assert row["current_id"] == int(rest.split()[0])
    # Every kept version is registered, oldest first, the current one last.
    case_alert = rows["CaseAlert"]
    kept = len(schemas.history("CaseAlert"))
    assert kept >= 2
    assert [v["version"] for v in case_alert["versions"]] == list(range(1, kept + 1))
    assert case_alert["versions"][-1]["id"] == case_alert["current_id"]


def test_confluent_deserializer_reads_what_our_codec_wrote(
    kafka_cluster: LocalCluster,
    schema_registry: SchemaRegistry,
    new_topic: Callable[..., str],
    new_group: Callable[[], str],
) -> None:
    codec = codec_for(kafka_cluster.connection())
    assert codec.framing is Framing.CONFLUENT
    alert = sample_alert()
    topic = new_topic(1)
    data = round_trip(
        kafka_cluster, topic, new_group(), codec.encode("CaseAlert", alert_to_record(alert))
    )
    assert data[:1] == CONFLUENT_MAGIC

    theirs = AvroDeserializer(schema_registry.client, return_record_name=True)
    record: Any = theirs(data, value_context(topic))
    assert alert_from_record(record) == alert
    assert record["metadata"]["case_ref"] == "RO-ANITP-2025-0412"
    assert record["body"]["recipients"][0]["wrapped_key"] == b"\x03" * 48

    ours = codec.decode(data)
    assert (ours.name, ours.framing) == ("CaseAlert", Framing.CONFLUENT)
    assert ours.record == record
    # A codec without the registry still reads the single-object form of the same alert.
    assert Codec().decode(Codec().encode("CaseAlert", record)).record == record


def test_our_codec_reads_what_the_confluent_serializer_wrote(
    kafka_cluster: LocalCluster,
    schema_registry: SchemaRegistry,
    new_topic: Callable[..., str],
    new_group: Callable[[], str],
) -> None:
    theirs = AvroSerializer(
        schema_registry.client,
        schema_text("CaseAlert"),
        conf={
            "auto.register.schemas": False,
            "subject.name.strategy": record_subject_name_strategy,
        },
    )
    alert = sample_alert()
    topic = new_topic(1)
    data = round_trip(
        kafka_cluster, topic, new_group(), theirs(alert_to_record(alert), value_context(topic))
    )
    decoded = schema_registry.codec().decode(data)
    assert decoded.framing is Framing.CONFLUENT
    assert alert_from_record(decoded.record) == alert


def test_data_written_under_an_old_registered_version_is_read_with_the_current_schema(
    kafka_cluster: LocalCluster,
    schema_registry: SchemaRegistry,
    new_topic: Callable[..., str],
    new_group: Callable[[], str],
) -> None:
    (_, v1), *_ = schemas.history("CaseAlert")
    old_writer = AvroSerializer(
        schema_registry.client,
        json.dumps(v1),
        conf={
            "auto.register.schemas": False,
            "subject.name.strategy": record_subject_name_strategy,
        },
    )
    record = alert_to_record(sample_alert())
    del record["metadata"]["linkage_tokens"]  # version 1 had none
    topic = new_topic(1)
    data = round_trip(kafka_cluster, topic, new_group(), old_writer(record, value_context(topic)))
    codec = schema_registry.codec()
    assert data[1:5] != codec.encode("CaseAlert", alert_to_record(sample_alert()))[1:5]
    decoded = codec.decode(data)
    assert decoded.record["metadata"]["linkage_tokens"] == []
    assert decoded.record["metadata"]["case_ref"] == "RO-ANITP-2025-0412"


def test_the_registry_refuses_a_change_old_data_could_not_be_read_with(
    schema_registry: SchemaRegistry,
) -> None:
    breaking = copy.deepcopy(schemas.expanded("CaseAlert"))
    breaking["fields"].append({"name": "mandatory_without_default", "type": "string"})
    with pytest.raises(ClientError) as refused:
        schema_registry.client.register_schema(
            subject_for("CaseAlert"), Schema(json.dumps(breaking), "AVRO")
        )
    assert refused.value.http_status_code == 409
