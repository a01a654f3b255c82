"""On three nodes, losing a broker mid-stream loses no acknowledged message."""

from __future__ import annotations

import threading
import time

import pytest
from confluent_kafka import KafkaError, Message
from confluent_kafka.admin import ConfigResource, ResourceType

from corridor.infra.cluster import LocalCluster
from corridor.kafka_clients import admin_client, producer
from corridor.topics import INBOUND, TopicSpec, ensure_topics
from tests.conftest import unique
from tests.kafka_helpers import consume_all

pytestmark = [pytest.mark.integration, pytest.mark.cluster]


def test_platform_topics_are_replicated_three_times(kafka_cluster3: LocalCluster) -> None:
    admin = admin_client(kafka_cluster3.connection(), quiet=True)
    meta = admin.list_topics(timeout=10)
    inbound = meta.topics[INBOUND]
    assert all(len(p.replicas) == 3 for p in inbound.partitions.values())
    res = ConfigResource(ResourceType.TOPIC, INBOUND)
    configs = admin.describe_configs([res])[res].result(timeout=10)
    assert configs["min.insync.replicas"].value == "2"


def test_killing_a_broker_loses_no_acknowledged_message(kafka_cluster3: LocalCluster) -> None:
    conn = kafka_cluster3.connection()
    topic = unique("test.failover")
    ensure_topics(
        admin_client(conn, quiet=True),
        [TopicSpec(topic, 6)],
        replication_factor=3,
        min_insync_replicas=2,
    )
    prod = producer(conn, quiet=True, **{"message.timeout.ms": 60000, "linger.ms": 2})
    acked: list[bytes] = []
    failed: list[KafkaError] = []
    lock = threading.Lock()

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        with lock:
            if err is None:
                acked.append(msg.value() or b"")
            else:
                failed.append(err)

    total = 6000
    victim = 2
    killed = False
    for i in range(total):
        prod.produce(
            topic, key=f"K{i % 12}".encode(), value=f"m-{i}".encode(), on_delivery=on_delivery
        )
        prod.poll(0)
        if i == total // 3:
            prod.flush(30)
            killed = kafka_cluster3.kill(victim)
        if i % 500 == 0:
            time.sleep(0.05)
    prod.flush(90)
    assert killed
    kafka_cluster3.restart(victim)

    received = consume_all(conn, topic, unique("test.group"), expected=len(acked), max_wait=120)
    received_values = {m.value() for m in received}
    lost = [v for v in acked if v not in received_values]
    assert lost == []
    # With idempotence, nothing acknowledged was written twice.
    assert len(received) == len(received_values)
    assert len(acked) + len(failed) == total
