"""faust tables whose changelog records go through our own producer, once per second.

faust writes a changelog record for every table write through its own producer
(aiokafka, in Python, on the event loop); in a worker's profile that path cost more
than the write it records. :class:`OutputChangelogTable` hands the record to the
:class:`KafkaSink` instead: the same topic, the same partition (the event's, as faust
picks it), JSON that faust's serializer reads back on recovery.

A key written many times within a second gets one record, its newest value
(:meth:`OutputChangelogTable.write_changelog`, called by a timer and by
:class:`processors.commit_barrier.CommitBarrier` when a commit starts). A ``tokens``
entry lists up to 64 sightings and changes on every sighting of its token: written
whole each time, a common name's entries were most of the bytes a worker wrote (8.5 KB
per alert against 0.7 KB for its delivery). A committed offset still never runs ahead
of the table state its events wrote: every change made before the offsets are picked
is on the brokers before they are sent. A crash loses only changes whose events were not
committed either, and those events are processed again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import faust
import orjson

from processors.kafka_sink import KafkaSink

__all__ = ["ChangelogBuffer", "OutputChangelogTable", "changelog_bytes", "changelog_key"]

#: A deletion waiting in a :class:`ChangelogBuffer` (None is a value a table may hold).
_DELETED = object()


def changelog_key(key: Any) -> bytes:
    """A key as faust's ``json`` serializer has always written it (non-ASCII escaped):
    compaction keeps the newest record per key *bytes*, so a key must never change
    spelling, or an older record would outlive a newer one (or a deletion)."""
    return json.dumps(key, separators=(",", ":")).encode()


def changelog_bytes(value: Any) -> bytes:
    """A value as JSON faust reads back (orjson, which faust itself uses when installed:
    several times faster than the standard library's)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


class ChangelogBuffer:
    """The newest change of every (partition, key) since the last :meth:`drain`.

    The value is kept as it was set, not read back from the table when drained: the
    table may have dropped a revoked partition's entries by then, and a drain must not
    turn them into deletions.
    """

    def __init__(self, encode_value: Callable[[Any], bytes]) -> None:
        self._encode_value = encode_value
        self._changes: dict[tuple[int, Any], Any] = {}

    def __len__(self) -> int:
        return len(self._changes)

    def set(self, partition: int, key: Any, value: Any) -> None:
        self._changes[(partition, key)] = value

    def delete(self, partition: int, key: Any) -> None:
        self._changes[(partition, key)] = _DELETED

    def drain(self) -> list[tuple[int, bytes, bytes | None]]:
        """(partition, key, value or None for a deletion) records, and forget them."""
        changes, self._changes = self._changes, {}
        encode = self._encode_value
        return [
            (partition, changelog_key(key), None if value is _DELETED else encode(value))
            for (partition, key), value in changes.items()
        ]


class OutputChangelogTable(faust.Table):  # type: ignore[type-arg]
    """A faust table whose changelog is written by the output producer at each commit."""

    def __init__(
        self,
        *args: Any,
        output: KafkaSink | None = None,
        encode_value: Callable[[Any], bytes] = changelog_bytes,
        restore_value: Callable[[Any], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """``restore_value`` turns a value read back from the changelog (plain JSON:
        lists, never tuples) into the form the table keeps in memory."""
        super().__init__(*args, **kwargs)
        self._output = output
        self._pending = ChangelogBuffer(encode_value)
        self._restore_value = restore_value
        self._changelog_name: str | None = None

    def _to_value(self, v: Any) -> Any:
        """faust's hook for each value a restore reads."""
        return v if self._restore_value is None else self._restore_value(v)

    @property
    def changelog_name(self) -> str:
        if self._changelog_name is None:
            self._changelog_name = self.changelog_topic.get_topic_name()
        return self._changelog_name

    def _output_partition(self, key: Any) -> int | None:
        """The event's partition, or None where faust's own path must write."""
        if self._output is None or self.use_partitioner:  # e.g. a copy faust made
            return None
        return self.partition_for_key(key)

    def on_key_set(self, key: Any, value: Any) -> None:
        partition = self._output_partition(key)
        if partition is None:
            super().on_key_set(key, value)
            return
        self._pending.set(partition, key, value)
        self._sensor_on_set(self, key, value)

    def on_key_del(self, key: Any) -> None:
        partition = self._output_partition(key)
        if partition is None:
            super().on_key_del(key)
            return
        self._pending.delete(partition, key)
        self._sensor_on_del(self, key)

    def write_changelog(self) -> int:
        """Hand the newest change of every key since the last call to the output
        producer; returns how many records that was. Call it before flushing the
        producer and committing."""
        if self._output is None or not len(self._pending):
            return 0
        topic, send = self.changelog_name, self._output.send_to
        records = self._pending.drain()
        for partition, key, value in records:
            send(topic, partition, key, value)
        return len(records)
