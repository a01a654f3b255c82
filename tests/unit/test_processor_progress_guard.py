"""The progress guard: when waiting records that nobody handles end the worker."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterable
from typing import Any, cast

from confluent_kafka import Consumer, KafkaError, KafkaException

from processors.fetch_guard import EXIT_FETCHER_DOWN
from processors.progress_guard import Handled, ProgressGuard, WaitingRecords, watch_progress
from tests.guard_fakes import Calls, Clock


def looks_until_stalled(
    guard: ProgressGuard, clock: Clock, *, handled: int = 1, every: float = 10, most: int = 100
) -> float | None:
    """Looks every ``every`` seconds with nothing handled and records waiting; the
    time of the look that stalled, if any."""
    for _ in range(most):
        if guard.stalled(handled=handled, waiting=True, expected=True):
            return clock.now
        clock.now += every
    return None


def test_records_waiting_with_nothing_handled_for_the_grace_stall() -> None:
    clock = Clock()
    guard = ProgressGuard(grace=90, clock=clock)
    assert not guard.stalled(handled=10, waiting=True, expected=True)  # first look
    clock.now += 10
    assert looks_until_stalled(guard, clock, handled=10) == 100  # counted from 10 s


def test_a_worker_that_handles_events_never_stalls_however_long_records_wait() -> None:
    clock = Clock()
    guard = ProgressGuard(grace=90, clock=clock)
    for handled in range(100):
        clock.now += 10
        assert not guard.stalled(handled=handled, waiting=True, expected=True)


def test_an_idle_worker_with_nothing_waiting_never_stalls() -> None:
    clock = Clock()
    guard = ProgressGuard(grace=90, clock=clock)
    for _ in range(100):
        clock.now += 10
        assert not guard.stalled(handled=7, waiting=False, expected=True)


def test_progress_restarts_the_count() -> None:
    clock = Clock()
    guard = ProgressGuard(grace=90, clock=clock)
    assert looks_until_stalled(guard, clock, handled=1, most=8) is None  # 70 s
    assert not guard.stalled(handled=2, waiting=True, expected=True)  # one more event
    clock.now += 10
    assert looks_until_stalled(guard, clock, handled=2) == clock.now
    assert clock.now == 80 + 10 + 90


def test_a_rebalance_or_a_silent_broker_decides_nothing_and_restarts_the_count() -> None:
    for state in ({"waiting": True, "expected": False}, {"waiting": None, "expected": True}):
        clock = Clock()
        guard = ProgressGuard(grace=90, clock=clock)
        assert looks_until_stalled(guard, clock, most=8) is None
        assert not guard.stalled(handled=1, **state)
        clock.now += 10
        started = clock.now
        assert looks_until_stalled(guard, clock) == started + 90


def test_a_process_paused_as_a_whole_is_judged_only_on_the_time_it_ran() -> None:
    # A machine suspended for an hour: on resuming, nothing was handled in that hour
    # because nothing ran, which must not end the worker at once.
    clock = Clock()
    guard = ProgressGuard(grace=90, clock=clock)
    assert looks_until_stalled(guard, clock, most=8) is None  # stuck for 70 s, then
    clock.now += 3600
    resumed = clock.now
    assert not guard.stalled(handled=1, waiting=True, expected=True)
    assert looks_until_stalled(guard, clock) == resumed + 90


class FakeConsumer:
    """What the guard asks of a confluent-kafka consumer: committed offsets and ends."""

    def __init__(self, ends: dict[tuple[str, int], tuple[int, int, int]]) -> None:
        #: (topic, partition) -> (committed, low, high)
        self.ends = ends
        self.failing = False
        self.closed = False

    def committed(self, tps: Iterable[Any], timeout: float) -> list[Any]:
        if self.failing:
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT))
        found = []
        for tp in tps:
            tp.offset = self.ends[(tp.topic, tp.partition)][0]
            found.append(tp)
        return found

    def get_watermark_offsets(self, tp: Any, timeout: float, cached: bool) -> tuple[int, int]:
        _, low, high = self.ends[(tp.topic, tp.partition)]
        return low, high

    def close(self) -> None:
        self.closed = True


NO_COMMIT = -1001  # librdkafka's OFFSET_INVALID: the group never committed there


def test_records_wait_where_a_partition_ends_beyond_the_committed_offset() -> None:
    fake = FakeConsumer({("in", 0): (5, 0, 5), ("in", 1): (3, 0, 9)})
    records = WaitingRecords(cast(Consumer, fake))
    assert records.waiting([("in", 0)]) is False
    assert records.waiting([("in", 0), ("in", 1)]) is True
    assert records.waiting([]) is False


def test_without_a_commit_records_wait_only_if_the_partition_holds_any() -> None:
    fake = FakeConsumer({("in", 0): (NO_COMMIT, 0, 0), ("in", 1): (NO_COMMIT, 4, 4)})
    records = WaitingRecords(cast(Consumer, fake))
    assert records.waiting([("in", 0), ("in", 1)]) is False  # empty, or deleted by retention
    fake.ends[("in", 1)] = (NO_COMMIT, 4, 6)
    assert records.waiting([("in", 1)]) is True


def test_records_deleted_by_retention_before_the_commit_do_not_wait() -> None:
    fake = FakeConsumer({("in", 0): (10, 50, 50)})
    assert WaitingRecords(cast(Consumer, fake)).waiting([("in", 0)]) is False


def test_a_broker_that_does_not_answer_gives_no_answer() -> None:
    fake = FakeConsumer({("in", 0): (0, 0, 5)})
    fake.failing = True
    assert WaitingRecords(cast(Consumer, fake)).waiting([("in", 0)]) is None


def test_the_thread_ends_a_stuck_worker_and_not_a_busy_one() -> None:
    fake = FakeConsumer({("in", 0): (0, 0, 5)})
    handled, calls = Handled(), Calls()
    busy = threading.Event()

    def work() -> None:
        while not busy.wait(0.001):
            handled.count += 1

    threading.Thread(target=work, daemon=True).start()
    stop = watch_progress(
        handled=handled,
        held=lambda: [("in", 0)],
        expected=lambda: True,
        records=WaitingRecords(cast(Consumer, fake)),
        guard=ProgressGuard(grace=0.1, max_gap=60),
        on_stalled=calls,
        interval=0.02,
    )
    try:
        assert not calls.called.wait(0.5)  # records wait, but the count moves
        busy.set()  # the worker stops handling
        assert calls.called.wait(5)
    finally:
        stop.set()
    assert calls.reasons == ["records waiting, none handled for 0s"]
    assert fake.closed


def test_the_thread_looks_no_more_once_stopped() -> None:
    fake = FakeConsumer({("in", 0): (0, 0, 5)})
    calls = Calls()
    stop = watch_progress(
        handled=Handled(),
        held=lambda: [("in", 0)],
        expected=lambda: False,
        records=WaitingRecords(cast(Consumer, fake)),
        guard=ProgressGuard(grace=0.0, max_gap=60),
        on_stalled=calls,
        interval=0.01,
    )
    assert not calls.called.wait(0.2)  # not expected to route: never
    stop.set()
    assert not calls.called.wait(0.2)


def test_ending_a_stalled_worker_says_why_and_exits_with_a_failure() -> None:
    code = (
        "from corridor.logs import configure_logging; configure_logging(); "
        "from processors.progress_guard import end_stalled; "
        "end_stalled('records waiting')"
    )
    command = [sys.executable, "-c", code]
    done = subprocess.run(command, check=False, capture_output=True, timeout=60)
    assert done.returncode == EXIT_FETCHER_DOWN
    assert b"worker_stalled_exiting" in done.stderr
    assert b"Current thread" in done.stderr  # every thread's stack, for the operators
    assert b"<string>" in done.stderr
