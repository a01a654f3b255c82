"""faust tables whose changelog records go through the output producer.

faust writes a changelog record for every table write through its own producer
(aiokafka, in Python, on the event loop); in a worker's profile that path cost more
than the write it records. :class:`OutputChangelogTable` hands the same record to the
:class:`KafkaSink` instead: the same topic, the same partition (the event's, as faust
picks it), JSON that faust's serializer reads back on recovery.
The sink is flushed before every commit (:class:`processors.app.FlushBeforeCommit`),
so a committed offset never runs ahead of the table state its events wrote, as with
faust's own producer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import faust
import orjson

from processors.kafka_sink import KafkaSink

__all__ = ["OutputChangelogTable", "changelog_bytes", "changelog_key"]


def changelog_key(key: Any) -> bytes:
    """A key as faust's ``json`` serializer has always written it (non-ASCII escaped):
    compaction keeps the newest record per key *bytes*, so a key must never change
    spelling, or an older record would outlive a newer one (or a deletion)."""
    return json.dumps(key, separators=(",", ":")).encode()


def changelog_bytes(value: Any) -> bytes:
    """A value as JSON faust reads back (orjson, which faust itself uses when installed:
    several times faster than the standard library's)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


class OutputChangelogTable(faust.Table):  # type: ignore[type-arg]
    """A faust table whose changelog is written by the output producer."""

    def __init__(
        self,
        *args: Any,
        output: KafkaSink | None = None,
        encode_value: Callable[[Any], bytes] = changelog_bytes,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._output = output
        self._encode_value = encode_value
        self._changelog_name: str | None = None

    def _changelog(self) -> str:
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
        if partition is None or self._output is None:
            super().on_key_set(key, value)
            return
        topic = self._changelog()
        self._output.send_to(topic, partition, changelog_key(key), self._encode_value(value))
        self._sensor_on_set(self, key, value)

    def on_key_del(self, key: Any) -> None:
        partition = self._output_partition(key)
        if partition is None or self._output is None:
            super().on_key_del(key)
            return
        self._output.send_to(self._changelog(), partition, changelog_key(key), None)
        self._sensor_on_del(self, key)
