"""The processor stage: an empty faust agent, then real workers on a backlog.

Workers run as ``corridor process`` subprocesses with a fresh application id. They
start with nothing to do, route a small warm-up share of the producer stage's alerts
(so every worker holds its partitions and has joined the group for good), and then
the rest is copied to the inbound topic byte for byte in one go. The rate runs from
the first copied alert delivered to a recipient to the moment the last one is
delivered and every copied alert has been correlated: ``(alerts - 1) / (end - first
arrival)``. Start-up and rebalancing are left out; flushing, committing and the
correlation work are in.
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

from corridor.codec import Codec
from corridor.connection import Connection
from corridor.kafka_clients import admin_client, consumer, producer
from corridor.records import alert_from_record
from corridor.topics import ACKS_INBOUND, INBOUND, delivery_topic
from processors.correlation import sightings

from .baseline import next_batch
from .workers import DeliveryTail, WorkerPool, new_app_id, value_digest
from .workload import CONSUMER_AGENCY, commit_end, end_offsets, micros, per_second

__all__ = ["Backlog", "empty_agent", "run_processor"]

#: Alerts routed before the clock starts (at most a tenth of the backlog).
WARM_UP = 500


@dataclass(frozen=True, slots=True)
class Backlog:
    """Alerts already on the inbound topic: where they start and end on each
    partition, and how many (the stages after it append copies behind them)."""

    start: tuple[TopicPartition, ...]
    count: int
    end: tuple[TopicPartition, ...]


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


@dataclass(frozen=True, slots=True)
class _Record:
    """One alert of the backlog as the inbound topic holds it."""

    partition: int
    key: bytes | None
    value: bytes
    tokens: int


def _read_backlog(admin: Connection, backlog: Backlog, timeout: float) -> list[_Record]:
    """The backlog's records, exactly its range on every partition, with how many
    distinct linkage tokens each alert carries (one ``tokens`` table write each once it
    has been correlated)."""
    codec = Codec()
    ends = {tp.partition: tp.offset for tp in backlog.end}
    wanted = sum(ends.get(tp.partition, tp.offset) - tp.offset for tp in backlog.start)
    if wanted != backlog.count:
        raise RuntimeError(f"the backlog holds {wanted} records, not {backlog.count}")
    cons = consumer(admin, "corridor-bench-backlog", quiet=True)
    cons.assign([tp for tp in backlog.start if ends.get(tp.partition, tp.offset) > tp.offset])
    found: list[_Record] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < wanted and time.monotonic() < deadline:
            for msg in next_batch(cons, 1000, 0.5):
                partition, offset = msg.partition() or 0, msg.offset() or 0
                if msg.error() is not None or offset >= ends.get(partition, 0):
                    continue  # past the backlog: a copy an earlier stage appended
                value = msg.value() or b""
                metadata = alert_from_record(codec.decode_as("CaseAlert", value)).metadata
                tokens = len(list(sightings(metadata)))
                found.append(_Record(partition, msg.key(), value, tokens))
    finally:
        cons.close()
    if len(found) < wanted:
        raise RuntimeError(f"read {len(found)} of the {wanted} backlog alerts")
    return found


def _copy(admin: Connection, records: Sequence[_Record]) -> None:
    """Write ``records`` to the inbound topic again, byte for byte, on their partitions."""
    prod = producer(admin, quiet=True, **{"linger.ms": 5})
    for record in records:
        while True:
            try:
                prod.produce(INBOUND, record.value, record.key, partition=record.partition)
                break
            except BufferError:
                prod.poll(0.05)
    if prod.flush(60):
        raise RuntimeError("the backlog was not copied to the inbound topic")


def _until_caught_up(
    pool: WorkerPool,
    tail: DeliveryTail,
    *,
    records: int,
    expected: float,
    deadline: float,
    cpu_samples: list[tuple[float, float]],
) -> float:
    """Wait until ``records`` are delivered and ``expected`` sightings correlated,
    sampling the workers' CPU: when that happened, -1 if correlation was already done
    when the last alert arrived, 0 if never.

    The workers' metrics are read only once every alert is delivered: each scrape
    renders every metric inside the worker, and a scrape every tenth of a second cost
    it about 5% of its CPU (a Prometheus server scrapes every 15 s or so).
    """
    still_correlating = False
    try:
        while time.monotonic() < deadline:
            pool.check_alive()
            routed = tail.wait_for(records, 0.1)
            cpu_samples.append((time.perf_counter(), sum(pool.cpu())))
            if routed:
                if pool.correlated() >= expected:
                    return time.perf_counter() if still_correlating else -1.0
                still_correlating = True
        return 0.0
    finally:
        cpu_samples.append((time.perf_counter(), sum(pool.cpu())))


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
    where their deliveries to the benchmark's consumer agency begin.

    The workers start on an empty inbound topic (their group at its end) and route a
    warm-up share of the backlog first, so each holds its partitions and has nothing
    left to start; then the rest is copied to the inbound topic at once. The clock runs
    from the first copied alert delivered to the point where the last is delivered
    and the workers have correlated every one of its linkage tokens (their
    ``corridor_sightings_correlated_total``), so deferred work is counted too.
    """
    records = _read_backlog(admin, backlog, timeout)
    warm_up = max(1, min(WARM_UP, len(records) // 10))
    measured = records[warm_up:]
    digests = [value_digest(record.value) for record in measured]
    if len(set(digests)) != len(digests):
        raise RuntimeError("the backlog holds the same alert twice")
    tokens = sum(record.tokens for record in measured)
    app_id = new_app_id()
    commit_end(admin, app_id, [INBOUND, ACKS_INBOUND])
    deliveries = end_offsets(admin, [delivery_topic(CONSUMER_AGENCY)])
    tail = DeliveryTail(admin, deliveries).start()
    cpu_samples: list[tuple[float, float]] = []
    started = time.perf_counter()
    try:
        with WorkerPool(home, app_id, workers, logs, entry=entry, options=options) as pool:
            deadline = time.monotonic() + timeout
            pool.wait_assigned(partitions, timeout)
            warm_tokens = sum(record.tokens for record in records[:warm_up])
            _copy(admin, records[:warm_up])
            while not (tail.wait_for(warm_up, 0.2) and pool.correlated() >= warm_tokens):
                pool.check_alive()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{workers} worker(s) did not route the warm-up")
            ready = time.perf_counter() - started
            expected = pool.correlated() + tokens
            _copy(admin, measured)
            caught_up_at = _until_caught_up(
                pool,
                tail,
                records=len(records),
                expected=expected,
                deadline=deadline,
                cpu_samples=cpu_samples,
            )
    finally:
        tail.stop()
    arrivals = [tail.arrivals[d] for d in digests if d in tail.arrivals]
    if len(arrivals) < 2:
        raise RuntimeError(f"{workers} worker(s) routed nothing in {timeout:g}s")
    first, routed_at = min(arrivals), max(arrivals)
    # Caught up at the first look once all were delivered: correlation was done by then.
    correlated_at = caught_up_at if caught_up_at >= 0 else routed_at
    # Not correlated in time: the clock stops at the timeout, and says so.
    done_at = max(routed_at, correlated_at or cpu_samples[-1][0])
    counted = len(arrivals) - 1
    cpu = _at(cpu_samples, done_at) - _at(cpu_samples, first)
    result = {
        "workers": workers,
        "alerts": len(measured),
        # Fewer than ``alerts`` when the workers ran out of time: the rate is then
        # over the alerts routed so far.
        "routed": len(arrivals),
        "per_s": per_second(counted, done_at - first),
        "per_worker_per_s": per_second(counted / workers, done_at - first),
        "routing_per_s": per_second(counted, routed_at - first),
        "cpu_us": micros(cpu, counted),
        "correlated": bool(correlated_at),
        "correlated_after_s": round(max(0.0, done_at - routed_at), 2),
        "tokens": tokens,
        "warm_up": warm_up,
        "ready_s": round(ready, 2),
    }
    return result, deliveries
