"""A local Kafka cluster of one or three combined KRaft nodes: up, down, status.

Everything the cluster is lives under one directory (the Corridor home): TLS material,
node configuration, data, logs, the recorded process ids, and ``connection.json`` with
the admin's client settings that every other command reads.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient

from corridor.connection import Connection, save_connection, write_secret_file
from corridor.infra import broker
from corridor.infra.broker import NodeSpec
from corridor.infra.errors import InfraError
from corridor.infra.fetch import FetchResult, ensure_kafka_jars, require_tool
from corridor.infra.tls import ensure_tls
from corridor.kafka_clients import admin_client
from corridor.topics import ensure_topics, platform_topics

STATE_FILE = "cluster.json"
DEFAULT_BASE_PORT = 19092
Reporter = Callable[[str], None]


def repo_infra_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "infra" / "kafka"


@dataclass(frozen=True, slots=True)
class NodeStatus:
    node_id: int
    port: int
    pid: int | None
    running: bool


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    home: Path
    nodes: list[NodeStatus]
    serving: bool
    brokers_seen: int
    topics: int

    def as_json(self) -> dict[str, Any]:
        return {
            "home": str(self.home),
            "serving": self.serving,
            "brokers_seen": self.brokers_seen,
            "topics": self.topics,
            "nodes": [
                {"node_id": n.node_id, "port": n.port, "pid": n.pid, "running": n.running}
                for n in self.nodes
            ],
        }


class LocalCluster:
    """The cluster recorded in ``home/cluster.json`` (or about to be created there)."""

    def __init__(
        self,
        home: Path,
        *,
        infra_dir: Path | None = None,
        cache_dir: Path | None = None,
        report: Reporter = lambda _msg: None,
    ) -> None:
        self.home = home.resolve()
        self.infra_dir = infra_dir or repo_infra_dir()
        self.cache_dir = cache_dir or self.infra_dir.parents[1] / ".cache"
        self.report = report
        self._state: dict[str, Any] | None = None

    # state ------------------------------------------------------------------
    @property
    def state_path(self) -> Path:
        return self.home / STATE_FILE

    def _load_state(self) -> dict[str, Any] | None:
        if self._state is None and self.state_path.exists():
            self._state = json.loads(self.state_path.read_text(encoding="utf-8"))
        return self._state

    def _save_state(self, state: dict[str, Any]) -> None:
        self._state = state
        write_secret_file(self.state_path, json.dumps(state, indent=2) + "\n")

    def nodes(self) -> list[NodeSpec]:
        state = self._load_state()
        if state is None:
            return []
        return [
            NodeSpec(
                n["node_id"], n["port"], n["controller_port"], self.home / f"node-{n['node_id']}"
            )
            for n in state["nodes"]
        ]

    def pid_of(self, node_id: int) -> int | None:
        state = self._load_state() or {"pids": {}}
        pid = state.get("pids", {}).get(str(node_id))
        return int(pid) if pid else None

    def connection(self) -> Connection:
        state = self._load_state()
        if state is None:
            raise InfraError(f"no cluster in {self.home}: run 'corridor infra up'")
        return Connection(
            bootstrap_servers=",".join(f"127.0.0.1:{n.port}" for n in self.nodes()),
            ca_location=self.home / "tls" / "ca.pem",
            username=broker.ADMIN_USER,
            password=state["admin_password"],
        )

    # up ---------------------------------------------------------------------
    def up(self, *, nodes: int = 1, base_port: int | None = None, timeout: float = 120.0) -> bool:
        """Start the cluster; returns False if it was already serving (nothing done)."""
        if nodes not in (1, 3):
            raise InfraError(f"--nodes must be 1 or 3, not {nodes}")
        require_tool("java")
        state = self._load_state()
        if state is not None and len(state["nodes"]) != nodes:
            raise InfraError(
                f"{self.home} holds a {len(state['nodes'])}-node cluster; "
                "run 'corridor infra down --purge' first to make a different one"
            )
        fetched = self.fetch()
        if fetched.fetched:
            self.report(f"fetched Kafka jars in {fetched.seconds:.1f}s into {fetched.libs}")
        if state is None:
            state = self._new_state(nodes, base_port)
        specs = self.nodes()
        if all(broker.is_our_process(self.pid_of(n.node_id), n) for n in specs):
            self.wait_serving(timeout=timeout)
            self.report(f"already running: {len(specs)} node(s) in {self.home}")
            return False
        tls = ensure_tls(self.home / "tls")
        log4j = self.infra_dir / "log4j2.xml"
        pids: dict[str, int] = dict(state.get("pids", {}))
        for node in specs:
            if broker.is_our_process(self.pid_of(node.node_id), node):
                continue
            broker.write_properties(
                node,
                broker.render_properties(
                    node,
                    specs,
                    tls,
                    admin_password=state["admin_password"],
                    controller_password=state["controller_password"],
                ),
            )
            broker.format_storage(
                fetched.libs,
                log4j,
                node,
                cluster_id=state["cluster_id"],
                admin_password=state["admin_password"],
            )
            pids[str(node.node_id)] = broker.start_node(fetched.libs, log4j, node)
            self.report(f"started node {node.node_id} (pid {pids[str(node.node_id)]})")
        state["pids"] = pids
        self._save_state(state)
        save_connection(self.connection(), self.home)
        started = time.monotonic()
        self.wait_serving(timeout=timeout, expect_brokers=len(specs))
        self.report(f"serving after {time.monotonic() - started:.1f}s")
        replicas = 3 if nodes == 3 else 1
        ensure_topics(
            self.admin(),
            platform_topics(),
            replication_factor=replicas,
            min_insync_replicas=2 if replicas == 3 else 1,
        )
        return True

    def fetch(self) -> FetchResult:
        return ensure_kafka_jars(self.infra_dir / "pom.xml", self.cache_dir)

    def _new_state(self, nodes: int, base_port: int | None) -> dict[str, Any]:
        base = base_port if base_port else DEFAULT_BASE_PORT
        if base_port == 0:
            base = broker.free_port_block(2 * nodes)
        state: dict[str, Any] = {
            "cluster_id": _cluster_id(),
            "admin_password": secrets.token_urlsafe(24),
            "controller_password": secrets.token_urlsafe(24),
            "nodes": [
                {"node_id": i + 1, "port": base + 2 * i, "controller_port": base + 2 * i + 1}
                for i in range(nodes)
            ],
            "pids": {},
        }
        for node in state["nodes"]:
            broker.check_port_free(node["port"])
            broker.check_port_free(node["controller_port"])
        self.home.mkdir(parents=True, exist_ok=True)
        self._save_state(state)
        return state

    def admin(self) -> AdminClient:
        return admin_client(self.connection(), quiet=True)

    def wait_serving(self, *, timeout: float, expect_brokers: int = 1) -> None:
        deadline = time.monotonic() + timeout
        admin = self.admin()
        while True:
            for node in self.nodes():
                pid = self.pid_of(node.node_id)
                if pid and not broker.is_alive(pid):
                    raise InfraError(
                        f"node {node.node_id} exited while starting: {broker.log_tail(node)}"
                    )
            try:
                meta = admin.list_topics(timeout=3)
                if len(meta.brokers) >= expect_brokers:
                    return
            except Exception:  # noqa: S110 - not serving yet; retried until the deadline
                pass
            if time.monotonic() > deadline:
                raise InfraError(
                    f"the cluster in {self.home} did not serve within {timeout:.0f}s; "
                    f"see {self.home}/node-*/logs/server.log"
                )
            time.sleep(0.5)

    # down / status ---------------------------------------------------------
    def down(self) -> list[tuple[int, int]]:
        """Stop the processes this cluster started; returns (node id, pid) of each stopped."""
        stopped: list[tuple[int, int]] = []
        state = self._load_state()
        if state is None:
            return stopped
        for node in self.nodes():
            pid = self.pid_of(node.node_id)
            if pid and broker.stop_process(pid, node):
                stopped.append((node.node_id, pid))
        state["pids"] = {}
        self._save_state(state)
        return stopped

    def kill(self, node_id: int) -> bool:
        node = next(n for n in self.nodes() if n.node_id == node_id)
        pid = self.pid_of(node_id)
        return bool(pid) and broker.kill_node(pid or 0, node)

    def restart(self, node_id: int, *, timeout: float = 120.0) -> None:
        state = self._load_state()
        assert state is not None
        node = next(n for n in self.nodes() if n.node_id == node_id)
        libs = self.fetch().libs
        state["pids"][str(node_id)] = broker.start_node(libs, self.infra_dir / "log4j2.xml", node)
        self._save_state(state)
        self.wait_serving(timeout=timeout, expect_brokers=len(self.nodes()))

    def status(self) -> ClusterStatus:
        nodes = [
            NodeStatus(
                n.node_id,
                n.port,
                self.pid_of(n.node_id),
                broker.is_our_process(self.pid_of(n.node_id), n),
            )
            for n in self.nodes()
        ]
        serving, brokers, topics = False, 0, 0
        if any(n.running for n in nodes):
            try:
                meta = self.admin().list_topics(timeout=5)
                serving, brokers, topics = True, len(meta.brokers), len(meta.topics)
            except Exception:  # noqa: S110 - reported as not serving
                pass
        return ClusterStatus(self.home, nodes, serving, brokers, topics)


def _cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
