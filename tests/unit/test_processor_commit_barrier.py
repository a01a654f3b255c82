"""Commits wait for the records of closed epochs only, and never hold the event loop.

The producer is replaced by one whose delivery reports arrive when the test says so,
in any order: what a broker slow on some partitions does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import processors.kafka_sink as kafka_sink
from corridor.connection import Connection
from processors.commit_barrier import CommitBarrier, install
from processors.errors import ProcessorError
from processors.kafka_sink import KafkaSink

Report = Callable[[Any, Any], None]


class _Message:
    def __init__(self, topic: str) -> None:
        self._topic = topic

    def topic(self) -> str:
        return self._topic


class _Error:
    def str(self) -> str:
        return "Broker: Unknown topic or partition"


class ReportingLater:
    """A producer that keeps each record's delivery callback until :meth:`report`."""

    def __init__(self) -> None:
        self.records: list[tuple[str, bytes | None, Report]] = []
        self.polls = 0

    def produce(self, topic: str, value: bytes | None, key: bytes, **kwargs: Any) -> None:
        self.records.append((topic, value, kwargs["on_delivery"]))

    def poll(self, timeout: float) -> int:
        self.polls += 1
        return 0

    def report(self, index: int, *, failed: bool = False) -> None:
        topic, _, callback = self.records[index]
        callback(_Error() if failed else None, _Message(topic))


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> ReportingLater:
    made = ReportingLater()
    monkeypatch.setattr(kafka_sink, "producer", lambda conn, **settings: made)
    return made


def _sink() -> KafkaSink:
    conn = Connection("127.0.0.1:1", Path("/nonexistent/ca.pem"), "processor", "secret")
    return KafkaSink(conn)


def test_an_epoch_is_delivered_once_all_its_records_are_reported(fake: ReportingLater) -> None:
    sink = _sink()
    sink.send("corridor.deliver.AT-BKA", b"k", b"one")
    sink.send_to("app-tokens-changelog", 2, b"t", b"two")
    closed = sink.close_epoch()
    assert not sink.delivered(closed)
    fake.report(1)
    assert not sink.delivered(closed)
    fake.report(0)
    assert sink.delivered(closed)


def test_records_sent_after_the_close_do_not_hold_the_closed_epoch(
    fake: ReportingLater,
) -> None:
    sink = _sink()
    sink.send("corridor.audit", None, b"before")
    closed = sink.close_epoch()
    sink.send("corridor.audit", None, b"after")
    fake.report(0)
    assert sink.delivered(closed)
    assert not sink.delivered(closed + 1)
    fake.report(1)
    assert sink.delivered(closed + 1)


def test_a_later_epoch_reported_first_does_not_complete_an_earlier_one(
    fake: ReportingLater,
) -> None:
    sink = _sink()
    sink.send("corridor.audit", None, b"first")
    first = sink.close_epoch()
    sink.send("corridor.audit", None, b"second")
    second = sink.close_epoch()
    fake.report(1)
    assert not sink.delivered(first)
    assert not sink.delivered(second)
    fake.report(0)
    assert sink.delivered(second)


def test_a_failed_record_fails_the_wait_once(fake: ReportingLater) -> None:
    sink = _sink()
    sink.send("corridor.deliver.XX-NONE", b"k", b"lost")
    closed = sink.close_epoch()
    fake.report(0, failed=True)
    with pytest.raises(ProcessorError) as caught:
        asyncio.run(sink.wait_delivered(closed, timeout=1.0))
    assert caught.value.retriable
    assert "corridor.deliver.XX-NONE" in str(caught.value)
    assert sink.delivered(closed)  # reported once; the sink goes on


def test_a_wait_that_outlasts_its_timeout_fails(fake: ReportingLater) -> None:
    sink = _sink()
    sink.send("corridor.audit", None, b"never acknowledged")
    closed = sink.close_epoch()
    with pytest.raises(ProcessorError, match="1 records unacknowledged"):
        asyncio.run(sink.wait_delivered(closed, timeout=0.05))


class _Consumer:
    """faust's commit steps as ``Consumer._commit_tps`` runs them."""

    def __init__(self) -> None:
        self.committed: list[dict[str, int]] = []

    async def _handle_attached(self, offsets: dict[str, int]) -> None:
        self.committed.append(dict(offsets))


def test_a_commit_waits_for_its_records_while_the_event_loop_goes_on(
    fake: ReportingLater,
) -> None:
    outputs, internal = _sink(), _sink()
    sent: list[str] = []
    barrier = CommitBarrier((outputs, internal), pending=lambda: sent.append("pending"))
    consumer = _Consumer()

    async def scenario() -> list[str]:
        outputs.send("corridor.deliver.AT-BKA", b"k", b"routed before the commit")
        barrier.on_commit_initiated(consumer)
        assert sent == ["pending"]
        commit = asyncio.ensure_future(consumer._handle_attached({"inbound-0": 7}))
        progress: list[str] = []
        for n in range(5):  # the event loop is free: events go on being routed
            await asyncio.sleep(0.005)
            outputs.send("corridor.deliver.AT-BKA", b"k", f"routed during {n}".encode())
            progress.append(f"routed {n}")
        assert not commit.done()
        assert consumer.committed == []
        fake.report(0)  # only the record of the closed epoch
        await asyncio.wait_for(commit, timeout=2.0)
        assert consumer.committed == [{"inbound-0": 7}]
        return progress

    assert asyncio.run(scenario()) == [f"routed {n}" for n in range(5)]


def test_the_wait_is_installed_once_per_consumer() -> None:
    consumer = _Consumer()
    calls: list[str] = []

    async def wait() -> None:
        calls.append("wait")

    install(consumer, wait)
    install(consumer, wait)
    asyncio.run(consumer._handle_attached({"inbound-0": 1}))
    assert calls == ["wait"]
    assert consumer.committed == [{"inbound-0": 1}]
