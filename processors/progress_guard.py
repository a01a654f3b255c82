"""Ends a worker that holds records waiting and has handled none of them for too long.

The fetch guard (:mod:`processors.fetch_guard`) covers a fetcher that stopped. A
worker can also stop routing with its fetcher still running: an event loop blocked by
a call that never returns, the Kafka client's thread hung, an agent stuck. Whatever
the cause, the group sees a live member holding partitions, so no other worker takes
them, and their records wait until someone restarts the worker by hand.

What this guard watches is the outcome rather than a cause: how many events the
agents handled, and, asked of the broker with a client of its own, whether records
wait on the partitions the worker holds (the topic's end beyond the group's committed
offset). When records wait, nothing was handled, and the worker is neither
rebalancing nor stopping for ``processor.stall_exit_seconds``, it ends itself with the
fetch guard's exit status, so its supervisor restarts it or another worker takes its
partitions; before it exits, it writes every thread's stack to stderr, which shows where
the worker waited. It runs on a thread of its own so that a stuck event loop does not blind
it. A broker that cannot be asked decides nothing: no worker could route then, and a
restart would not help. Ending abruptly keeps at-least-once, as the fetch guard's
module docstring explains.

A worker with work keeps the count moving (every event counts, dead-lettered ones
too), and an idle one has nothing waiting once its last offsets are committed (every
``commit_interval_seconds``), so neither trips the guard.
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn

from confluent_kafka import Consumer, KafkaException, TopicPartition

from corridor.logs import log_event
from processors.fetch_guard import end_process
from processors.stall_clock import StallClock

__all__ = [
    "Handled",
    "ProgressGuard",
    "WaitingRecords",
    "end_stalled",
    "watch_progress",
]

LOG = logging.getLogger("corridor.processor")
#: Longest wait for the broker's answer to one look.
LOOK_TIMEOUT_SECONDS = 10.0


class Handled:
    """Events the agents handled: the guard's measure of progress (one increment per
    event; read from the guard's thread, which only compares it with its last value)."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


class ProgressGuard:
    """Decides, from successive looks, when a worker has stalled."""

    def __init__(
        self,
        *,
        grace: float,
        max_gap: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._handled: int | None = None
        self._stuck = StallClock(grace=grace, max_gap=max_gap, clock=clock)

    @property
    def grace(self) -> float:
        return self._stuck.grace

    def stalled(self, *, handled: int, waiting: bool | None, expected: bool) -> bool:
        """True once records have waited, with nothing handled, for the whole grace.

        ``waiting``: records wait on the partitions the worker holds (None when the
        broker could not be asked). ``expected``: the worker should be routing
        (neither rebalancing nor stopping).
        """
        moved, self._handled = handled != self._handled, handled
        return self._stuck.held_for_grace(not moved and bool(waiting) and expected)


class WaitingRecords:
    """Asks the broker whether records wait for a consumer group on some partitions."""

    def __init__(self, consumer: Consumer, *, timeout: float = LOOK_TIMEOUT_SECONDS) -> None:
        self._consumer = consumer
        self._timeout = timeout

    def waiting(self, partitions: Iterable[tuple[str, int]]) -> bool | None:
        """Whether any of ``partitions`` ends beyond the group's committed offset (or,
        without one, beyond its first record); None when the broker did not answer."""
        tps = [TopicPartition(topic, partition) for topic, partition in partitions]
        if not tps:
            return False
        try:
            committed = self._consumer.committed(tps, timeout=self._timeout)
            for tp in committed:
                low, high = self._consumer.get_watermark_offsets(
                    TopicPartition(tp.topic, tp.partition), timeout=self._timeout, cached=False
                )
                if high > max(tp.offset, low):
                    return True
        except KafkaException as exc:
            log_event(LOG, "progress_look_failed", level=logging.DEBUG, error=str(exc))
            return None
        return False

    def close(self) -> None:
        self._consumer.close()


def end_stalled(reason: str) -> NoReturn:
    """Writes every thread's stack to stderr (file, line and function names, no values:
    where the worker waits), then logs why and exits."""
    with contextlib.suppress(OSError, RuntimeError, ValueError):  # no usable stderr
        faulthandler.dump_traceback(all_threads=True)
    end_process(reason, event="worker_stalled_exiting")


def watch_progress(
    *,
    handled: Handled,
    held: Callable[[], Sequence[tuple[str, int]]],
    expected: Callable[[], bool],
    records: WaitingRecords,
    guard: ProgressGuard,
    on_stalled: Callable[[str], Any],
    interval: float,
) -> threading.Event:
    """Looks every ``interval`` on a daemon thread until the event is set; calls
    ``on_stalled`` with the reason when the guard gives up."""
    stop = threading.Event()

    def run() -> None:
        try:
            while not stop.wait(interval):
                count = handled.count
                should = expected()
                waiting = records.waiting(held()) if should else None
                if guard.stalled(handled=count, waiting=waiting, expected=should):
                    on_stalled(f"records waiting, none handled for {guard.grace:.0f}s")
                    return
        finally:
            records.close()

    threading.Thread(target=run, name="corridor-progress-guard", daemon=True).start()
    return stop
