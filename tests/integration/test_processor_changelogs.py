"""A worker's changelogs close their segments early, so the brokers can compact them.

A worker restores its tables by reading their changelogs whole; with Kafka's default
segments (1 GiB or 7 days) nothing of the last week is compacted, and the restore
reads every value written since. Workers create the changelogs with short segments
and give them to changelogs created before.
"""

from __future__ import annotations

import logging
import time
import uuid

import pytest
from confluent_kafka.admin import ConfigResource, NewTopic

from corridor.connection import Connection
from corridor.kafka_clients import admin_client
from processors.runtime import (
    CHANGELOG_TOPIC_CONFIG,
    TABLES,
    bound_changelog_segments,
    changelog_topic,
    discover_topology,
    ensure_internal_topics,
)
from tests.conftest import Network
from tests.processor_running import ProcessorGroup

pytestmark = pytest.mark.integration

LIMITS = set(CHANGELOG_TOPIC_CONFIG)


def _configs(conn: Connection, topic: str) -> dict[str, str]:
    admin = admin_client(conn, quiet=True)
    (future,) = admin.describe_configs([ConfigResource("TOPIC", topic)]).values()
    return {name: entry.value for name, entry in future.result(timeout=30).items()}


def _limited(configs: dict[str, str]) -> dict[str, str]:
    return {name: configs[name] for name in LIMITS}


def _configs_once_limited(conn: Connection, topic: str, timeout: float = 15.0) -> dict[str, str]:
    """The topic's configuration once it shows the limits, or as it is at ``timeout``: an
    accepted change reaches the broker's answers through the cluster's metadata log, so
    for a moment after it a broker may still describe the old values."""
    deadline = time.monotonic() + timeout
    while True:
        configs = _configs(conn, topic)
        if _limited(configs) == CHANGELOG_TOPIC_CONFIG or time.monotonic() >= deadline:
            return configs
        time.sleep(0.2)


def test_a_worker_creates_its_changelogs_compacted_with_short_segments(
    network: Network, worker: ProcessorGroup
) -> None:
    worker.wait_ready(network.settings.topics.partitions)
    admin = network.workspace.admin_connection()
    for table in TABLES:
        configs = _configs(admin, changelog_topic(worker.app_id, table))
        assert configs["cleanup.policy"] == "compact"
        assert _limited(configs) == CHANGELOG_TOPIC_CONFIG


def _old_changelog(network: Network, table: str) -> tuple[str, str]:
    """A new application id, and its ``table`` changelog as an older worker created it."""
    app_id = f"corridor-processor-t{uuid.uuid4().hex[:8]}"
    topic = changelog_topic(app_id, table)
    admin = admin_client(network.workspace.admin_connection(), quiet=True)
    old = NewTopic(
        topic, num_partitions=2, replication_factor=1, config={"cleanup.policy": "compact"}
    )
    for future in admin.create_topics([old]).values():
        future.result(timeout=30)
    return app_id, topic


def test_changelogs_created_before_get_the_short_segments(network: Network) -> None:
    conn = network.workspace.processor_connection()
    app_id, tokens = _old_changelog(network, "tokens")
    admin = admin_client(network.workspace.admin_connection(), quiet=True)
    before = _configs(network.workspace.admin_connection(), tokens)
    assert before["segment.ms"] == str(7 * 24 * 3600 * 1000)  # the broker's default

    # As a worker of that application does at start, with its own principal; its
    # "alerts" changelog does not exist yet and is left to faust.
    ensure_internal_topics(conn, app_id, discover_topology(conn, network.settings))

    after = _configs_once_limited(network.workspace.admin_connection(), tokens)
    assert _limited(after) == CHANGELOG_TOPIC_CONFIG
    assert after["cleanup.policy"] == "compact"
    listed = admin.list_topics(timeout=30).topics
    assert changelog_topic(app_id, "alerts") not in listed


def test_a_cluster_that_refuses_the_change_gets_a_warning_not_a_stopped_worker(
    network: Network, caplog: pytest.LogCaptureFixture
) -> None:
    _, tokens = _old_changelog(network, "tokens")
    # An agency's principal has no right on the processors' topics.
    refused = admin_client(network.workspace.agency_connection("AT-BKA"), quiet=True)
    with caplog.at_level(logging.WARNING, logger="corridor.processor"):
        bound_changelog_segments(refused, [tokens])
    (warned,) = [r for r in caplog.records if r.getMessage() == "changelog_segments_unchanged"]
    assert tokens in str(warned.__dict__)
    assert "AUTHORIZATION_FAILED" in str(warned.__dict__)
    after = _configs(network.workspace.admin_connection(), tokens)
    assert after["segment.ms"] == str(7 * 24 * 3600 * 1000)
