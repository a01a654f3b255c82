"""Everything a processor worker needs to start, gathered from settings and the home.

The worker learns the partition count of the inbound topics from the cluster, not
from the settings: its tables and internal topics must match the topics that exist,
and acknowledgements are routed by the worker holding their alert only if both inbound
topics have the same partition count, so a mismatch stops the worker at start.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

from corridor.config import Settings
from corridor.connection import Connection
from corridor.kafka_clients import admin_client
from corridor.logs import log_event
from corridor.provisioning import replication_for
from corridor.topics import ACKS_INBOUND, INBOUND, TopicError, TopicSpec, ensure_topics
from corridor.workspace import Workspace
from processors.errors import ProcessorError

__all__ = [
    "ALERTS_TABLE",
    "CHANGELOG_TOPIC_CONFIG",
    "TABLES",
    "TOKENS_TABLE",
    "ProcessorRuntime",
    "Topology",
    "bound_changelog_segments",
    "changelog_topic",
    "commands_topic",
    "discover_topology",
    "ensure_internal_topics",
    "sightings_topic",
]


LOG = logging.getLogger("corridor.processor")

#: The worker's tables; each is kept in a compacted changelog topic.
ALERTS_TABLE, TOKENS_TABLE = "alerts", "tokens"
TABLES = (ALERTS_TABLE, TOKENS_TABLE)
#: A worker restores its tables by reading their changelogs whole, and the brokers
#: compact only closed segments: with Kafka's defaults (1 GiB or 7 days) a changelog
#: holds every value written in the last week, many times the state (a token's value is
#: written again with each of its sightings). Segments closed after ten minutes or
#: 128 MiB let the log cleaner keep a changelog near the size of the table.
CHANGELOG_TOPIC_CONFIG = {"segment.ms": str(10 * 60 * 1000), "segment.bytes": str(128 << 20)}


@dataclass(frozen=True, slots=True)
class Topology:
    """Partitions of the inbound topics and replication for the worker's own topics."""

    partitions: int
    replicas: int
    min_insync_replicas: int


@dataclass(frozen=True, slots=True)
class ProcessorRuntime:
    settings: Settings
    connection: Connection
    authority_public_key: bytes
    processor_id: str
    metrics_port: int
    datadir: Path

    @classmethod
    def from_workspace(
        cls,
        settings: Settings,
        workspace: Workspace,
        *,
        processor_id: str | None = None,
        metrics_port: int | None = None,
    ) -> ProcessorRuntime:
        app_id = settings.processor.app_id
        return cls(
            settings=settings,
            connection=workspace.processor_connection(),
            authority_public_key=workspace.authority_public_key(),
            processor_id=processor_id or f"{app_id}@{socket.gethostname()}:{os.getpid()}",
            metrics_port=settings.processor.metrics_port if metrics_port is None else metrics_port,
            datadir=(workspace.home / "processors").resolve(),
        )


def discover_topology(conn: Connection, settings: Settings, timeout: float = 15.0) -> Topology:
    """Read the inbound topics' partition counts and choose the replication factor."""
    admin = admin_client(conn, quiet=True)
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise ProcessorError(f"cannot reach the cluster: {exc}", retriable=True) from exc
    counts = {}
    for topic in (INBOUND, ACKS_INBOUND):
        found = metadata.topics.get(topic)
        if found is None or found.error is not None or not found.partitions:
            raise ProcessorError(
                f"topic {topic} is missing or not readable: run 'corridor directory apply'"
            )
        counts[topic] = len(found.partitions)
    if counts[INBOUND] != counts[ACKS_INBOUND]:
        raise ProcessorError(
            f"{ACKS_INBOUND} has {counts[ACKS_INBOUND]} partitions but {INBOUND} has "
            f"{counts[INBOUND]}: they must match so acknowledgements meet their alerts"
        )
    replicas, min_isr = replication_for(admin, settings)
    return Topology(counts[INBOUND], replicas, min_isr)


def sightings_topic(app_id: str) -> str:
    """Linkage-token sightings, re-keyed by token (see :mod:`processors.correlation`)."""
    return f"{app_id}-sightings"


def commands_topic(app_id: str) -> str:
    """Sweep commands, sent to the partition they concern (see :mod:`processors.sweeper`)."""
    return f"{app_id}-commands"


def changelog_topic(app_id: str, table: str) -> str:
    """The changelog faust names for ``table`` of application ``app_id``."""
    return f"{app_id}-{table}-changelog"


def ensure_internal_topics(conn: Connection, app_id: str, topology: Topology) -> None:
    """Create the worker's internal topics before faust subscribes to them.

    faust declares an agent's topic while the consumer may already be subscribing; a
    topic missing from that first metadata is ignored for good, and its agent never
    receives anything. Creating them first removes the race.
    """
    specs = [
        TopicSpec(name, topology.partitions, {"retention.ms": str(7 * 24 * 3600 * 1000)})
        for name in (sightings_topic(app_id), commands_topic(app_id))
    ]
    admin = admin_client(conn, quiet=True)
    try:
        ensure_topics(
            admin,
            specs,
            replication_factor=topology.replicas,
            min_insync_replicas=topology.min_insync_replicas,
        )
    except TopicError as exc:
        raise ProcessorError(f"cannot create the processors' internal topics: {exc}") from exc
    bound_changelog_segments(admin, [changelog_topic(app_id, table) for table in TABLES])


def bound_changelog_segments(admin: AdminClient, topics: list[str], timeout: float = 30.0) -> None:
    """Give changelogs that already exist the segment limits of
    :data:`CHANGELOG_TOPIC_CONFIG` (faust gives them to those it creates, and never
    changes a topic it finds). A changelog not created yet is left to faust. A cluster
    that refuses the change gets a warning, not a worker that will not start: without
    the limits only restores take longer."""
    entries = [
        ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET)
        for name, value in CHANGELOG_TOPIC_CONFIG.items()
    ]
    resources = [ConfigResource("TOPIC", topic, incremental_configs=entries) for topic in topics]
    futures = admin.incremental_alter_configs(resources, request_timeout=timeout)
    for resource, future in futures.items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            error = exc.args[0]
            if isinstance(error, KafkaError) and error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                continue
            _unchanged(resource.name, error.name() if isinstance(error, KafkaError) else str(error))
        except TimeoutError:
            _unchanged(resource.name, "timed out")


def _unchanged(topic: str, error: str) -> None:
    log_event(
        LOG,
        "changelog_segments_unchanged",
        level=logging.WARNING,
        topic=topic,
        error=error,
        hint="restores read the changelog's uncompacted segments; see decision 24",
    )
