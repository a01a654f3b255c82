"""The platform's topics and their settings, in one place, created idempotently.

Every topic that carries alerts is keyed by corridor (``ORIGIN>DEST``). The directory
topic is compacted (one live record per entry key); the others are deleted by time.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from corridor.exceptions import CorridorError

INBOUND = "corridor.alerts.inbound"
ACKS_INBOUND = "corridor.acks.inbound"
DLQ = "corridor.dlq"
AUDIT = "corridor.audit"
LINKS = "corridor.links"
DIRECTORY = "corridor.directory"
DELIVERY_PREFIX = "corridor.deliver."


def delivery_topic(agency_id: str) -> str:
    return f"{DELIVERY_PREFIX}{agency_id}"


class TopicError(CorridorError):
    """A topic could not be created or checked."""


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


def platform_topics(*, partitions: int = 6) -> list[TopicSpec]:
    """The topics every deployment has, whatever its agencies."""
    week = str(7 * 24 * 3600 * 1000)
    return [
        TopicSpec(INBOUND, partitions, {"retention.ms": week}),
        TopicSpec(ACKS_INBOUND, partitions, {"retention.ms": week}),
        TopicSpec(DLQ, partitions, {"retention.ms": str(30 * 24 * 3600 * 1000)}),
        TopicSpec(AUDIT, partitions, {"retention.ms": str(365 * 24 * 3600 * 1000)}),
        TopicSpec(LINKS, partitions, {"retention.ms": week}),
        TopicSpec(DIRECTORY, 1, {"cleanup.policy": "compact", "min.compaction.lag.ms": "0"}),
    ]


def ensure_topics(
    admin: AdminClient,
    specs: Iterable[TopicSpec],
    *,
    replication_factor: int,
    min_insync_replicas: int,
    timeout: float = 30.0,
) -> list[str]:
    """Create the topics that do not exist yet; returns the names it created."""
    new = [
        NewTopic(
            spec.name,
            num_partitions=spec.partitions,
            replication_factor=replication_factor,
            config={"min.insync.replicas": str(min_insync_replicas), **spec.config},
        )
        for spec in specs
    ]
    if not new:
        return []
    created: list[str] = []
    for name, future in admin.create_topics(new, request_timeout=timeout).items():
        try:
            future.result(timeout=timeout)
            created.append(name)
        except KafkaException as exc:
            error = exc.args[0]
            if isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                continue
            raise TopicError(f"could not create topic {name}: {error}") from exc
    wait_for_leaders(admin, created, timeout=timeout)
    return created


def wait_for_leaders(admin: AdminClient, topics: Iterable[str], *, timeout: float = 30.0) -> None:
    """Block until every partition of ``topics`` has a leader.

    A topic is usable a moment after CreateTopics returns: clients that write or read it
    sooner get NOT_LEADER_FOR_PARTITION, so creation waits for leaders.
    """
    pending = set(topics)
    deadline = time.monotonic() + timeout
    while pending:
        meta = admin.list_topics(timeout=max(1.0, deadline - time.monotonic()))
        for name in list(pending):
            info = meta.topics.get(name)
            if (
                info is not None
                and info.error is None
                and info.partitions
                and all(p.leader >= 0 for p in info.partitions.values())
            ):
                pending.discard(name)
        if not pending:
            return
        if time.monotonic() > deadline:
            raise TopicError(
                f"topics without a leader after {timeout:.0f}s: {', '.join(sorted(pending))}"
            )
        time.sleep(0.1)
