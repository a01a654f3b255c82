"""End-to-end latency at fixed rates: from the publish call to the sink's confirmation.

The issuer publishes from this process on a fixed schedule, a ``corridor process``
worker routes, and the recipient's consumer (a thread here, SQLite sink) confirms. An
alert's latency runs from the moment ``publish`` is called for it (before it is
checked, sealed and signed) to the moment its sink confirmed it, both read from the
same clock. If the publisher cannot keep the schedule, the achieved rate shows it.

Two topic tails split each latency in three, from the Kafka timestamps that the
producers set when they produce (same machine, same clock):

* ``publish``: publish call -> the inbound record is produced (check, seal, sign);
* ``route``: inbound record produced -> delivery record produced (publisher linger,
  broker, the processor's fetch and work);
* ``deliver``: delivery record produced -> sink confirmed (linger, broker, the
  consumer's fetch, verify, open, store).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corridor.config import Settings
from corridor.topics import ACKS_INBOUND, INBOUND, delivery_topic
from corridor.workspace import Workspace
from producers import Publisher, make_alert_id, open_publisher

from .baseline import percentiles
from .consuming import Recorder, running_consumer
from .workers import DeliveryTail, WorkerPool, new_app_id
from .workload import CONSUMER_AGENCY, ISSUER, alerts, commit_end, end_offsets

__all__ = ["run_latency"]


@dataclass(frozen=True, slots=True)
class _Tails:
    inbound: DeliveryTail
    delivered: DeliveryTail

    def stop(self) -> None:
        self.inbound.stop()
        self.delivered.stop()


def _breakdown(
    tails: _Tails, sent: dict[str, float], confirmed: dict[str, float]
) -> dict[str, dict[str, float | None]]:
    """p50 and p99 of each leg (see the module docstring) over the alerts of ``sent``."""
    legs: dict[str, list[float]] = {"publish": [], "route": [], "deliver": []}
    inbound, delivered = tails.inbound, tails.delivered
    for digest, alert_id in list(inbound.alert_ids.items()):
        routed_ms = delivered.produced_ms.get(digest)
        if alert_id not in sent or alert_id not in confirmed or routed_ms is None:
            continue
        produced = inbound.produced_ms[digest] / 1000
        legs["publish"].append((produced - sent[alert_id]) * 1000)
        legs["route"].append(routed_ms - produced * 1000)
        legs["deliver"].append((confirmed[alert_id] - routed_ms / 1000) * 1000)
    out: dict[str, dict[str, float | None]] = {}
    for leg, values in legs.items():
        found = percentiles(values, 0)
        out[leg] = {"p50_ms": found.get("p50_ms"), "p99_ms": found.get("p99_ms")}
    return out


def _paced(
    publisher: Publisher,
    recorder: Recorder,
    tails: _Tails | None,
    *,
    rate: float,
    seconds: float,
    partitions: int,
    tag: str,
    timeout: float,
) -> dict[str, Any]:
    count = max(1, int(rate * seconds))
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
    # A pipeline that cannot keep the rate gets a bounded time to catch up; what is
    # still missing then is reported as undelivered (slower than the wait).
    recorder.wait_for(wanted, timeout)
    with recorder.changed:
        confirmed = dict(recorder.confirmed)
    latencies = [(confirmed[i] - sent[i]) * 1000 for i in ids if i in confirmed]
    result = percentiles(latencies, rate, missing=count - len(latencies))
    result["achieved_rate_per_s"] = round(count / published_in, 1)
    result["publisher_behind_ms"] = round(behind * 1000, 1)
    if tails is not None:
        time.sleep(0.5)  # the tails read what the consumer has already confirmed
        result["legs"] = _breakdown(tails, sent, confirmed)
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
    """Latency percentiles at each rate, through one processor worker; after each
    rate the pipeline has ``timeout`` seconds to deliver what is still on its way."""
    workspace = Workspace(settings.home)
    admin = workspace.admin_connection()
    app_id = new_app_id()
    commit_end(admin, app_id, [INBOUND, ACKS_INBOUND])
    results: dict[str, dict[str, Any]] = {}
    tails = _Tails(
        DeliveryTail(admin, end_offsets(admin, [INBOUND])).start(),
        DeliveryTail(admin, end_offsets(admin, [delivery_topic(CONSUMER_AGENCY)])).start(),
    )
    try:
        with (
            WorkerPool(settings.home, app_id, 1, logs) as pool,
            running_consumer(settings) as rec,
            open_publisher(settings, ISSUER) as publisher,
        ):
            pool.wait_assigned(partitions, timeout=timeout)
            # Warm-up: the worker, the consumer and the publisher's idempotent producer
            # are ready, and every corridor key has gone through once.
            _paced(
                publisher,
                rec,
                None,
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
                    tails,
                    rate=rate,
                    seconds=seconds,
                    partitions=partitions,
                    tag=f"{app_id}-{rate:g}",
                    timeout=timeout,
                )
                pool.check_alive()
    finally:
        tails.stop()
    return results
