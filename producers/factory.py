"""Builds a publisher from settings: credentials, keys, directory, codec and producer.

Everything an agency needs sits in its Corridor home (see corridor.workspace). The
cluster is probed first, with a bounded wait, so an unreachable or misconfigured broker
is reported in one sentence within ``producer.connect_timeout_seconds`` instead of
leaving the caller waiting on retries. The local signing key is checked against the
directory, because alerts signed with a key the directory does not publish would all
be refused by the processors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer
from prometheus_client import CollectorRegistry

from corridor.config import Settings
from corridor.connection import Connection
from corridor.directory_topic import DirectoryWatcher, read_directory
from corridor.domain import Directory
from corridor.envelope import REUSED_WRAP_SUITE, KeyReuse, Sealer, SealError, SigningKey
from corridor.exceptions import ConfigError
from corridor.kafka_clients import admin_client, producer
from corridor.keys import signing_key_published
from corridor.logs import log_event
from corridor.metrics import ProducerMetrics
from corridor.schema_registry import codec_for
from corridor.topics import INBOUND
from corridor.workspace import Workspace
from producers.exceptions import BrokerUnreachableError, ProducerError
from producers.prepare import Preparer
from producers.publisher import Publisher
from producers.rules import Limits

__all__ = [
    "StaticDirectory",
    "alert_sealer",
    "open_publisher",
    "probe_cluster",
    "producer_config",
]

LOG = logging.getLogger("corridor.producers")


class StaticDirectory:
    """A directory that does not change (dry runs, tests, benchmarks)."""

    def __init__(self, directory: Directory) -> None:
        self._directory = directory

    def current(self) -> Directory:
        return self._directory


def alert_sealer(settings: Settings, *, on_new_wrap: Callable[[], object] | None = None) -> Sealer:
    """The sealer of a publisher: wrapping keys reused as ``[producer]`` allows.

    ``key_reuse_alerts = 1`` keeps the one-wrap-per-alert format (``CORRIDOR-1``) for
    networks whose consumers do not read ``CORRIDOR-2`` yet.
    """
    alerts, seconds = settings.producer.key_reuse_alerts, settings.producer.key_reuse_seconds
    try:
        reuse = KeyReuse(max_alerts=alerts, max_age=seconds)
    except SealError as exc:
        raise ConfigError(
            f"[producer] key_reuse_alerts ({alerts}) must be at least 1 and "
            f"key_reuse_seconds ({seconds}) positive"
        ) from exc
    if reuse.max_alerts == 1:
        return Sealer()
    return Sealer(suite=REUSED_WRAP_SUITE, key_reuse=reuse, on_new_wrap=on_new_wrap)


def producer_config(settings: Settings) -> dict[str, Any]:
    """librdkafka settings of the publisher; the safety-relevant ones cannot be overridden.

    ``murmur2_random`` is the Java client's and aiokafka's partitioner, so one corridor
    key maps to the same partition number whichever client wrote it.
    """
    return {
        "partitioner": "murmur2_random",
        **settings.producer_kafka(),
        "message.timeout.ms": settings.producer.delivery_timeout_ms,
        "enable.idempotence": True,
        "acks": "all",
    }


def probe_cluster(conn: Connection, timeout: float) -> None:
    """Fail within ``timeout`` seconds, in one sentence, unless the cluster answers and
    shows this principal the inbound topic."""
    where = conn.bootstrap_servers
    try:
        metadata = admin_client(conn, quiet=True).list_topics(INBOUND, timeout=timeout)
    except KafkaException as exc:
        error = exc.args[0]
        detail = error.str() if hasattr(error, "str") else str(error)
        raise BrokerUnreachableError(
            f"cannot reach the Kafka cluster at {where} as {conn.username} within "
            f"{timeout:g}s ({detail})"
        ) from exc
    topic = metadata.topics.get(INBOUND)
    error = None if topic is None else topic.error
    if error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED:
        raise ProducerError(
            f"the cluster at {where} refuses {conn.username} access to {INBOUND}: the agency "
            "is not active in the directory, or its access was never provisioned "
            "('corridor directory apply')"
        )
    if topic is None or error is not None:
        reason = error.str() if error is not None else "not listed"
        raise ProducerError(
            f"the cluster at {where} has no usable {INBOUND} ({reason}): run "
            "'corridor directory apply' to create the topics"
        )


def _check_signing_key(directory: Directory, agency_id: str, key: SigningKey) -> None:
    agency = directory.agencies.get(agency_id)
    if agency is None:
        raise ProducerError(f"agency {agency_id} is not in the directory")
    if not signing_key_published(directory, agency_id, key):
        raise ProducerError(
            f"the local signing key {key.key_id} of {agency_id} is not one the directory "
            "publishes as valid now: the processors would refuse every alert; apply the "
            "directory with this key first"
        )


def open_publisher(
    settings: Settings,
    agency_id: str,
    *,
    registry: CollectorRegistry | None = None,
    metrics: ProducerMetrics | None = None,
    dry_run: bool = False,
    passphrase: bytes | None = None,
) -> Publisher:
    """A publisher acting as ``agency_id``, from the Corridor home in ``settings``.

    With ``dry_run`` nothing is ever produced: the directory is read once and alerts are
    checked and sealed only. ``registry`` receives the producer metrics (a private
    registry is used when None); pass ``metrics`` instead when several publishers of one
    process report to one endpoint (a registry takes each metric name only once).
    """
    workspace = Workspace(settings.home)
    conn = workspace.agency_connection(agency_id)
    keys = workspace.agency_keys(agency_id, passphrase)
    timeout = settings.producer.connect_timeout_seconds
    probe_cluster(conn, timeout)
    authority = workspace.authority_public_key()
    codec = codec_for(conn)
    if metrics is None:
        metrics = ProducerMetrics.create(registry or CollectorRegistry())
    limits = Limits(
        max_clock_skew=timedelta(seconds=settings.processor.max_clock_skew_seconds),
        max_age=timedelta(seconds=settings.processor.max_age_seconds),
    )
    preparer = Preparer(
        issuer=agency_id,
        signing_key=keys.signing,
        linkage_keys=workspace.linkage_keys(),
        codec=codec,
        max_body_bytes=settings.producer.max_body_bytes,
        limits=limits,
        sealer=alert_sealer(settings, on_new_wrap=metrics.wrapping_keys.inc),
    )
    delivery_timeout = settings.producer.delivery_timeout_ms / 1000
    if dry_run:
        static = StaticDirectory(read_directory(conn, authority, timeout=timeout))
        _check_signing_key(static.current(), agency_id, keys.signing)
        return Publisher(
            preparer=preparer,
            directory=static,
            producer=None,
            metrics=metrics,
            delivery_timeout=delivery_timeout,
        )
    watcher = DirectoryWatcher(conn, authority).start(wait=timeout)
    try:
        _check_signing_key(watcher.current(), agency_id, keys.signing)
        kafka: Producer = producer(conn, **producer_config(settings))
    except BaseException:
        watcher.stop()
        raise
    log_event(LOG, "publisher_opened", agency=agency_id, topic=INBOUND)
    return Publisher(
        preparer=preparer,
        directory=watcher,
        producer=kafka,
        metrics=metrics,
        delivery_timeout=delivery_timeout,
        on_close=watcher.stop,
    )
