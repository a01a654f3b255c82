"""Running an agency's consumer inside a test, and reading what it sent back."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import KafkaException, TopicPartition
from prometheus_client import CollectorRegistry

from consumers import ConsumerApp, ConsumerOptions, SubscriberStats, build_consumer
from corridor.acks import Acknowledgement, decode_ack
from corridor.codec_errors import CodecError
from corridor.config import Settings
from corridor.connection import Connection
from corridor.kafka_clients import consumer
from corridor.schema_registry import codec_for
from corridor.topics import ACKS_INBOUND, delivery_topic
from corridor.workspace import Workspace


def wait_for(condition: Callable[[], bool], *, timeout: float = 90.0, what: str = "") -> None:
    """Poll ``condition`` until it holds; fail (not a timing assertion) if it never does."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what or 'the condition'}")
        time.sleep(0.1)


@dataclass
class Running:
    app: ConsumerApp
    registry: CollectorRegistry
    thread: threading.Thread
    result: list[SubscriberStats]
    errors: list[BaseException]

    @property
    def stats(self) -> SubscriberStats:
        return self.app.subscriber.stats

    def metric(self, name: str, **labels: str) -> float:
        value = self.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value


def unique_group(agency_id: str) -> str:
    return f"{agency_id}.test-{uuid.uuid4().hex[:10]}"


def fresh_group(admin: Connection, agency_id: str, at: dict[int, int] | None = None) -> str:
    """A new group of the agency positioned at ``at`` or the end of its delivery topic.

    Call it before writing the test's records: the consumer then reads exactly those,
    whatever other tests (or benchmarks) left on the shared topic.
    """
    group = unique_group(agency_id)
    topic = delivery_topic(agency_id)
    positions = at if at is not None else topic_end(admin, topic)
    cons = consumer(admin, group, quiet=True)
    try:
        offsets = [TopicPartition(topic, p, offset) for p, offset in positions.items()]
        cons.commit(offsets=offsets, asynchronous=False)
    finally:
        cons.close()
    return group


@contextmanager
def running_consumer(
    workspace: Workspace,
    settings: Settings,
    agency_id: str,
    state_dir: Path,
    *,
    sink: str,
    group: str | None = None,
    from_beginning: bool = False,
    batch_size: int = 100,
) -> Iterator[Running]:
    """Build the agency's consumer from configuration and run it in a thread."""
    registry = CollectorRegistry()
    options = ConsumerOptions(
        agency_id=agency_id,
        sink=sink,
        group_id=group or unique_group(agency_id),
        state_dir=state_dir,
        from_beginning=from_beginning,
        batch_size=batch_size,
    )
    app = build_consumer(settings, workspace, options, registry=registry)
    result: list[SubscriberStats] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(app.run())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, name=f"consumer-{agency_id}", daemon=True)
    thread.start()
    running = Running(app, registry, thread, result, errors)
    try:
        yield running
    finally:
        app.stop.set()
        thread.join(60)
    assert not thread.is_alive(), "the consumer did not stop"
    if errors:
        raise errors[0]


def topic_end(admin: Connection, topic: str = ACKS_INBOUND) -> dict[int, int]:
    """The current end offset of every partition: where a test's own records begin."""
    cons = consumer(admin, f"test.ends.{uuid.uuid4().hex[:10]}", quiet=True)
    try:
        ends = {}
        for p in cons.list_topics(topic, timeout=10).topics[topic].partitions:
            _, ends[p] = cons.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        return ends
    finally:
        cons.close()


def read_acks(
    admin: Connection,
    alert_ids: set[str],
    *,
    since: dict[int, int],
    until: Callable[[list[Acknowledgement]], bool],
) -> list[Acknowledgement]:
    """Acknowledgements for ``alert_ids`` written after ``since`` (see :func:`topic_end`)."""
    codec = codec_for(admin)
    cons = consumer(admin, f"test.acks.{uuid.uuid4().hex[:10]}", quiet=True)
    cons.assign([TopicPartition(ACKS_INBOUND, p, offset) for p, offset in since.items()])
    found: list[Acknowledgement] = []
    undecodable = 0
    deadline = time.monotonic() + 240
    try:
        while not until(found):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"gave up waiting for acknowledgements: {len(found)} found for "
                    f"{len({a.alert_id for a in found})} of {len(alert_ids)} alerts, "
                    f"{undecodable} undecodable records skipped"
                )
            for msg in cons.consume(500, 0.5):
                if msg.error() is not None:
                    raise KafkaException(msg.error())
                value = msg.value()
                if value is None:
                    continue
                try:
                    ack = decode_ack(value, codec)
                except CodecError:
                    undecodable += 1  # another test's deliberately broken record
                    continue
                if ack.alert_id in alert_ids:
                    found.append(ack)
    finally:
        cons.close()
    return found
