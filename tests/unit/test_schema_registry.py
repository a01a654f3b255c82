"""Registering the event schemas and building a registry codec, on Confluent's mock client."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import fastavro
import pytest
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import (
    MockSchemaRegistryClient,
)
from confluent_kafka.schema_registry.error import SchemaRegistryError as ClientError

import schemas
from corridor.codec import CONFLUENT_MAGIC, Framing
from corridor.connection import Connection
from corridor.schema_registry import (
    RegistryUnavailableError,
    SchemaNotRegisteredError,
    SchemaRegistry,
    SchemaRegistryError,
    SchemaRejectedError,
    codec_for,
    subject_for,
)
from tests.unit.test_codec import case_alert_record


class FakeRegistry(MockSchemaRegistryClient):
    """Confluent's mock, plus the compatibility setting it sends over HTTP."""

    def __init__(self) -> None:
        super().__init__({"url": "mock://registry"})
        self.calls: list[tuple[str, str]] = []
        self.levels: dict[str, str] = {}

    def set_compatibility(self, subject_name: str | None = None, level: str | None = None) -> Any:
        assert subject_name is not None
        assert level is not None
        self.calls.append(("compatibility", subject_name))
        self.levels[subject_name] = level
        return {"compatibility": level}

    def register_schema(
        self, subject_name: str, schema: Schema, normalize_schemas: bool = False
    ) -> int:
        self.calls.append(("register", subject_name))
        return super().register_schema(subject_name, schema, normalize_schemas)


def registry() -> tuple[SchemaRegistry, FakeRegistry]:
    client = FakeRegistry()
    return SchemaRegistry("mock://registry", client=client), client


def test_subjects_are_full_record_names() -> None:
    subjects = [subject_for(event) for event in schemas.names()]
    assert subject_for("CaseAlert") == "corridor.alert.CaseAlert"
    assert len(set(subjects)) == len(subjects)
    for event, subject in zip(schemas.names(), subjects, strict=True):
        assert subject.endswith(f".{event}")
    with pytest.raises(SchemaRegistryError, match="unknown event 'Nope'"):
        subject_for("Nope")


def test_register_sets_backward_first_and_registers_every_version_oldest_first() -> None:
    sr, client = registry()
    done = sr.register()
    assert [r.event for r in done] == list(schemas.names())
    assert set(client.levels.values()) == {"BACKWARD"}
    case_alert = subject_for("CaseAlert")
    steps = [call for call in client.calls if call[1] == case_alert]
    assert steps[0] == ("compatibility", case_alert)
    kept = len(schemas.history("CaseAlert"))
    assert sorted(client.get_versions(case_alert)) == list(range(1, kept + 1))
    (registration,) = [r for r in done if r.event == "CaseAlert"]
    assert registration.version == kept
    assert registration.schema_id == client.get_version(case_alert, kept).schema_id
    assert client.get_version(case_alert, 1).schema.schema_str == json.dumps(
        schemas.history("CaseAlert")[0][1]
    )


def test_registering_again_changes_nothing() -> None:
    sr, client = registry()
    first = sr.register()
    assert sr.register() == first
    assert all(len(client.get_versions(r.subject)) == r.version for r in first)


def test_states_show_what_is_missing_and_what_is_current() -> None:
    sr, _ = registry()
    before = sr.states()
    assert all(s.versions == () and s.current_id is None for s in before)
    done = {r.event: r for r in sr.register()}
    after = {s.event: s for s in sr.states()}
    assert after["CaseAlert"].current_id == done["CaseAlert"].schema_id
    assert [v for v, _ in after["CaseAlert"].versions] == [1, 2]


def test_a_codec_needs_the_current_schemas_registered() -> None:
    sr, _ = registry()
    with pytest.raises(SchemaNotRegisteredError, match="run 'corridor schemas register'"):
        sr.codec()


def test_the_codec_writes_registry_ids_and_reads_older_registered_versions() -> None:
    sr, client = registry()
    ids = {r.event: r.schema_id for r in sr.register()}
    codec = sr.codec()
    assert codec.framing is Framing.CONFLUENT
    record = case_alert_record()
    data = codec.encode("CaseAlert", record)
    assert data[:5] == CONFLUENT_MAGIC + ids["CaseAlert"].to_bytes(4, "big")
    assert codec.decode(data).record == record

    v1_id = client.get_version(subject_for("CaseAlert"), 1).schema_id
    assert v1_id is not None
    old = {**record, "metadata": dict(record["metadata"])}
    del old["metadata"]["linkage_tokens"]
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(schemas.history("CaseAlert")[0][1]), old)
    decoded = codec.decode(CONFLUENT_MAGIC + v1_id.to_bytes(4, "big") + body.getvalue())
    assert decoded.record["metadata"]["linkage_tokens"] == []
    assert decoded.record["metadata"]["alert_id"] == record["metadata"]["alert_id"]


def test_without_a_registry_producers_get_the_single_object_codec() -> None:
    conn = Connection("127.0.0.1:1", Path("/ca.pem"), "admin", "pw")
    assert codec_for(conn).framing is Framing.SINGLE_OBJECT


class FailingRegistry(FakeRegistry):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def set_compatibility(self, subject_name: str | None = None, level: str | None = None) -> Any:
        raise self.error


@pytest.mark.parametrize(
    ("error", "kind", "retriable"),
    [
        (ClientError(409, 409, "Incompatible artifact"), SchemaRejectedError, False),
        (ClientError(503, 50003, "storage unavailable"), RegistryUnavailableError, True),
        (ClientError(401, 40101, "unauthorized"), SchemaRegistryError, False),
        (ConnectionRefusedError("refused"), RegistryUnavailableError, True),
    ],
)
def test_client_errors_become_one_sentence_of_ours(
    error: Exception, kind: type[SchemaRegistryError], retriable: bool
) -> None:
    sr = SchemaRegistry("http://127.0.0.1:1/apis/ccompat/v7", client=FailingRegistry(error))
    with pytest.raises(SchemaRegistryError) as raised:
        sr.register()
    assert type(raised.value) is kind
    assert raised.value.retriable is retriable
    message = str(raised.value)
    assert "http://127.0.0.1:1/apis/ccompat/v7" in message
    assert "corridor.alert.CaseAlert" in message
    assert "\n" not in message
