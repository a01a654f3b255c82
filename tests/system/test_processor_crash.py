"""A processor worker killed with SIGKILL in the middle of a 10,000-alert stream.

Two workers share the stream; the one consuming it is killed once the group has
consumed about a third of it, and started again. Afterwards every alert must have
reached its recipient (nothing lost), and counting distinct alert ids per delivery
topic, as the consumers' idempotent sinks do, nothing may have been routed twice. The
raw number of repeated deliveries (at-least-once) is reported, not asserted.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Message

from corridor.codec import Codec
from corridor.domain import AlertType, ConsentScope, DataCategory
from corridor.infra.cluster import LocalCluster
from corridor.topics import DLQ, INBOUND, delivery_topic
from tests.conftest import Network
from tests.kafka_helpers import produce_all
from tests.processor_factories import AlertFactory
from tests.processor_running import (
    TopicWindow,
    metric,
    processor_group,
    wait_for,
    wait_processed,
)

pytestmark = pytest.mark.system

ALERTS = 10_000
CHUNK = 500
CODEC = Codec()


def test_a_worker_killed_mid_stream_loses_nothing_and_routes_nothing_twice(
    network: Network,
    kafka_cluster: LocalCluster,
    tmp_path_factory: pytest.TempPathFactory,
    record_property: Callable[[str, object], None],
) -> None:
    factory = AlertFactory(network.directory, network.workspace.agency_keys, CODEC)
    built = factory.many(
        ALERTS,
        issuer="MD-CCTP",
        origin="MD",
        destination="UA",
        alert_type=AlertType.SUSPECT_INFORMATION,
        categories=(DataCategory.SUSPECT_INFORMATION, DataCategory.CRIMINAL_INTELLIGENCE),
        consent=ConsentScope.NONE,
    )
    expected = {delivery_topic(a) for a in factory.allowed(built[0].metadata)}
    assert expected
    ids = {b.value: b.alert_id for b in built}
    admin = network.workspace.admin_connection()
    deliveries = [delivery_topic(a) for a in network.directory.agencies]
    window = TopicWindow.open(admin, [*deliveries, DLQ])
    logs = tmp_path_factory.mktemp("crash-logs")
    partitions = network.settings.topics.partitions
    produced: list[Message] = []

    def stream() -> None:
        conn = network.workspace.agency_connection("MD-CCTP")
        for start in range(0, ALERTS, CHUNK):
            chunk = built[start : start + CHUNK]
            records = [(b.key, b.value) for b in chunk]
            produced.extend(produce_all(conn, INBOUND, records, partitioner="murmur2_random"))
            time.sleep(0.1)

    with processor_group(kafka_cluster.home, admin, logs, ["w1", "w2"], partitions) as group:
        producer = threading.Thread(target=stream, name="alert-stream")
        producer.start()
        wait_for(
            lambda: group.total("corridor_alerts_consumed_total", corridor="MD>UA") >= ALERTS // 3,
            timeout=120,
            what="a third of the stream to be consumed",
        )
        # The worker holding the stream's partition: killing it interrupts real work.
        busy = max(
            group.workers.values(),
            key=lambda w: metric(w.port, "corridor_alerts_consumed_total", corridor="MD>UA"),
        ).name
        group.kill(busy)
        group.start(busy)
        producer.join()
        assert len(produced) == ALERTS
        wait_processed(admin, group.app_id, produced, timeout=240)
        assert group.alive()

    read = window.read()
    copies: dict[str, Counter[str]] = {}
    for msg in read:
        alert_id = ids.get(msg.value)
        if alert_id is not None:
            copies.setdefault(msg.topic, Counter())[alert_id] += 1
    dead = [
        letter
        for letter in (CODEC.decode(m.value).record for m in read if m.topic == DLQ)
        if letter["original_value"] in ids
    ]
    raw = {topic: sum(counter.values()) for topic, counter in copies.items()}
    repeated = {topic: raw[topic] - len(counter) for topic, counter in copies.items()}
    report = {"alerts": ALERTS, "deliveries": raw, "repeated_deliveries": repeated}
    record_property("processor_crash", json.dumps(report))
    Path(logs / "crash-report.json").write_text(json.dumps(report))
    print(f"\nprocessor crash test: {json.dumps(report)}")

    assert dead == []
    assert set(copies) == expected  # nobody else received any of them
    for topic in expected:
        assert set(copies[topic]) == set(ids.values())  # nothing lost, counted once each
