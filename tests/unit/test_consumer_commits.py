"""How the subscriber commits: past each batch without waiting, and waited for when it
stops or hands partitions over; never for partitions it lost."""

from __future__ import annotations

import logging
import threading
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import KafkaError, TopicPartition

from consumers.subscriber import Subscriber, commit_outcome

TOPIC = "corridor.deliveries.AT-BKA"


class FakeMessage:
    def __init__(self, partition: int, offset: int) -> None:
        self._partition, self._offset = partition, offset

    def error(self) -> None:
        return None

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset


class FakeConsumer:
    def __init__(self) -> None:
        self.commits: list[tuple[list[tuple[int, int]], bool]] = []

    def commit(self, *, offsets: list[TopicPartition], asynchronous: bool) -> None:
        self.commits.append(([(tp.partition, tp.offset) for tp in offsets], asynchronous))


def subscriber(consumer: FakeConsumer) -> Subscriber:
    unused: Any = None
    metrics: Any = SimpleNamespace(deliveries=None, delivery_latency=None)
    return Subscriber(
        consumer=consumer,  # type: ignore[arg-type]
        topic=TOPIC,
        agency_id="AT-BKA",
        handler=unused,
        sink=unused,
        acks=unused,
        state=unused,
        metrics=metrics,
        stop=threading.Event(),
    )


def test_a_batch_is_committed_past_its_last_offsets_without_waiting() -> None:
    consumer = FakeConsumer()
    sub = subscriber(consumer)
    sub._commit([FakeMessage(0, 4), FakeMessage(1, 9), FakeMessage(0, 7)])  # type: ignore[list-item]
    assert consumer.commits == [([(0, 8), (1, 10)], True)]


def test_what_was_delivered_is_committed_and_waited_for_at_the_end() -> None:
    consumer = FakeConsumer()
    sub = subscriber(consumer)
    sub._commit([FakeMessage(0, 4)])  # type: ignore[list-item]
    sub._commit([FakeMessage(1, 2), FakeMessage(0, 5)])  # type: ignore[list-item]
    sub._commit_delivered()
    assert consumer.commits[-1] == ([(0, 6), (1, 3)], False)


def test_revoked_partitions_are_handed_over_at_what_was_delivered() -> None:
    consumer = FakeConsumer()
    sub = subscriber(consumer)
    sub._commit([FakeMessage(0, 4), FakeMessage(1, 2)])  # type: ignore[list-item]
    sub._on_revoke(consumer, [TopicPartition(TOPIC, 1)])  # type: ignore[arg-type]
    assert consumer.commits[-1] == ([(1, 3)], False)
    sub._commit_delivered()  # partition 1 is no longer ours: not committed again
    assert consumer.commits[-1] == ([(0, 5)], False)


def test_lost_partitions_are_never_committed() -> None:
    consumer = FakeConsumer()
    sub = subscriber(consumer)
    sub._commit([FakeMessage(0, 4), FakeMessage(1, 2)])  # type: ignore[list-item]
    sub._on_lost(consumer, [TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)])  # type: ignore[arg-type]
    before = list(consumer.commits)
    sub._commit_delivered()
    assert consumer.commits == before


def test_a_failed_commit_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="corridor.consumer"):
        commit_outcome(None, [TopicPartition(TOPIC, 0, 5)])
        assert not caplog.records
        commit_outcome(KafkaError(KafkaError.REBALANCE_IN_PROGRESS), [TopicPartition(TOPIC, 0, 5)])
    assert [r.getMessage() for r in caplog.records] == ["commit_failed"]
