"""The baseline: plain confluent-kafka through the same broker, no crypto, no policy.

Messages have the size of the benchmark's encoded CaseAlert and the same keys, go
through the same TLS + SCRAM listener with the publisher's producer settings
(idempotent, acks=all) to a topic with as many partitions as the inbound topic. What
the pipeline loses against these figures is the price of Corridor's guarantees and
of Python around them.
"""

from __future__ import annotations

import math
import os
import threading
import time
import uuid
from typing import Any

from confluent_kafka import Consumer, Message, Producer
from confluent_kafka.admin import NewTopic

from corridor.config import Settings
from corridor.connection import Connection
from corridor.kafka_clients import admin_client, consumer, producer
from producers import producer_config

from .workload import CpuClock, balanced_routes, micros, per_second

__all__ = ["next_batch", "percentiles", "run_baseline"]

TOPIC_PREFIX = "corridor.bench.baseline"


def _create_topic(conn: Connection, partitions: int) -> str:
    topic = f"{TOPIC_PREFIX}-{uuid.uuid4().hex[:8]}"
    admin = admin_client(conn, quiet=True)  # kept alive until the topic exists
    for future in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
        future.result(30)
    return topic


def _produce(prod: Producer, topic: str, keys: list[bytes], value: bytes, count: int) -> float:
    """Produce ``count`` messages; returns the seconds spent inside the produce calls."""
    in_calls = 0.0
    for n in range(count):
        key = keys[n % len(keys)]
        while True:
            started = time.perf_counter()
            try:
                prod.produce(topic, value, key)
            except BufferError:
                prod.poll(0.05)
                continue
            in_calls += time.perf_counter() - started
            break
        if n % 1000 == 0:
            prod.poll(0)
    return in_calls


def next_batch(cons: Consumer, size: int = 500, timeout: float = 0.5) -> list[Message]:
    """What has arrived, as soon as there is anything (``consume(n, t)`` alone would
    wait for all ``n`` or the whole timeout and hold early messages back)."""
    first = cons.consume(1, timeout)
    return [*first, *cons.consume(size - 1, 0)] if first else []


def _consume_all(cons: Consumer, count: int, timeout: float) -> tuple[int, float, float]:
    """Read ``count`` messages; (messages after the first batch, seconds from the first
    batch to the last message, CPU seconds meanwhile): the first batch opens the clock."""
    seen, counted, deadline = 0, 0, time.monotonic() + timeout
    clock = CpuClock()
    while seen < count and time.monotonic() < deadline:
        batch = next_batch(cons)
        read = sum(1 for m in batch if m.error() is None)
        if read and not seen:
            clock.start()
        elif seen:
            counted += read
        seen += read
    if seen < count or not counted:
        raise RuntimeError(f"the baseline consumer read {seen} of {count} messages")
    wall, cpu = clock.stop()
    return counted, wall, cpu


def _latency(
    conn: Connection, settings: Settings, topic: str, value: bytes, *, rate: float, seconds: float
) -> dict[str, Any]:
    """Produce at a fixed rate and read back: milliseconds from produce call to read."""
    sent: dict[bytes, float] = {}
    got: list[float] = []
    count = int(rate * seconds)
    cons = consumer(conn, f"corridor-bench-lat-{uuid.uuid4().hex[:8]}", quiet=True)
    cons.subscribe([topic])
    ready = threading.Event()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            for msg in next_batch(cons, 100, 0.1):
                ready.set()
                key = msg.key()
                if msg.error() is None and key is not None and key in sent:
                    got.append((time.time() - sent[key]) * 1000)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    prod = producer(conn, quiet=True, **producer_config(settings))
    prod.produce(topic, value, b"warm-up")  # read back once the reader holds partitions
    prod.flush(10)
    ready.wait(30)
    begin = time.perf_counter()
    for n in range(count):
        delay = begin + n / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        key = f"lat-{n}".encode()
        sent[key] = time.time()
        prod.produce(topic, value, key)
        prod.poll(0)
    prod.flush(30)
    deadline = time.monotonic() + 30
    while len(got) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    reader.join(5)
    cons.close()
    return percentiles(got, rate, missing=count - len(got))


def percentiles(values: list[float], rate: float, missing: int = 0) -> dict[str, Any]:
    """p50, p99, p99.9 and max (nearest rank) of ``values`` in milliseconds, as the
    report shows them. ``missing`` values never arrived: they count as slower than
    every other, and a percentile that falls among them is None (beyond the wait)."""
    ordered = sorted(values) + [math.inf] * missing
    if not ordered:
        return {"rate_per_s": rate, "alerts": 0, "undelivered": missing}

    def rank(q: float) -> float | None:
        found = ordered[max(0, math.ceil(q * len(ordered)) - 1)]
        return None if math.isinf(found) else round(found, 2)

    return {
        "rate_per_s": rate,
        "alerts": len(ordered),
        "undelivered": missing,
        "p50_ms": rank(0.50),
        "p99_ms": rank(0.99),
        "p999_ms": rank(0.999),
        "max_ms": rank(1.0),
    }


def run_baseline(
    conn: Connection,
    settings: Settings,
    *,
    value_size: int,
    partitions: int,
    count: int,
    latency_rate: float,
    latency_seconds: float,
) -> dict[str, Any]:
    """Plain produce and consume of ``count`` messages of ``value_size`` bytes, and the
    produce-to-read latency at ``latency_rate`` per second."""
    topic = _create_topic(conn, partitions)
    keys = [key.encode() for key in balanced_routes(partitions, 1)]
    value = os.urandom(value_size)
    prod = producer(conn, quiet=True, **producer_config(settings))
    prod.list_topics(topic, timeout=10)
    clock = CpuClock().start()
    in_calls = _produce(prod, topic, keys, value, count)
    if prod.flush(60):
        raise RuntimeError("the baseline producer did not deliver every message")
    produce_wall, produce_cpu = clock.stop()

    cons = consumer(conn, f"corridor-bench-{uuid.uuid4().hex[:8]}", quiet=True)
    cons.subscribe([topic])
    try:
        counted, consume_wall, consume_cpu = _consume_all(cons, count, timeout=120)
    finally:
        cons.close()
    latency_topic = _create_topic(conn, partitions)
    return {
        "message_bytes": value_size,
        "messages": count,
        "produce_per_s": per_second(count, produce_wall),
        "produce_cpu_us": micros(produce_cpu, count),
        "produce_call_us": micros(in_calls, count),
        "consume_per_s": per_second(counted, consume_wall),
        "consume_cpu_us": micros(consume_cpu, counted),
        "latency": _latency(
            conn, settings, latency_topic, value, rate=latency_rate, seconds=latency_seconds
        ),
    }
