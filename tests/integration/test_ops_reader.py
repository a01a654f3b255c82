"""The operations view read from the real broker with the operator's credentials.

The platform topics are shared with every other test of the session, so each test
writes records it can recognise (its own alert ids, a recipient or reason code made up
for the run, topics of its own) and asserts on those.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

from corridor.acks import encode_ack, make_ack
from corridor.cli.main import cli
from corridor.codec import Codec
from corridor.connection import Connection
from corridor.domain import AckStatus, Corridor, Priority
from corridor.kafka_clients import admin_client, consumer, producer
from corridor.ops.agreements import follow_up
from corridor.ops.reader import OpsReader
from corridor.ops.scan import scan
from corridor.topics import ACKS_INBOUND, AUDIT, DLQ, INBOUND, TopicSpec, ensure_topics
from tests.conftest import Network
from tests.kafka_helpers import produce_all

pytestmark = pytest.mark.integration

CODEC = Codec()
APP_ID = "corridor-processor"
AGREEMENT = "RO-AT-POLICE-2022"


def audit_record(
    alert_id: str,
    decided_at: datetime,
    *,
    recipient: str = "AT-BKA",
    outcome: str = "ALLOW",
    reason: str = "ALLOWED",
    priority: Priority | None = Priority.URGENT,
) -> tuple[bytes, bytes]:
    record = {
        "alert_id": uuid.UUID(alert_id),
        "corridor_key": "RO>AT",
        "issuer": "RO-ANITP",
        "recipient": recipient,
        "outcome": outcome,
        "reason": reason,
        "agreement_id": AGREEMENT,
        "policy_version": "1",
        "decided_at": decided_at,
        "processor_id": "ops-test",
        "priority": None if priority is None else priority.value,
    }
    return b"RO>AT", CODEC.encode("AuditRecord", record)


def dead_letter(reason: str, failed_at: datetime) -> tuple[bytes | None, bytes]:
    record = {
        "reason": reason,
        "detail": "made by the operations test",
        "source_topic": INBOUND,
        "source_partition": 0,
        "source_offset": 0,
        "original_value": b"\x00",
        "failed_at": failed_at,
        "component": "ops-test",
    }
    return None, CODEC.encode("DeadLetter", record)


def reader_for(network: Network, group: str = APP_ID) -> OpsReader:
    return OpsReader(network.workspace.operator_connection(), processor_group=group)


def test_status_counts_deliveries_decisions_and_dead_letters_of_the_last_hour(
    network: Network,
) -> None:
    tag = uuid.uuid4().hex[:8].upper()
    recipient, reason = f"ZZ-OPS{tag}", f"OPS_TEST_{tag}"
    now = datetime.now(UTC)
    ids = [str(uuid.uuid4()) for _ in range(5)]
    processor = network.workspace.processor_connection()
    produce_all(
        processor,
        AUDIT,
        [
            audit_record(ids[0], now - timedelta(seconds=10), recipient=recipient),
            audit_record(ids[1], now - timedelta(seconds=30), recipient=recipient),
            audit_record(ids[2], now - timedelta(minutes=20), recipient=recipient),
            audit_record(ids[2], now - timedelta(minutes=19), recipient=recipient),  # replay
            audit_record(ids[3], now - timedelta(minutes=5), outcome="DENY", reason=reason),
            audit_record(ids[4], now - timedelta(hours=2), recipient=recipient),
        ],
    )
    produce_all(
        processor,
        DLQ,
        [
            dead_letter(reason, now - timedelta(minutes=1)),
            dead_letter(reason, now - timedelta(hours=3)),
        ],
    )

    report = reader_for(network).status(now)

    agencies = {a.agency: (a.delivered_minute, a.delivered_hour) for a in report.agencies}
    assert agencies[recipient] == (2, 3)
    decisions = {(d.outcome, d.reason): d.count for d in report.decisions}
    assert decisions[("DENY", reason)] == 1
    letters = {d.reason: (d.last_hour, d.total) for d in report.dead_letters}
    assert letters[reason] == (1, 2)
    rows = {g.topic: g.group for g in report.lags}
    for agency_id in network.directory.agencies:
        assert rows[f"corridor.deliver.{agency_id}"] == f"{agency_id}.consumer"
    assert rows[INBOUND] == rows[ACKS_INBOUND] == APP_ID
    assert report.workers.group == APP_ID
    assert report.brokers >= 1
    text = json.dumps(report.as_json())
    for alert_id in ids:
        assert alert_id not in text


def test_a_window_starts_at_the_offsets_for_its_time(
    admin_conn: Connection, new_topic: Callable[..., str]
) -> None:
    topic = new_topic(1)
    now = datetime.now(UTC)
    old_ms = int((now - timedelta(hours=3)).timestamp() * 1000)
    prod = producer(admin_conn, quiet=True)
    for i in range(3):
        prod.produce(topic, value=f"old-{i}".encode(), timestamp=old_ms + i)
    for i in range(2):
        prod.produce(topic, value=f"new-{i}".encode())
    assert prod.flush(30) == 0
    admin = admin_client(admin_conn, quiet=True)
    recent = [m.value() for m in scan(admin_conn, admin, topic, since=now - timedelta(hours=1))]
    everything = [m.value() for m in scan(admin_conn, admin, topic, since=None)]
    assert recent == [b"new-0", b"new-1"]
    assert everything == [b"old-0", b"old-1", b"old-2", b"new-0", b"new-1"]
    assert list(scan(admin_conn, admin, topic, since=now + timedelta(hours=1))) == []


@pytest.fixture
def delivery_topics(admin_conn: Connection) -> Iterator[tuple[str, str]]:
    """Two delivery topics of made-up agencies, deleted afterwards."""
    tag = uuid.uuid4().hex[:8].upper()
    names = (f"corridor.deliver.ZZ-LAG{tag}", f"corridor.deliver.ZZ-NEW{tag}")
    admin = admin_client(admin_conn, quiet=True)
    ensure_topics(
        admin, [TopicSpec(n, 2) for n in names], replication_factor=1, min_insync_replicas=1
    )
    try:
        yield names
    finally:
        for future in admin.delete_topics(list(names)).values():
            future.result(timeout=30)


def test_lag_is_what_each_group_has_not_committed(
    network: Network, admin_conn: Connection, delivery_topics: tuple[str, str]
) -> None:
    lagging, unread = delivery_topics
    prod = producer(admin_conn, quiet=True)
    for partition, count in ((0, 5), (1, 3)):
        for _ in range(count):
            prod.produce(lagging, value=b"x", partition=partition)
            prod.produce(unread, value=b"y", partition=partition)
    assert prod.flush(30) == 0
    group = lagging.removeprefix("corridor.deliver.") + ".consumer"
    admin = admin_client(admin_conn, quiet=True)
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(lagging, 0, 2)])
    for future in admin.alter_consumer_group_offsets([request]).values():
        future.result(timeout=30)

    lags = {g.topic: g for g in reader_for(network).lags()}

    assert (lags[lagging].group, lags[lagging].lag, lags[lagging].committed) == (group, 3 + 3, True)
    assert (lags[unread].lag, lags[unread].committed) == (8, False)


def test_workers_are_the_members_of_the_processor_group(
    network: Network,
    admin_conn: Connection,
    new_topic: Callable[..., str],
    new_group: Callable[[], str],
) -> None:
    topic, group = new_topic(3), new_group()
    member = consumer(admin_conn, group, quiet=True)
    member.subscribe([topic])
    try:
        for _ in range(120):
            member.poll(0.25)
            if member.assignment():
                break
        assert member.assignment(), "the consumer never joined its group"
        workers = reader_for(network, group).workers()
    finally:
        member.close()
    assert (workers.group, workers.members, workers.partitions) == (group, 1, 3)
    assert workers.state == "STABLE"
    assert reader_for(network, group + ".none").workers().members == 0


def test_agreement_follow_up_counts_only_verified_acks_from_the_recipient(network: Network) -> None:
    ws, directory = network.workspace, network.directory
    now = datetime.now(UTC)
    answered, forged, other, late = (str(uuid.uuid4()) for _ in range(4))
    produce_all(
        ws.processor_connection(),
        AUDIT,
        [
            audit_record(answered, now - timedelta(hours=2), priority=Priority.IMMEDIATE),
            audit_record(forged, now - timedelta(hours=2), priority=Priority.IMMEDIATE),
            audit_record(other, now - timedelta(hours=3), priority=None),
            audit_record(late, now - timedelta(hours=5), priority=Priority.IMMEDIATE),
        ],
    )

    def signed_ack(alert_id: str, sender: str) -> bytes:
        ack = make_ack(
            alert_id=alert_id,
            corridor=Corridor("RO", "AT"),
            signer=ws.agency_keys(sender).signing,
            from_agency=sender,
            issuer=directory.agencies["RO-ANITP"],
            status=AckStatus.ACCEPTED,
            created_at=now,
        )
        return encode_ack(ack, CODEC)

    good = signed_ack(answered, "AT-BKA")
    tampered = bytearray(signed_ack(forged, "AT-BKA"))
    tampered[-1] ^= 0x01  # the signature is the record's last field
    produce_all(
        ws.agency_connection("AT-BKA"),
        ACKS_INBOUND,
        [(b"RO>AT", good), (b"RO>AT", bytes(tampered))],
    )
    produce_all(
        ws.agency_connection("DE-BKA"), ACKS_INBOUND, [(b"RO>AT", signed_ack(other, "DE-BKA"))]
    )

    reader = reader_for(network)
    mine = {answered, forged, other, late}
    audit = [e for e in reader.audit_since(now - timedelta(hours=6)) if e.alert_id in mine]
    acks = [
        a
        for a in reader.acks_since(now - timedelta(hours=6), directory.agencies)
        if a.alert_id in mine
    ]
    assert {(a.alert_id, a.from_agency) for a in acks} == {(answered, "AT-BKA"), (other, "DE-BKA")}
    assert reader.skipped >= 1
    assert {e.priority for e in audit} == {Priority.IMMEDIATE, None}

    report = follow_up(audit=audit, acks=acks, agreements=directory.agreements, now=now)
    row = next(a for a in report.agreements if a.agreement_id == AGREEMENT)
    assert (row.exchanges, row.acknowledged, row.overdue) == (4, 1, 1)  # `late`: 5 h > 4 h
    assert row.median_ack_seconds == pytest.approx(7200, abs=1)
    assert row.last_exchange is not None
    assert row.dormant is False


def test_the_commands_print_tables_and_json(network: Network) -> None:
    home = str(network.workspace.home)
    runner = CliRunner()
    status = runner.invoke(cli, ["--home", home, "status", "--json"], catch_exceptions=False)
    assert status.exit_code == 0, status.output
    data = json.loads(status.output)
    assert data["workers"]["group"] == APP_ID
    assert {row["topic"] for row in data["lag"]} >= {
        f"corridor.deliver.{a}" for a in network.directory.agencies
    }
    table = runner.invoke(cli, ["--home", home, "status"], catch_exceptions=False)
    assert "Consumer lag" in table.output
    assert "corridor.deliver.AT-BKA" in table.output

    report = runner.invoke(
        cli,
        ["--home", home, "agreements", "report", "--json", "--days", "1"],
        catch_exceptions=False,
    )
    assert report.exit_code == 0, report.output
    agreements = {row["agreement"]: row for row in json.loads(report.output)["agreements"]}
    assert set(network.directory.agreements) <= set(agreements)
    assert agreements["IT-RO-2019"]["status"] == "SUSPENDED"
    assert agreements["IT-RO-2019"]["dormant"] is False
    text = runner.invoke(cli, ["--home", home, "agreements", "report"], catch_exceptions=False)
    assert "TRM-SEE-2024" in text.output
