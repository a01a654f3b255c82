"""Shared fixtures: one real broker per test session, unique topics, groups and users.

Integration tests run against the real Apache Kafka that ``corridor infra up`` starts
(TLS, SCRAM, ACLs). Set CORRIDOR_TEST_HOME to the home of a cluster that already runs to
reuse it; otherwise the session starts its own on free ports and stops it at the end.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from corridor.config import Settings
from corridor.connection import Connection
from corridor.directory_apply import apply_directory
from corridor.domain import Directory
from corridor.infra.cluster import LocalCluster
from corridor.kafka_clients import admin_client
from corridor.principals import upsert_scram_user
from corridor.schema_registry import SchemaRegistry
from corridor.topics import TopicSpec, ensure_topics
from corridor.workspace import Workspace
from tests.processor_running import ProcessorGroup, processor_group


def _start_cluster(home: Path, nodes: int) -> LocalCluster:
    cluster = LocalCluster(home)
    try:
        cluster.up(nodes=nodes, base_port=0)
    except BaseException:
        cluster.down()
        raise
    return cluster


@pytest.fixture(scope="session")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    existing = os.environ.get("CORRIDOR_TEST_HOME")
    if existing:
        yield LocalCluster(Path(existing))
        return
    cluster = _start_cluster(tmp_path_factory.mktemp("kafka-1"), 1)
    try:
        yield cluster
    finally:
        cluster.down()


@pytest.fixture(scope="session")
def kafka_cluster3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    cluster = _start_cluster(tmp_path_factory.mktemp("kafka-3"), 3)
    try:
        yield cluster
    finally:
        cluster.down()


@pytest.fixture(scope="session")
def schema_registry(kafka_cluster: LocalCluster) -> Iterator[SchemaRegistry]:
    """The session cluster's schema registry (Apicurio), started once, schemas registered.

    Its URL goes into the cluster's ``connection.json`` as with ``infra up --registry``.
    Registering at once keeps every test that meets that URL on the same footing,
    whichever runs first. A registry that was already running is left running.
    """
    was_running = kafka_cluster.registry_running()
    registry = SchemaRegistry(kafka_cluster.start_registry(port=0))
    try:
        registry.register()
        yield registry
    finally:
        if not was_running:
            kafka_cluster.stop_registry()


@pytest.fixture
def admin_conn(kafka_cluster: LocalCluster) -> Connection:
    """The admin's settings as the cluster has them now.

    Read per test, not once per session: the registry fixture adds its URL to the
    cluster's ``connection.json`` mid-session, and from then on every command started
    on that home writes the registry's framing, which only a registry-aware codec reads.
    """
    return kafka_cluster.connection()


def unique(prefix: str) -> str:
    return f"{prefix}.{uuid.uuid4().hex[:12]}"


@pytest.fixture
def new_topic(admin_conn: Connection) -> Callable[..., str]:
    """Create a topic with a unique name on the session's broker."""

    def make(partitions: int = 3, *, conn: Connection | None = None, replicas: int = 1) -> str:
        name = unique("test.topic")
        ensure_topics(
            admin_client(conn or admin_conn, quiet=True),
            [TopicSpec(name, partitions)],
            replication_factor=replicas,
            min_insync_replicas=min(replicas, 2),
        )
        return name

    return make


@pytest.fixture
def new_group() -> Callable[[], str]:
    return lambda: unique("test.group")


@pytest.fixture
def new_principal(admin_conn: Connection) -> Callable[..., Connection]:
    """A fresh SCRAM user with no ACLs, as a Connection for that user."""

    def make(name: str | None = None) -> Connection:
        user = name or unique("test-user").replace(".", "-")
        password = secrets.token_urlsafe(18)
        upsert_scram_user(admin_client(admin_conn, quiet=True), user, password)
        return admin_conn.as_principal(user, password)

    return make


@dataclass(frozen=True)
class Network:
    """The sample network of examples/directory.json, applied to the session's cluster.

    Every agency has its own SCRAM principal, key files and delivery topic under
    ``workspace.home``; ``directory`` is what was published (with the real public keys).
    """

    workspace: Workspace
    settings: Settings
    directory: Directory


REPO = Path(__file__).resolve().parents[1]
SAMPLE_DIRECTORY = REPO / "examples" / "directory.json"


@pytest.fixture(scope="session")
def network(kafka_cluster: LocalCluster) -> Network:
    workspace = Workspace(kafka_cluster.home)
    settings = Settings(home=kafka_cluster.home)
    result = apply_directory(workspace, settings, SAMPLE_DIRECTORY, use_local_keys=True)
    return Network(workspace, settings, result.directory)


@pytest.fixture
def worker(
    network: Network, kafka_cluster: LocalCluster, tmp_path: Path
) -> Iterator[ProcessorGroup]:
    """One ``corridor process`` worker of a fresh application id, for one test."""
    admin = network.workspace.admin_connection()
    partitions = network.settings.topics.partitions
    with processor_group(kafka_cluster.home, admin, tmp_path, ["w1"], partitions) as group:
        yield group
