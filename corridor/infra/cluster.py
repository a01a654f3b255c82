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
from corridor.infra import broker, registry
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
class RegistryStatus:
    url: str
    pid: int | None
    running: bool
    serving: bool

    def as_json(self) -> dict[str, Any]:
        return {"url": self.url, "pid": self.pid, "running": self.running, "serving": self.serving}


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    home: Path
    nodes: list[NodeStatus]
    serving: bool
    brokers_seen: int
    topics: int
    registry: RegistryStatus | None = None

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
            "registry": self.registry.as_json() if self.registry else None,
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
        spec = self.registry_spec()
        running = self.registry_running()
        return Connection(
            bootstrap_servers=",".join(f"127.0.0.1:{n.port}" for n in self.nodes()),
            ca_location=self.home / "tls" / "ca.pem",
            username=broker.ADMIN_USER,
            password=state["admin_password"],
            schema_registry_url=spec.url if spec is not None and running else None,
        )

    # up ---------------------------------------------------------------------
    def up(
        self,
        *,
        nodes: int = 1,
        base_port: int | None = None,
        timeout: float = 120.0,
        registry: bool = False,
        registry_port: int | None = None,
    ) -> bool:
        """Start the cluster (and the schema registry if asked); False if Kafka already ran."""
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
            if registry:
                self.start_registry(port=registry_port, timeout=timeout)
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
        if registry:
            self.start_registry(port=registry_port, timeout=timeout)
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

    # schema registry ---------------------------------------------------------
    def registry_spec(self) -> registry.RegistrySpec | None:
        """The registry recorded for this home, if one was ever started."""
        recorded = (self._load_state() or {}).get("registry")
        if not recorded:
            return None
        return registry.RegistrySpec(self.home, int(recorded["port"]))

    def registry_pid(self) -> int | None:
        recorded = (self._load_state() or {}).get("registry") or {}
        pid = recorded.get("pid")
        return int(pid) if pid else None

    def registry_running(self) -> bool:
        spec = self.registry_spec()
        return spec is not None and registry.is_our_registry(self.registry_pid(), spec)

    def start_registry(self, *, port: int | None = None, timeout: float = 120.0) -> str:
        """Start this home's schema registry unless it runs; returns its URL.

        ``port`` None reuses the recorded port (else the default); 0 picks a free one.
        The URL goes into ``connection.json`` so other commands find the registry.
        """
        state = self._load_state()
        if state is None:
            raise InfraError(f"no cluster in {self.home}: run 'corridor infra up' first")
        spec = self.registry_spec()
        if spec is not None and self.registry_running():
            if port and port != spec.port:
                raise registry.RegistryError(
                    f"the schema registry of {self.home} already runs on port {spec.port}; "
                    "stop it with 'corridor infra down' to move it"
                )
            registry.wait_serving(self.registry_pid() or 0, spec, timeout=timeout)
            self.report(f"schema registry already running at {spec.url}")
            return spec.url
        require_tool("java")
        app = registry.ensure_registry_app(self.cache_dir)
        if app.fetched:
            self.report(f"fetched Apicurio Registry in {app.seconds:.1f}s into {app.directory}")
        if port is None:
            port = spec.port if spec is not None else registry.DEFAULT_REGISTRY_PORT
        elif port == 0:
            port = registry.free_port()
        spec = registry.RegistrySpec(self.home, port)
        pid = registry.start_registry(app, spec)
        state["registry"] = {"port": port, "pid": pid}
        self._save_state(state)
        self.report(f"started the schema registry (pid {pid})")
        try:
            waited = registry.wait_serving(pid, spec, timeout=timeout)
        except registry.RegistryError:
            registry.stop_registry(pid, spec)
            raise
        self.report(f"schema registry serving at {spec.url} after {waited:.1f}s")
        save_connection(self.connection(), self.home)
        return spec.url

    def stop_registry(self) -> int | None:
        """Stop this home's schema registry; returns its pid if it was running."""
        state = self._load_state()
        spec = self.registry_spec()
        pid = self.registry_pid()
        if state is None or spec is None:
            return None
        stopped = pid is not None and registry.stop_registry(pid, spec)
        state["registry"]["pid"] = None
        self._save_state(state)
        if (self.home / "connection.json").exists():
            save_connection(self.connection(), self.home)
        if stopped:
            self.report(f"stopped the schema registry (pid {pid})")
            return pid
        return None

    # down / status ---------------------------------------------------------
    def down(self) -> list[tuple[int, int]]:
        """Stop the processes this cluster started; returns (node id, pid) of each broker."""
        stopped: list[tuple[int, int]] = []
        state = self._load_state()
        if state is None:
            return stopped
        self.stop_registry()
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
        return ClusterStatus(self.home, nodes, serving, brokers, topics, self._registry_status())

    def _registry_status(self) -> RegistryStatus | None:
        spec = self.registry_spec()
        if spec is None:
            return None
        pid = self.registry_pid()
        running = registry.is_our_registry(pid, spec)
        return RegistryStatus(spec.url, pid, running, running and registry.is_serving(spec.url))


def _cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding."""
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        # StorageTool's argument parser would read a leading '-' as an option.
        if not candidate.startswith("-"):
            return candidate
