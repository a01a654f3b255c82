"""End-to-end latency at fixed rates: from the publish call to the sink's confirmation.

The issuer publishes from its own process on a fixed schedule (:mod:`.pacer`), a
``corridor process`` worker routes, and the recipient's consumer (a thread here,
SQLite sink) confirms. An alert's latency runs from the moment ``publish`` is called
for it (before it is checked, sealed and signed) to the moment its sink confirmed it,
both read from the machine's clock. If the publisher cannot keep the schedule, the
achieved rate shows it.

Two topic tails split each latency in three, from the Kafka timestamps that the
producers set when they produce (same machine, same clock):

* ``publish``: publish call -> the inbound record is produced (check, seal, sign);
* ``route``: inbound record produced -> delivery record produced (publisher linger,
  broker, the processor's fetch and work);
* ``deliver``: delivery record produced -> sink confirmed (linger, broker, the
  consumer's fetch, verify, open, store).

Each rate also records the CPU time each process of the pipeline spent per alert
(``cpu_us_per_alert``), and how many cores all of them together need at that rate
(``cpu_cores``): the publisher's own count over its schedule; the workers, the local
brokers and this process (the consumer, with the tails) from the start of the
publisher to the last confirmation. Below saturation each alert travels alone and
costs several times what it costs in a backlog; these figures show where the two
cores of a small machine run out.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corridor.config import Settings
from corridor.topics import ACKS_INBOUND, INBOUND, delivery_topic
from corridor.workspace import Workspace

from .baseline import percentiles
from .consuming import Recorder, running_consumer
from .warm_up import broker_pids
from .workers import DeliveryTail, WorkerPool, new_app_id
from .workload import CONSUMER_AGENCY, commit_end, end_offsets, micros, proc_cpu_seconds

__all__ = ["WARM_UP_SECONDS", "run_latency"]

#: How long the lowest rate runs, unmeasured, before the first measured one.
WARM_UP_SECONDS = 4.0


@dataclass(frozen=True, slots=True)
class _Tails:
    inbound: DeliveryTail
    delivered: DeliveryTail

    def stop(self) -> None:
        self.inbound.stop()
        self.delivered.stop()


@dataclass(frozen=True, slots=True)
class _Processes:
    """The pipeline's processes on this machine, whose CPU time a rate records (the
    publisher counts its own)."""

    workers: WorkerPool
    brokers: tuple[int, ...]

    def cpu_seconds(self) -> dict[str, float]:
        seconds = {"worker": sum(self.workers.cpu()), "consumer": time.process_time()}
        if self.brokers:
            seconds["broker"] = sum(proc_cpu_seconds(pid) for pid in self.brokers)
        return seconds


def _cpu(
    rate: float, alerts: int, publisher_s: float, before: dict[str, float], after: dict[str, float]
) -> dict[str, Any]:
    spent = {"publisher": publisher_s, **{k: after[k] - before[k] for k in before}}
    per_alert = {name: micros(seconds, alerts) for name, seconds in spent.items()}
    return {
        "cpu_us_per_alert": per_alert,
        "cpu_cores": round(rate * sum(per_alert.values()) / 1e6, 2),
    }


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
    settings: Settings,
    recorder: Recorder,
    tails: _Tails | None,
    processes: _Processes,
    *,
    rate: float,
    seconds: float,
    partitions: int,
    tag: str,
    timeout: float,
    logs: Path,
) -> dict[str, Any]:
    """One rate, published by :mod:`.pacer` in its own process (its own GIL, as an
    agency's system is), measured here where the sink confirms."""
    out = logs / f"pacer-{tag}.json"
    before = processes.cpu_seconds()
    command = [sys.executable, "-m", "corridor.cli.benchmarks.pacer"]
    command += ["--home", str(settings.home), "--rate", f"{rate:g}", "--seconds", f"{seconds:g}"]
    command += ["--partitions", str(partitions), "--tag", tag, "--out", str(out)]
    with (logs / f"pacer-{tag}.log").open("wb") as log:
        finished = subprocess.run(
            command, stdout=log, stderr=subprocess.STDOUT, timeout=seconds + 120, check=False
        )
    if finished.returncode != 0:
        raise RuntimeError(f"the publisher at {rate:g}/s failed: see {log.name} in {logs}")
    paced = json.loads(out.read_text())
    sent: dict[str, float] = paced["sent"]
    # A pipeline that cannot keep the rate gets a bounded time to catch up; what is
    # still missing then is reported as undelivered (slower than the wait).
    recorder.wait_for_ids(sent, timeout)
    after = processes.cpu_seconds()
    with recorder.changed:
        confirmed = dict(recorder.confirmed)
    latencies = [(confirmed[i] - at) * 1000 for i, at in sent.items() if i in confirmed]
    result = percentiles(latencies, rate, missing=len(sent) - len(latencies))
    result["achieved_rate_per_s"] = paced["achieved_rate_per_s"]
    result["publisher_behind_ms"] = paced["publisher_behind_ms"]
    result.update(_cpu(rate, len(sent), paced["cpu_s"], before, after))
    if tails is not None:
        time.sleep(0.5)  # the tails (100 ms batches) read what the consumer confirmed
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
        DeliveryTail(admin, end_offsets(admin, [INBOUND]), batched=True).start(),
        DeliveryTail(
            admin, end_offsets(admin, [delivery_topic(CONSUMER_AGENCY)]), batched=True
        ).start(),
    )
    try:
        with (
            WorkerPool(settings.home, app_id, 1, logs) as pool,
            running_consumer(settings) as rec,
        ):
            pool.wait_assigned(partitions, timeout=timeout)
            processes = _Processes(pool, tuple(broker_pids(settings.home)))
            # Warm-up, not measured: the worker, the consumer and the publisher's
            # idempotent producer are ready, every corridor key has gone through, and
            # the worker's first commits and changelog writes are behind it. Measured
            # runs showed their worst alerts in the first 2.5 s otherwise.
            _paced(
                settings,
                rec,
                None,
                processes,
                rate=min(rates),
                seconds=WARM_UP_SECONDS,
                partitions=partitions,
                tag=f"{app_id}-warm",
                timeout=timeout,
                logs=logs,
            )
            for rate in rates:
                results[f"{rate:g}"] = _paced(
                    settings,
                    rec,
                    tails,
                    processes,
                    rate=rate,
                    seconds=seconds,
                    partitions=partitions,
                    tag=f"{app_id}-{rate:g}",
                    timeout=timeout,
                    logs=logs,
                )
                pool.check_alive()
    finally:
        tails.stop()
    return results
