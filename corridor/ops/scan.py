"""Reading a time slice of a topic, and its offsets, without joining a consumer group.

The operations view must stay cheap however long a topic's retention is: a one-hour
window starts at the offsets Kafka finds for that time (``ListOffsets`` by timestamp),
and reading stops at the end offsets taken when the scan began, so a busy topic cannot
keep a scan going forever. Partitions are assigned, never subscribed, and nothing is
committed: the operator's reads leave no trace in any group.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from datetime import datetime

from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from corridor.connection import Connection
from corridor.kafka_clients import consumer
from corridor.ops.errors import OpsError

Partition = tuple[str, int]


def partitions_of(admin: AdminClient, topics: Iterable[str], *, timeout: float) -> dict[str, int]:
    """Partition counts of the ``topics`` that exist (absent ones are left out)."""
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise OpsError(f"cannot read the cluster metadata: {exc}", retriable=True) from exc
    wanted = set(topics)
    return {
        name: len(meta.partitions)
        for name, meta in metadata.topics.items()
        if name in wanted and meta.error is None
    }


def list_offsets(
    admin: AdminClient, partitions: Iterable[Partition], spec: OffsetSpec, *, timeout: float
) -> dict[Partition, int]:
    """One ``ListOffsets`` round for many partitions; -1 where no offset matches."""
    request = {TopicPartition(topic, p): spec for topic, p in partitions}
    if not request:
        return {}
    try:
        futures = admin.list_offsets(request, request_timeout=timeout)
        return {
            (tp.topic, tp.partition): int(future.result(timeout=timeout).offset)
            for tp, future in futures.items()
        }
    except KafkaException as exc:
        raise OpsError(f"cannot list offsets: {exc}", retriable=True) from exc


def watermarks(
    admin: AdminClient, partitions: Iterable[Partition], *, timeout: float
) -> dict[Partition, tuple[int, int]]:
    """(low, high) per partition: the oldest retained offset and the next to be written."""
    parts = list(partitions)
    earliest = OffsetSpec.earliest()  # type: ignore[no-untyped-call]
    latest = OffsetSpec.latest()  # type: ignore[no-untyped-call]
    low = list_offsets(admin, parts, earliest, timeout=timeout)
    high = list_offsets(admin, parts, latest, timeout=timeout)
    return {p: (low[p], high[p]) for p in parts}


def scan(
    conn: Connection,
    admin: AdminClient,
    topic: str,
    *,
    since: datetime | None,
    timeout: float = 30.0,
) -> Iterator[Message]:
    """The records of ``topic`` written at or after ``since`` (all when None), up to now."""
    count = partitions_of(admin, [topic], timeout=timeout).get(topic)
    if count is None:
        raise OpsError(f"topic {topic} does not exist or is not visible to {conn.username}")
    parts = [(topic, p) for p in range(count)]
    marks = watermarks(admin, parts, timeout=timeout)
    if since is None:
        starts = {p: low for p, (low, _) in marks.items()}
    else:
        spec = OffsetSpec.for_timestamp(int(since.timestamp() * 1000))
        found = list_offsets(admin, parts, spec, timeout=timeout)
        starts = {p: (o if o >= 0 else marks[p][1]) for p, o in found.items()}
    todo = {p: marks[p][1] for p in parts if starts[p] < marks[p][1]}
    if not todo:
        return
    yield from _read(conn, topic, {p: starts[p] for p in todo}, todo, timeout)


def _read(
    conn: Connection,
    topic: str,
    starts: dict[Partition, int],
    ends: dict[Partition, int],
    timeout: float,
) -> Iterator[Message]:
    cons = consumer(conn, f"{conn.username}.ops", quiet=True, **{"enable.partition.eof": True})
    try:
        cons.assign([TopicPartition(t, p, offset) for (t, p), offset in starts.items()])
        deadline = time.monotonic() + timeout
        while ends:
            if time.monotonic() > deadline:
                raise OpsError(f"reading {topic} took longer than {timeout:.0f}s", retriable=True)
            for msg in cons.consume(1000, 0.5):
                key = (topic, msg.partition() or 0)
                error = msg.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        ends.pop(key, None)
                        continue
                    raise OpsError(f"cannot read {topic}: {error.str()}", retriable=True)
                end = ends.get(key)
                offset = msg.offset() or 0
                if end is None or offset >= end:
                    ends.pop(key, None)
                    continue
                yield msg
                if offset + 1 >= end:
                    ends.pop(key, None)
    finally:
        cons.close()
