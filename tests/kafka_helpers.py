"""Small synchronous helpers for tests that talk to the real broker."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message

from corridor.connection import Connection
from corridor.kafka_clients import consumer, producer


def produce_all(
    conn: Connection, topic: str, records: Sequence[tuple[bytes | None, bytes]], **overrides: Any
) -> list[Message]:
    """Produce and flush; returns the delivered messages; raises on the first failure."""
    prod = producer(conn, quiet=True, **overrides)
    delivered: list[Message] = []
    errors: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            errors.append(err)
        else:
            delivered.append(msg)

    for key, value in records:
        prod.produce(topic, key=key, value=value, on_delivery=on_delivery)
        prod.poll(0)
    remaining = prod.flush(30)
    if errors:
        raise KafkaException(errors[0])
    assert remaining == 0, f"{remaining} messages not delivered"
    return delivered


def consume_all(
    conn: Connection,
    topic: str,
    group: str,
    *,
    expected: int | None = None,
    idle_timeout: float = 5.0,
    max_wait: float = 60.0,
) -> list[Message]:
    """Read ``topic`` from the beginning until ``expected`` messages or an idle gap."""
    cons = consumer(conn, group, quiet=True)
    cons.subscribe([topic])
    out: list[Message] = []
    started = last = time.monotonic()
    try:
        while time.monotonic() - started < max_wait:
            if expected is not None and len(out) >= expected:
                break
            if expected is None and out and time.monotonic() - last > idle_timeout:
                break
            batch = cons.consume(num_messages=1000, timeout=0.5)
            for msg in batch:
                if msg.error() is not None:
                    raise KafkaException(msg.error())
                out.append(msg)
                last = time.monotonic()
    finally:
        cons.close()
    return out
