"""What every stage of the benchmark shares: the alerts, where they go, and the clocks.

One issuer (AT-BKA of the sample network) publishes alerts addressed to one or three
Romanian agencies. Corridor keys are chosen so that the alerts spread evenly over every
inbound partition: two processor workers then share the load evenly whichever
partitions each one is given, and the scale figure measures the workers, not the keys.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka.partitioner import murmur2
from confluent_kafka import TopicPartition

from corridor.connection import Connection
from corridor.countries import COUNTRY_CODES
from corridor.kafka_clients import consumer
from producers.samples import sample_alerts

__all__ = [
    "CONSUMER_AGENCY",
    "ISSUER",
    "RECIPIENTS",
    "CpuClock",
    "alerts",
    "balanced_routes",
    "commit_end",
    "dirty_megabytes",
    "end_offsets",
    "load_average",
    "partition_of",
    "proc_cpu_seconds",
    "write_back",
]

#: The issuer of every benchmark alert; its country (AT) is in every corridor.
ISSUER = "AT-BKA"
#: Addressees, first the one the consumer stage reads as: the sample network's
#: agreements let AT-BKA's alerts of the sample kind reach all three.
RECIPIENTS: tuple[str, ...] = ("RO-IGPR", "RO-ANITP", "RO-DGASPC-B")
CONSUMER_AGENCY = RECIPIENTS[0]
_NETWORK_COUNTRIES = ("RO", "BG", "MD", "UA", "DE", "IT", "HU")


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2, as every Corridor writer
    uses) picks for ``key``."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


def balanced_routes(partitions: int, recipients: int) -> dict[str, tuple[str, ...]]:
    """One corridor key per inbound partition, each addressed to ``recipients`` agencies.

    Keys are ``X>AT`` or ``AT>X`` (the issuer's country must be in the corridor), the
    sample network's countries first; cycling through them puts the same number of
    alerts on every partition.
    """
    others = list(_NETWORK_COUNTRIES) + sorted(set(COUNTRY_CODES) - {"AT", *_NETWORK_COUNTRIES})
    chosen: dict[int, str] = {}
    for country in others:
        for key in (f"{country}>AT", f"AT>{country}"):
            chosen.setdefault(partition_of(key.encode(), partitions), key)
        if len(chosen) == partitions:
            break
    addressees = RECIPIENTS[:recipients]
    return {chosen[p]: addressees for p in sorted(chosen)}


def alerts(
    count: int, *, tag: str, partitions: int, recipients: int = 1
) -> Iterator[dict[str, Any]]:
    """``count`` sample alerts in the publishing input format, spread over partitions."""
    routes = balanced_routes(partitions, recipients)
    return sample_alerts(count, key_prefix=tag, recipients=recipients, routes=routes)


def end_offsets(conn: Connection, topics: Sequence[str]) -> list[TopicPartition]:
    """The current end of every partition of ``topics``."""
    cons = consumer(conn, "corridor-bench-offsets", quiet=True)
    try:
        offsets = []
        for topic in topics:
            for p in sorted(cons.list_topics(topic, timeout=10).topics[topic].partitions):
                _, high = cons.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                offsets.append(TopicPartition(topic, p, high))
        return offsets
    finally:
        cons.close()


def commit_end(
    conn: Connection, group: str, topics: Sequence[str], at: Sequence[TopicPartition] = ()
) -> None:
    """Commit ``at`` (default: the current end of ``topics``) for ``group``, so that it
    starts there instead of at the beginning of the topics."""
    offsets = list(at) or end_offsets(conn, topics)
    cons = consumer(conn, group, quiet=True)
    try:
        cons.commit(offsets=offsets, asynchronous=False)
    finally:
        cons.close()


def proc_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux ``/proc``), 0 if unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> float:
    """The one-minute load average of the machine (how busy it was while measuring)."""
    return round(os.getloadavg()[0], 2)


def dirty_megabytes() -> float | None:
    """Data written and not yet on disk, machine-wide (``Dirty`` in /proc/meminfo)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("Dirty:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        return None
    return None


def write_back() -> dict[str, float | None]:
    """Put what earlier stages wrote on disk before the next one is measured.

    A stage that writes hundreds of megabytes (plain Kafka's produce, the processor
    stages) leaves them in the page cache; the kernel writes them back later, during
    whatever runs then, and a broker appending meanwhile was measured stalling for
    hundreds of milliseconds. ``sync`` makes that cost land between stages.
    """
    dirty, started = dirty_megabytes(), time.perf_counter()
    os.sync()
    return {"dirty_mb": dirty, "sync_s": round(time.perf_counter() - started, 2)}


@dataclass(slots=True)
class CpuClock:
    """Wall time and this process's CPU time (all its threads) between two points."""

    wall: float = 0.0
    cpu: float = 0.0

    def start(self) -> CpuClock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def stop(self) -> tuple[float, float]:
        """(wall seconds, CPU seconds) since :meth:`start`."""
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def per_second(count: float, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


def micros(seconds: float, count: float) -> float:
    return round(seconds / count * 1e6, 1) if count else 0.0


def rounded(values: Mapping[str, float], digits: int = 1) -> dict[str, float]:
    return {name: round(value, digits) for name, value in values.items()}
