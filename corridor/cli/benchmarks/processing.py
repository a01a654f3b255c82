"""The processor stage: an empty faust agent, then real workers on a pre-filled backlog.

Workers run as ``corridor process`` subprocesses with a fresh application id whose
group starts at the first alert of the backlog (written before they start by the
producer stage). The rate runs from the first alert delivered to a recipient to the
last one: ``(alerts - 1) / (last arrival - first arrival)``, so the workers' start-up
is not counted but everything after it is (rebalancing, flushing, committing).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import TopicPartition
from confluent_kafka.admin import NewTopic

from corridor.connection import Connection
from corridor.kafka_clients import admin_client, producer
from corridor.topics import ACKS_INBOUND, INBOUND, delivery_topic

from .workers import DeliveryTail, WorkerPool, new_app_id
from .workload import CONSUMER_AGENCY, commit_end, end_offsets, micros, per_second

__all__ = ["Backlog", "empty_agent", "run_processor"]


@dataclass(frozen=True, slots=True)
class Backlog:
    """Alerts already on the inbound topic: where they start, and how many."""

    start: tuple[TopicPartition, ...]
    count: int


def _fill_probe_topic(admin: Connection, partitions: int, size: int, count: int) -> str:
    topic = f"corridor-processor-probe-{uuid.uuid4().hex[:8]}"
    client = admin_client(admin, quiet=True)
    for future in client.create_topics([NewTopic(topic, partitions, 1)]).values():
        future.result(30)
    prod = producer(admin, quiet=True, **{"linger.ms": 20})
    value = os.urandom(size)
    for n in range(count):
        while True:
            try:
                prod.produce(topic, value, f"k{n % 60}".encode())
                break
            except BufferError:
                prod.poll(0.05)
    if prod.flush(60):
        raise RuntimeError("the empty-agent topic was not filled")
    return topic


def empty_agent(
    home: Path,
    admin: Connection,
    *,
    partitions: int,
    size: int,
    count: int,
    variants: dict[str, dict[str, Any]],
    timeout: float = 300.0,
) -> dict[str, dict[str, float]]:
    """An empty faust agent's rate over ``count`` events, once per faust variant."""
    topic = _fill_probe_topic(admin, partitions, size, count)
    results = {}
    for name, variant in variants.items():
        with tempfile.TemporaryDirectory(prefix="corridor-bench-faust-") as tmp:
            out = Path(tmp) / "result.json"
            command = [sys.executable, "-m", "corridor.cli.benchmarks.faust_probe"]
            command += ["--home", str(home), "--app-id", new_app_id(), "--topic", topic]
            command += ["--count", str(count), "--out", str(out), "--datadir", f"{tmp}/data"]
            command += ["--variant", name, "--options", json.dumps(variant)]
            done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
            if not out.exists():
                tail = done.stderr.decode(errors="replace")[-1500:]
                raise RuntimeError(f"the empty faust agent ({name}) did not finish: {tail}")
            found = json.loads(out.read_text())
        events, seconds, cpu = found["events"], found["seconds"], found["cpu_seconds"]
        results[name] = {
            "events": events,
            "per_s": per_second(events, seconds),
            "us": micros(seconds, events),
            "cpu_us": micros(cpu, events),
        }
    return results


def _at(samples: list[tuple[float, float]], when: float) -> float:
    """The sampled value closest to ``when``."""
    return min(samples, key=lambda sample: abs(sample[0] - when))[1]


def run_processor(
    home: Path,
    admin: Connection,
    backlog: Backlog,
    *,
    workers: int,
    partitions: int,
    logs: Path,
    timeout: float,
    entry: Sequence[str] = ("-m", "corridor"),
    options: Sequence[str] = ("--dashboard-port", "0"),
) -> tuple[dict[str, Any], list[TopicPartition]]:
    """Route ``backlog`` with ``workers`` fresh workers: alerts per second and CPU, and
    where their deliveries to the benchmark's consumer agency begin."""
    app_id = new_app_id()
    acks = end_offsets(admin, [ACKS_INBOUND])
    commit_end(admin, app_id, [INBOUND, ACKS_INBOUND], at=[*backlog.start, *acks])
    deliveries = end_offsets(admin, [delivery_topic(CONSUMER_AGENCY)])
    tail = DeliveryTail(admin, deliveries).start()
    cpu_samples: list[tuple[float, float]] = []
    started = time.perf_counter()
    try:
        with WorkerPool(home, app_id, workers, logs, entry=entry, options=options) as pool:
            deadline = time.monotonic() + timeout
            all_held_at = 0.0
            while not tail.wait_for(backlog.count, 0.1) and time.monotonic() < deadline:
                pool.check_alive()
                now = time.perf_counter()
                cpu_samples.append((now, sum(pool.cpu())))
                if not all_held_at and all(pool.assigned()):
                    all_held_at = now
            cpu_samples.append((time.perf_counter(), sum(pool.cpu())))
    finally:
        tail.stop()
    if len(tail.arrivals) < 2:
        raise RuntimeError(f"{workers} worker(s) routed nothing in {timeout:g}s")
    arrivals = sorted(tail.arrivals.values())[: backlog.count]
    first, last = arrivals[0], arrivals[-1]
    routed = len(arrivals) - 1
    cpu = _at(cpu_samples, last) - _at(cpu_samples, first)
    result = {
        "workers": workers,
        "alerts": backlog.count,
        # Fewer than ``alerts`` when the workers ran out of time: the rate is then
        # over the alerts routed so far.
        "routed": len(arrivals),
        "per_s": per_second(routed, last - first),
        "per_worker_per_s": per_second(routed / workers, last - first),
        "cpu_us": micros(cpu, routed),
        "startup_s": round(first - started, 2),
        # Positive when a worker got its partitions only after routing had begun.
        "late_join_s": round(max(0.0, all_held_at - first), 2) if all_held_at else None,
    }
    return result, deliveries
