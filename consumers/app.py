"""Builds an agency's consumer from configuration: the only place its parts meet.

Everything an agency needs comes from its own folder of the Corridor home: its SCRAM
principal, its private keys, the directory authority's public key. The consumer group
is ``<AGENCY>.consumer`` by default (the broker only lets an agency use groups named
``<AGENCY>.*``). Local files live in ``<home>/agencies/<AGENCY>/``: ``inbox.sqlite``
(the default sink) and ``consumer/`` (receipts, quarantine, the http retry store).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from consumers.acknowledger import AckSender
from consumers.exceptions import ConsumerError
from consumers.handling import DeliveryHandler
from consumers.keyring import Keyring
from consumers.sinks import open_sink, parse_sink_spec
from consumers.sinks.base import Sink
from consumers.state import ConsumerState
from consumers.subscriber import (
    Confirmed,
    MetricsObserver,
    Subscriber,
    SubscriberStats,
    commit_outcome,
)
from corridor.codec import Codec
from corridor.config import Settings
from corridor.directory_topic import DirectoryWatcher
from corridor.domain import AGENCY_ID, Directory
from corridor.kafka_clients import consumer, producer
from corridor.keys import AgencyKeys, signing_key_published
from corridor.logs import log_event
from corridor.metrics import ConsumerMetrics
from corridor.schema_registry import codec_for
from corridor.topics import delivery_topic
from corridor.workspace import Workspace

LOG = logging.getLogger("corridor.consumer")

__all__ = [
    "INBOX_FILE",
    "STATE_FILE",
    "ConsumerApp",
    "ConsumerOptions",
    "ack_producer_config",
    "build_consumer",
    "consumer_config",
    "default_inbox",
    "default_state_dir",
]

INBOX_FILE = "inbox.sqlite"
STATE_FILE = "consumer-state.sqlite"


def default_inbox(workspace: Workspace, agency_id: str) -> Path:
    return workspace.agency_dir(agency_id) / INBOX_FILE


def default_state_dir(workspace: Workspace, agency_id: str) -> Path:
    return workspace.agency_dir(agency_id) / "consumer"


@dataclass(frozen=True, slots=True)
class ConsumerOptions:
    """What ``corridor consume`` takes on its command line."""

    agency_id: str
    sink: str = "sqlite"
    from_beginning: bool = False
    #: Defaults to ``<AGENCY>.consumer``; must start with ``<AGENCY>.``.
    group_id: str | None = None
    state_dir: Path | None = None
    passphrase: bytes | None = field(default=None, repr=False)
    batch_size: int = 500
    #: Static group membership: a restart under the same id takes its partitions back
    #: at once instead of waiting for the broker to time the old session out.
    instance_id: str | None = None


def consumer_config(settings: Settings, options: ConsumerOptions) -> dict[str, Any]:
    """librdkafka settings of the subscriber; manual commits cannot be overridden."""
    config: dict[str, Any] = settings.consumer_kafka()
    if options.instance_id:
        config["group.instance.id"] = options.instance_id
    config.update(
        {
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "on_commit": commit_outcome,
        }
    )
    return config


def _warn_if_unpublished(directory: Directory, keys: AgencyKeys) -> None:
    """Alerts still arrive with a signing key the directory does not publish, but every
    acknowledgement would be refused by the processors: say so at once."""
    key = keys.signing
    if not signing_key_published(directory, keys.agency_id, key):
        log_event(
            LOG,
            "signing_key_not_published",
            level=logging.WARNING,
            agency=keys.agency_id,
            key_id=key.key_id,
            detail="the processors will refuse this agency's acknowledgements until the "
            "directory publishes this key: apply the directory with it",
        )


def ack_producer_config(settings: Settings) -> dict[str, Any]:
    """The acknowledgement producer: keyed like every other writer (``murmur2_random``,
    the Java client's partitioner), idempotent, all in-sync replicas."""
    return {
        "partitioner": "murmur2_random",
        **settings.producer_kafka(),
        "enable.idempotence": True,
        "acks": "all",
    }


@dataclass
class ConsumerApp:
    """A built consumer: call :meth:`run` (blocks until ``stop``), then it cleans up."""

    subscriber: Subscriber
    watcher: DirectoryWatcher
    sink: Sink
    state: ConsumerState
    stop: threading.Event
    metrics: ConsumerMetrics

    def run(self) -> SubscriberStats:
        try:
            return self.subscriber.run()
        finally:
            self.close()

    def close(self) -> None:
        self.watcher.stop()
        self.sink.close()
        self.state.close()


def build_consumer(
    settings: Settings,
    workspace: Workspace,
    options: ConsumerOptions,
    *,
    registry: CollectorRegistry | None = None,
    stop: threading.Event | None = None,
    codec_factory: Callable[[], Codec] | None = None,
    on_confirmed: Confirmed | None = None,
    metrics: ConsumerMetrics | None = None,
) -> ConsumerApp:
    """Connect as the agency, load its keys and the directory, open the sink.

    Several consumers in one process (the demo) share one ``metrics`` object: the
    agency is a label, and a registry takes each metric name once.
    """
    agency_id = options.agency_id
    if not AGENCY_ID.fullmatch(agency_id):
        raise ConsumerError(f"{agency_id!r} is not an agency id")
    group = options.group_id or f"{agency_id}.consumer"
    if not group.startswith(f"{agency_id}."):
        raise ConsumerError(f"the consumer group must start with {agency_id}. (got {group})")
    spec = parse_sink_spec(options.sink)
    stop = stop if stop is not None else threading.Event()
    if metrics is None:
        metrics = ConsumerMetrics.create(registry if registry is not None else CollectorRegistry())
    conn = workspace.agency_connection(agency_id)
    keys = workspace.agency_keys(agency_id, options.passphrase)
    codec = codec_factory() if codec_factory is not None else codec_for(conn)
    state_dir = options.state_dir or default_state_dir(workspace, agency_id)

    watcher = DirectoryWatcher(conn, workspace.authority_public_key()).start()
    try:
        sink = open_sink(
            spec,
            default_inbox=default_inbox(workspace, agency_id),
            state_dir=state_dir,
            settings=settings.consumer,
            stop=stop,
            observer=MetricsObserver(metrics, agency_id, spec.kind),
        )
    except BaseException:
        watcher.stop()
        raise
    state = ConsumerState(state_dir / STATE_FILE)
    keyring = Keyring(keys, reload=lambda: workspace.agency_keys(agency_id, options.passphrase))
    _warn_if_unpublished(watcher.current(), keys)
    acks = AckSender(
        producer(conn, **ack_producer_config(settings)),
        codec=codec,
        agency_id=agency_id,
        signing_key=keyring.signing_key,
        directory=watcher.current,
        metrics=metrics,
    )
    handler = DeliveryHandler(
        agency_id=agency_id, keys=keyring, codec=codec, directory=watcher.current
    )
    subscriber = Subscriber(
        consumer=consumer(conn, group, **consumer_config(settings, options)),
        topic=delivery_topic(agency_id),
        agency_id=agency_id,
        handler=handler,
        sink=sink,
        acks=acks,
        state=state,
        metrics=metrics,
        stop=stop,
        batch_size=options.batch_size,
        from_beginning=options.from_beginning,
        on_confirmed=on_confirmed,
    )
    return ConsumerApp(subscriber, watcher, sink, state, stop, metrics)
