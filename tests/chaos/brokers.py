"""Which broker leads a partition, and waiting for leadership and replicas to recover."""

from __future__ import annotations

import time

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from corridor.connection import Connection
from corridor.kafka_clients import admin_client


class Brokers:
    """Metadata queries on one cluster, retried while a broker is down."""

    def __init__(self, conn: Connection) -> None:
        self._admin: AdminClient = admin_client(conn, quiet=True)

    def leader(self, topic: str, partition: int) -> int:
        deadline = time.monotonic() + 60
        while True:
            try:
                meta = self._admin.list_topics(topic, timeout=10)
                leader = int(meta.topics[topic].partitions[partition].leader)
                if leader >= 0:
                    return leader
            except KafkaException:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic}[{partition}] has had no leader for 60 s")
            time.sleep(0.5)

    def wait_leader_moved(self, topic: str, partition: int, away_from: int) -> int:
        """Until another broker leads the partition (the victim's replica is fenced)."""
        deadline = time.monotonic() + 180
        while True:
            leader = self.leader(topic, partition)
            if leader != away_from:
                return leader
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic}[{partition}] stayed on node {away_from}")
            time.sleep(0.5)

    def under_replicated(self) -> list[str]:
        """Partitions of every topic whose in-sync replicas are fewer than their replicas."""
        meta = self._admin.list_topics(timeout=10)
        return [
            f"{name}[{p.id}]"
            for name, topic in meta.topics.items()
            for p in topic.partitions.values()
            if len(p.isrs) < len(p.replicas)
        ]

    def wait_fully_replicated(self, timeout: float = 300.0) -> None:
        """Until every replica is back in sync, so killing another broker keeps min ISR."""
        deadline = time.monotonic() + timeout
        lagging: list[str] = ["(not asked yet)"]
        while time.monotonic() < deadline:
            try:
                lagging = self.under_replicated()
            except KafkaException:
                lagging = ["(metadata unavailable)"]
            if not lagging:
                return
            time.sleep(1.0)
        raise AssertionError(f"still under-replicated after {timeout:.0f} s: {lagging[:5]}")
