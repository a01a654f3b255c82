"""The consumer stage: an agency's consumer, as ``corridor consume`` builds it.

:func:`running_consumer` starts one in a thread of this process (its own group, fresh
local state, an SQLite sink in a temporary folder) with a :class:`Recorder` on its
``on_confirmed`` hook, which notes when the sink confirmed each alert.
"""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from confluent_kafka import TopicPartition

from consumers import ConsumerOptions, Delivery, DeliveryKind, build_consumer
from consumers.sinks.base import Outcome
from corridor.config import Settings
from corridor.topics import delivery_topic
from corridor.workspace import Workspace

from .workload import CONSUMER_AGENCY, CpuClock, commit_end, micros, per_second

__all__ = ["Recorder", "run_consumer", "running_consumer"]


class Recorder:
    """When the sink confirmed each alert (``time.time()``), by alert id."""

    def __init__(self) -> None:
        self.confirmed: dict[str, float] = {}
        self.batches: list[tuple[float, int]] = []
        self.changed = threading.Condition()

    def __call__(self, deliveries: Sequence[Delivery], outcomes: Sequence[Outcome]) -> None:
        now = time.time()
        with self.changed:
            fresh = 0
            for delivery, outcome in zip(deliveries, outcomes, strict=True):
                if delivery.kind is DeliveryKind.ALERT and outcome is Outcome.DELIVERED:
                    if delivery.alert_id not in self.confirmed:
                        fresh += 1
                    self.confirmed[delivery.alert_id] = now
            self.batches.append((now, fresh))
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: len(self.confirmed) >= count, timeout)

    def wait_for_ids(self, alert_ids: Collection[str], timeout: float) -> bool:
        """Until every one of ``alert_ids`` is confirmed, or ``timeout`` passes."""
        with self.changed:
            return self.changed.wait_for(
                lambda: all(i in self.confirmed for i in alert_ids), timeout
            )


@contextmanager
def running_consumer(
    settings: Settings, start: Sequence[TopicPartition] = ()
) -> Iterator[Recorder]:
    """The benchmark agency's consumer, from ``start`` (default: the topic's end)."""
    workspace = Workspace(settings.home)
    group = f"{CONSUMER_AGENCY}.bench-{uuid.uuid4().hex[:8]}"
    commit_end(workspace.admin_connection(), group, [delivery_topic(CONSUMER_AGENCY)], at=start)
    recorder = Recorder()
    with tempfile.TemporaryDirectory(prefix="corridor-bench-consumer-") as tmp:
        options = ConsumerOptions(
            agency_id=CONSUMER_AGENCY,
            sink=f"sqlite:{tmp}/inbox.sqlite",
            group_id=group,
            state_dir=Path(tmp) / "state",
        )
        app = build_consumer(settings, workspace, options, on_confirmed=recorder)
        thread = threading.Thread(target=app.run, name="bench-consumer", daemon=True)
        thread.start()
        try:
            yield recorder
        finally:
            app.stop.set()
            thread.join(60)


def run_consumer(
    settings: Settings, start: Sequence[TopicPartition], count: int, timeout: float
) -> dict[str, Any]:
    """Deliver ``count`` alerts waiting on the agency's delivery topic from ``start``.

    The rate runs from the first confirmed batch to the last, not counting the first
    batch (its work happened before the clock could start).
    """
    clock = CpuClock().start()
    with running_consumer(settings, start) as recorder:
        if not recorder.wait_for(count, timeout):
            found = len(recorder.confirmed)
            raise RuntimeError(f"the consumer delivered {found} of {count} alerts in {timeout:g}s")
        _, cpu_total = clock.stop()
        batches = list(recorder.batches)
    opened = next(i for i, (_, fresh) in enumerate(batches) if fresh)
    first = batches[opened][0]
    last = max(t for t, fresh in batches if fresh)
    counted = sum(fresh for _, fresh in batches[opened + 1 :])
    if not counted:
        raise RuntimeError("the whole backlog fit in one batch: benchmark more alerts")
    return {
        "alerts": count,
        "per_s": per_second(counted, last - first),
        # This process did nothing else meanwhile; start-up work is included.
        "cpu_us": micros(cpu_total, count),
        "batches": len(batches),
    }
