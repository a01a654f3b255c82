"""What a worker remembers survives it: a SIGKILLed worker's successor links and
deduplicates against the tables it recovered from their changelogs.

The tables' changelogs are written once per commit (processors.tables); a committed
event's table changes must be on the brokers, so a worker killed right after a commit
leaves everything its successor needs.
"""

from __future__ import annotations

import signal

import pytest
from confluent_kafka import TopicPartition

from corridor.codec import Codec
from corridor.connection import Connection
from corridor.kafka_clients import consumer
from corridor.topics import DLQ, INBOUND, LINKS, delivery_topic
from processors.runtime import sightings_topic
from tests.conftest import Network
from tests.integration.test_processor_routing import publish, send
from tests.processor_factories import AlertFactory, random_tokens
from tests.processor_running import (
    ProcessorGroup,
    Record,
    TopicWindow,
    wait_for,
    wait_processed,
)

pytestmark = pytest.mark.integration

CODEC = Codec()


def _committed_to_end(admin: Connection, group: str, topic: str) -> None:
    """Until ``group`` has committed every record now on ``topic``."""
    cons = consumer(admin, group, quiet=True)
    try:
        count = len(cons.list_topics(topic, timeout=10).topics[topic].partitions)
        ends = {
            p: cons.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in range(count)
        }

        def done() -> bool:
            asked = [TopicPartition(topic, p) for p in ends]
            committed = cons.committed(asked, timeout=10)
            return all(tp.offset >= ends[tp.partition] for tp in committed if ends[tp.partition])

        wait_for(done, timeout=60, what=f"{group} to commit the end of {topic}")
    finally:
        cons.close()


def test_a_successor_links_and_deduplicates_against_what_the_killed_worker_saw(
    network: Network, worker: ProcessorGroup
) -> None:
    group = worker
    factory = AlertFactory(network.directory, network.workspace.agency_keys, CODEC)
    admin = network.workspace.admin_connection()
    tokens = random_tokens(3)
    first = factory.alert("RO-ANITP", origin="RO", destination="AT", tokens=tokens)
    publish(network, group, [first])
    _committed_to_end(admin, group.app_id, sightings_topic(group.app_id))

    group.kill("w1", signal.SIGKILL)
    group.start("w2")
    group.wait_ready(network.settings.topics.partitions)

    recipients = [delivery_topic(a) for a in factory.allowed(first.metadata)]
    window = TopicWindow.open(admin, [LINKS, DLQ, *recipients])
    second = factory.alert("AT-BKA", origin="RO", destination="AT", tokens=tokens[1:])
    pair = {first.alert_id, second.alert_id}

    def link_notices(read: list[Record]) -> list[Record]:
        found = []
        for msg in read:
            if msg.topic == LINKS:
                record = CODEC.decode_as("LinkNotice", msg.value)
                ids = {str(record["first"]["alert_id"]), str(record["second"]["alert_id"])}
                if ids == pair:
                    found.append(msg)
        return found

    # The tokens table came back: the two agencies' reports of one person are linked.
    publish(network, group, [second])
    assert len(link_notices(window.read_until(lambda r: bool(link_notices(r))))) == 1

    # The alerts table came back: the first alert, sent again, is a duplicate.
    delivered = send(network, INBOUND, [("RO-ANITP", first.key, first.value)])
    wait_processed(admin, group.app_id, delivered)
    read = window.read()
    letters = [CODEC.decode(m.value).record for m in read if m.topic == DLQ]
    assert [x["reason"] for x in letters if x["original_value"] == first.value] == ["DUPLICATE"]
    assert [m for m in read if m.topic in recipients and m.value == first.value] == []
