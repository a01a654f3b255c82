"""The local broker is real Apache Kafka with TLS, SCRAM and ACLs enforced."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AclOperation, ResourceType

from corridor.connection import Connection
from corridor.kafka_clients import SILENT_LOGGER, admin_client
from corridor.principals import Grant, create_grants
from tests.conftest import Network
from tests.kafka_helpers import consume_all, produce_all

pytestmark = pytest.mark.integration


def test_produce_and_consume_over_tls_with_scram(
    admin_conn: Connection, new_topic: Callable[..., str], new_group: Callable[[], str]
) -> None:
    topic = new_topic(3)
    records = [(f"RO>AT-{i % 3}".encode(), f"alert-{i}".encode()) for i in range(50)]
    delivered = produce_all(admin_conn, topic, records)
    assert len(delivered) == 50
    received = consume_all(admin_conn, topic, new_group(), expected=50)
    assert sorted(m.value() or b"" for m in received) == sorted(v for _, v in records)
    # The same key always lands on the same partition.
    by_key: dict[bytes, set[int]] = {}
    for msg in received:
        by_key.setdefault(msg.key() or b"", set()).add(msg.partition() or 0)
    assert all(len(parts) == 1 for parts in by_key.values())


def _metadata_error(settings: dict[str, Any]) -> str:
    """Try to fetch metadata; return the error text (empty string if it worked)."""
    prod = Producer({**settings, "logger": SILENT_LOGGER, "socket.timeout.ms": 4000})
    try:
        prod.list_topics(timeout=6)
    except KafkaException as exc:
        return str(exc)
    return ""


def test_wrong_password_is_refused(admin_conn: Connection) -> None:
    settings = admin_conn.as_principal(admin_conn.username, "not-the-password").librdkafka()
    error = _metadata_error(settings)
    assert error, "a wrong password must not be able to fetch metadata"


def test_client_without_tls_is_refused(admin_conn: Connection) -> None:
    settings = {**admin_conn.librdkafka(), "security.protocol": "SASL_PLAINTEXT"}
    settings.pop("ssl.ca.location")
    settings.pop("ssl.endpoint.identification.algorithm")
    assert _metadata_error(settings)


def test_client_without_sasl_is_refused(admin_conn: Connection) -> None:
    settings = {
        "bootstrap.servers": admin_conn.bootstrap_servers,
        "security.protocol": "SSL",
        "ssl.ca.location": str(admin_conn.ca_location),
    }
    assert _metadata_error(settings)


def test_plaintext_client_is_refused(admin_conn: Connection) -> None:
    assert _metadata_error(
        {"bootstrap.servers": admin_conn.bootstrap_servers, "security.protocol": "PLAINTEXT"}
    )


def _try_produce(conn: Connection, topic: str) -> KafkaError | None:
    prod = Producer(
        {**conn.librdkafka(), "logger": SILENT_LOGGER, "message.timeout.ms": 8000, "acks": "all"}
    )
    result: list[KafkaError | None] = []
    prod.produce(topic, value=b"x", on_delivery=lambda err, _msg: result.append(err))
    prod.flush(15)
    assert result, "no delivery report"
    return result[0]


def _try_consume(conn: Connection, topic: str, group: str) -> KafkaError | None:
    cons = Consumer(
        {
            **conn.librdkafka(),
            "logger": SILENT_LOGGER,
            "group.id": group,
            "auto.offset.reset": "earliest",
        }
    )
    cons.subscribe([topic])
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            msg = cons.poll(0.5)
            if msg is None:
                continue
            err: KafkaError | None = msg.error()
            return err
        return KafkaError(KafkaError._TIMED_OUT)
    finally:
        cons.close()


def test_acls_deny_until_granted(
    admin_conn: Connection,
    new_topic: Callable[..., str],
    new_group: Callable[[], str],
    new_principal: Callable[..., Connection],
) -> None:
    topic = new_topic(1)
    group = new_group()
    produce_all(admin_conn, topic, [(None, b"seed")])
    agency = new_principal()

    denied_write = _try_produce(agency, topic)
    assert denied_write is not None
    assert denied_write.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    denied_read = _try_consume(agency, topic, group)
    assert denied_read is not None
    assert denied_read.code() in (
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.GROUP_AUTHORIZATION_FAILED,
    )

    admin = admin_client(admin_conn, quiet=True)
    create_grants(
        admin,
        [
            Grant(agency.username, ResourceType.TOPIC, topic, AclOperation.WRITE),
            Grant(agency.username, ResourceType.TOPIC, topic, AclOperation.READ),
            Grant(agency.username, ResourceType.GROUP, group, AclOperation.READ),
        ],
    )
    # ACLs propagate through the metadata log; allow a moment for the broker to apply them.
    deadline = time.monotonic() + 20
    while (err := _try_produce(agency, topic)) is not None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert err is None
    assert _try_consume(agency, topic, group) is None


def test_an_agency_cannot_write_transactionally(network: Network) -> None:
    # The processors read the inbound topics read_uncommitted (faust's choice for
    # at-least-once). That only sees what agencies meant to publish because no agency
    # may open a transaction, so there are no aborted alerts to see.
    conn = network.workspace.agency_connection("RO-ANITP")
    prod = Producer(
        {**conn.librdkafka(), "transactional.id": "ro-anitp-try", "logger": SILENT_LOGGER}
    )
    with pytest.raises(KafkaException) as refused:
        prod.init_transactions(30)
    error: KafkaError = refused.value.args[0]
    assert error.code() == KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
