"""Reading back what a publisher wrote to the inbound topic, and running the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Collection, Sequence
from pathlib import Path

from confluent_kafka import KafkaException, Message, TopicPartition

from corridor.connection import Connection
from corridor.kafka_clients import consumer
from corridor.topics import INBOUND
from producers.prepare import ALERT_ID_HEADER

CORRIDOR = Path(sys.executable).parent / "corridor"


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as unsigned 32 bits."""
    m, mask = 0x5BD1E995, 0xFFFFFFFF
    length = len(data)
    h = (0x9747B28C ^ length) & mask
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * m) & mask
        k ^= k >> 24
        k = (k * m) & mask
        h = ((h * m) & mask) ^ k
    tail, rest = length & ~3, length % 4
    if rest == 3:
        h ^= data[tail + 2] << 16
    if rest >= 2:
        h ^= data[tail + 1] << 8
    if rest >= 1:
        h ^= data[tail]
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return h


def java_partition(key: bytes, partitions: int) -> int:
    """The partition the Java client (and librdkafka's murmur2_random) picks for ``key``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def high_watermarks(conn: Connection, group: str) -> dict[int, int]:
    cons = consumer(conn, group, quiet=True)
    try:
        partitions = cons.list_topics(INBOUND, timeout=30).topics[INBOUND].partitions
        return {
            p: cons.get_watermark_offsets(TopicPartition(INBOUND, p), timeout=30)[1]
            for p in partitions
        }
    finally:
        cons.close()


def read_between(
    conn: Connection, group: str, start: dict[int, int], end: dict[int, int]
) -> list[Message]:
    """Every inbound record from ``start`` (inclusive) to ``end`` (exclusive), per partition."""
    wanted = {p: (start.get(p, 0), stop) for p, stop in end.items() if stop > start.get(p, 0)}
    cons = consumer(conn, group, quiet=True)
    out: list[Message] = []
    try:
        cons.assign([TopicPartition(INBOUND, p, first) for p, (first, _) in wanted.items()])
        open_partitions = set(wanted)
        while open_partitions:
            for msg in cons.consume(num_messages=5000, timeout=1.0):
                if msg.error() is not None:
                    raise KafkaException(msg.error())
                partition, offset = msg.partition(), msg.offset()
                assert partition is not None
                assert offset is not None
                if offset < wanted[partition][1]:
                    out.append(msg)
                if offset + 1 >= wanted[partition][1]:
                    open_partitions.discard(partition)
    finally:
        cons.close()
    return out


def alert_id_of(msg: Message) -> str | None:
    for header in msg.headers() or []:
        name, value = header[0], header[1]
        if name == ALERT_ID_HEADER and isinstance(value, bytes):
            return value.decode("ascii")
    return None


def ours(messages: Sequence[Message], ids: Collection[str]) -> list[Message]:
    return [m for m in messages if alert_id_of(m) in ids]


def run_cli(
    home: Path, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(CORRIDOR), "--home", str(home), *args],
        input=stdin,
        capture_output=True,
        timeout=300,
        check=False,
        env={**os.environ, "CORRIDOR_LOG_LEVEL": "WARNING", **(env or {})},
    )
