"""The commit guard: faust never commits past a hole, and a lasting hole is fetched again."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from intervaltree import IntervalTree  # type: ignore[import-untyped]

from processors.commit_watchdog import CommitWatchdog, _strict_new_offset


class TP(NamedTuple):
    topic: str
    partition: int


@dataclass
class FakeConsumer:
    """The faust consumer state the guard reads, with faust's own commit arithmetic."""

    _acked: dict[TP, list[int]] = field(default_factory=lambda: defaultdict(list))
    _acked_index: dict[TP, set[int]] = field(default_factory=lambda: defaultdict(set))
    _committed_offset: dict[TP, int | None] = field(
        default_factory=lambda: defaultdict(lambda: None)
    )
    _gap: dict[TP, IntervalTree] = field(default_factory=lambda: defaultdict(IntervalTree))
    _read_offset: dict[TP, int | None] = field(default_factory=dict)
    earliest: int = 0
    seeks: list[tuple[TP, int]] = field(default_factory=list)
    seek_fails: bool = False

    def ack(self, tp: TP, *offsets: int) -> None:
        self._acked[tp].extend(offsets)
        self._acked_index[tp].update(offsets)

    async def seek(self, tp: TP, offset: int) -> None:
        # faust's seek calls aiokafka from the event loop's thread, racing its fetcher.
        raise AssertionError("seek from the event loop's thread")

    async def seek_wait(self, partitions: dict[TP, int]) -> None:
        """faust runs this in the consumer's own thread."""
        if self.seek_fails:
            raise TimeoutError("position not known in time")
        self.seeks.extend(partitions.items())

    async def earliest_offsets(self, *tps: TP) -> dict[TP, int]:
        return dict.fromkeys(tps, self.earliest)


@dataclass
class FakeApp:
    consumer: FakeConsumer = field(default_factory=FakeConsumer)


TP1 = TP("corridor.alerts.inbound", 1)


def checks(watchdog: CommitWatchdog, times: int) -> None:
    for _ in range(times):
        asyncio.run(watchdog.check())


def test_faust_commits_a_contiguous_run_as_before() -> None:
    consumer = FakeConsumer()
    consumer._committed_offset[TP1] = 100
    consumer.ack(TP1, 100, 101, 102, 104)
    assert _strict_new_offset(consumer, TP1) == 103


def test_no_commit_past_a_single_skipped_record() -> None:
    consumer = FakeConsumer()
    consumer._committed_offset[TP1] = 100
    consumer.ack(TP1, 101, 102)  # 100 was skipped: faust alone would commit 103
    assert _strict_new_offset(consumer, TP1) is None
    consumer._gap[TP1].addi(100, 101)  # unless faust knows offset 100 does not exist
    assert _strict_new_offset(consumer, TP1) == 103


def test_a_lasting_hole_is_fetched_again_from_the_committed_offset() -> None:
    app: Any = FakeApp()
    fine = TP("corridor.alerts.inbound", 2)
    app.consumer._committed_offset.update({TP1: 6500, fine: 10})
    app.consumer.ack(TP1, 6501, 6502)
    app.consumer.ack(fine, 10, 11)
    watchdog = CommitWatchdog(app, patience=3)
    assert watchdog.stuck() == {TP1: 6500}
    checks(watchdog, 2)
    assert app.consumer.seeks == []  # give it a moment first
    checks(watchdog, 1)
    assert app.consumer.seeks == [(TP1, 6500)]
    assert app.consumer._read_offset[TP1] == 6500  # read again from there
    assert watchdog.healed == 1


def test_a_hole_that_closes_resets_the_count() -> None:
    app: Any = FakeApp()
    app.consumer._committed_offset[TP1] = 10
    app.consumer.ack(TP1, 12)
    watchdog = CommitWatchdog(app, patience=2)
    checks(watchdog, 1)
    app.consumer.ack(TP1, 10, 11)
    checks(watchdog, 1)
    checks(watchdog, 1)
    assert app.consumer.seeks == []


def test_records_deleted_before_processing_are_skipped_not_fetched_forever() -> None:
    app: Any = FakeApp()
    app.consumer._committed_offset[TP1] = 10
    app.consumer.earliest = 50
    app.consumer.ack(TP1, 51)
    watchdog = CommitWatchdog(app, patience=1)
    checks(watchdog, 1)
    assert app.consumer.seeks == []
    assert _strict_new_offset(app.consumer, TP1) is not None


def test_a_heal_that_fails_is_tried_again_and_the_watchdog_goes_on() -> None:
    app: Any = FakeApp()
    app.consumer._committed_offset[TP1] = 10
    app.consumer.ack(TP1, 12)
    app.consumer.seek_fails = True
    watchdog = CommitWatchdog(app, patience=1)
    checks(watchdog, 1)  # no exception reaches the timer
    assert watchdog.healed == 0
    assert TP1 not in app.consumer._read_offset
    app.consumer.seek_fails = False
    checks(watchdog, 1)
    assert app.consumer.seeks == [(TP1, 10)]
    assert watchdog.healed == 1
