"""End-to-end latency at fixed rates: from the publish call to the sink's confirmation.

The issuer publishes from this process on a fixed schedule, a ``corridor process``
worker routes, and the recipient's consumer (a thread here, SQLite sink) confirms. An
alert's latency runs from the moment ``publish`` is called for it (before it is
checked, sealed and signed) to the moment its sink confirmed it, both read from the
same clock. If the publisher cannot keep the schedule, the achieved rate shows it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from corridor.config import Settings
from corridor.topics import ACKS_INBOUND, INBOUND
from corridor.workspace import Workspace
from producers import Publisher, make_alert_id, open_publisher

from .baseline import percentiles
from .consuming import Recorder, running_consumer
from .workers import WorkerPool, new_app_id
from .workload import ISSUER, alerts, commit_end

__all__ = ["run_latency"]


def _paced(
    publisher: Publisher,
    recorder: Recorder,
    *,
    rate: float,
    seconds: float,
    partitions: int,
    tag: str,
    timeout: float,
) -> dict[str, Any]:
    count = int(rate * seconds)
    drafts = list(alerts(count, tag=tag, partitions=partitions))
    ids = [make_alert_id(ISSUER, draft["idempotency_key"]) for draft in drafts]
    sent: dict[str, float] = {}
    behind = 0.0
    wanted = len(recorder.confirmed) + count
    begin = time.perf_counter()
    for n, (draft, alert_id) in enumerate(zip(drafts, ids, strict=True)):
        delay = begin + n / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        else:
            behind = max(behind, -delay)
        sent[alert_id] = time.time()
        publisher.publish(draft)
    published_in = time.perf_counter() - begin
    publisher.flush(30)
    if not recorder.wait_for(wanted, timeout):
        missing = sum(1 for alert_id in ids if alert_id not in recorder.confirmed)
        raise RuntimeError(f"{missing} of {count} alerts at {rate:g}/s were not delivered")
    latencies = [(recorder.confirmed[i] - sent[i]) * 1000 for i in ids]
    result = percentiles(latencies, rate)
    result["achieved_rate_per_s"] = round(count / published_in, 1)
    result["publisher_behind_ms"] = round(behind * 1000, 1)
    return result


def run_latency(
    settings: Settings,
    *,
    rates: tuple[float, ...],
    seconds: float,
    partitions: int,
    logs: Path,
    timeout: float = 120.0,
) -> dict[str, dict[str, Any]]:
    """Latency percentiles at each rate, through one processor worker."""
    workspace = Workspace(settings.home)
    admin = workspace.admin_connection()
    app_id = new_app_id()
    commit_end(admin, app_id, [INBOUND, ACKS_INBOUND])
    results: dict[str, dict[str, Any]] = {}
    with (
        WorkerPool(settings.home, app_id, 1, logs) as pool,
        running_consumer(settings) as rec,
        open_publisher(settings, ISSUER) as publisher,
    ):
        pool.wait_assigned(partitions, timeout=timeout)
        # Warm-up: the worker, the consumer and the publisher's idempotent producer are
        # ready, and every corridor key has gone through once.
        _paced(
            publisher,
            rec,
            rate=50,
            seconds=0.2,
            partitions=partitions,
            tag=f"{app_id}-warm",
            timeout=timeout,
        )
        for rate in rates:
            results[f"{rate:g}"] = _paced(
                publisher,
                rec,
                rate=rate,
                seconds=seconds,
                partitions=partitions,
                tag=f"{app_id}-{rate:g}",
                timeout=timeout,
            )
            pool.check_alive()
    return results
