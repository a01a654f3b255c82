"""One KRaft node (broker and controller in one JVM): its configuration and its process.

Clients speak SASL_SSL with SCRAM-SHA-512. The controller listener, which SCRAM cannot
protect, uses TLS with PLAIN and a dedicated ``controller`` principal, so nothing on the
machine reaches a super-user listener without a password.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from corridor.connection import write_secret_file
from corridor.infra.errors import InfraError, PortInUseError

__all__ = ["InfraError", "NodeSpec", "PortInUseError"]
from corridor.infra.fetch import require_tool
from corridor.infra.tls import TlsFiles

ADMIN_USER = "admin"
CONTROLLER_USER = "controller"


@dataclass(frozen=True, slots=True)
class NodeSpec:
    node_id: int
    port: int
    controller_port: int
    directory: Path

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def logs_dir(self) -> Path:
        return self.directory / "logs"

    @property
    def properties(self) -> Path:
        return self.directory / "server.properties"


def _jaas_scram(user: str, password: str) -> str:
    return (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{user}" password="{password}";'
    )


def _jaas_plain(user: str, password: str) -> str:
    return (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="{user}" password="{password}" user_{user}="{password}";'
    )


def render_properties(
    node: NodeSpec,
    voters: list[NodeSpec],
    tls: TlsFiles,
    *,
    admin_password: str,
    controller_password: str,
) -> str:
    replicas = min(3, len(voters))
    min_isr = 2 if replicas >= 3 else 1
    voter_list = ",".join(f"{v.node_id}@127.0.0.1:{v.controller_port}" for v in voters)
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "controller.quorum.voters": voter_list,
        "listeners": f"SASL_SSL://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}",
        "advertised.listeners": f"SASL_SSL://127.0.0.1:{node.port}",
        "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:SASL_SSL",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "SASL_SSL",
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": _jaas_scram(
            ADMIN_USER, admin_password
        ),
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config": _jaas_plain(
            CONTROLLER_USER, controller_password
        ),
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(tls.broker_cert_chain),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(tls.ca_cert),
        "ssl.endpoint.identification.algorithm": "https",
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": f"User:{ADMIN_USER};User:{CONTROLLER_USER}",
        "allow.everyone.if.no.acl.found": "false",
        "log.dirs": str(node.data_dir),
        "num.partitions": "3",
        "default.replication.factor": str(replicas),
        "min.insync.replicas": str(min_isr),
        "offsets.topic.replication.factor": str(replicas),
        "transaction.state.log.replication.factor": str(replicas),
        "transaction.state.log.min.isr": str(min_isr),
        "share.coordinator.state.topic.replication.factor": str(replicas),
        "share.coordinator.state.topic.min.isr": str(min_isr),
        "auto.create.topics.enable": "false",
        "group.initial.rebalance.delay.ms": "0",
        # The group coordinator's writes (offset commits) wait this long for company;
        # Kafka's 5 ms default is the largest part of a consumer's commit round trip,
        # and every Corridor consumer commits after each batch it delivers.
        "group.coordinator.append.linger.ms": "0",
        "log.retention.check.interval.ms": "60000",
        "unclean.leader.election.enable": "false",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise PortInUseError(
                f"port {port} on 127.0.0.1 is already in use by another process; "
                "stop it or choose other ports with --port"
            ) from exc


def free_port_block(count: int) -> int:
    """A base port such that ``count`` consecutive ports look free now."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            base = int(sock.getsockname()[1])
        if base + count >= 65535:
            continue
        try:
            for port in range(base, base + count):
                check_port_free(port)
        except PortInUseError:
            continue
        return base
    raise InfraError(f"found no block of {count} free ports on 127.0.0.1")


def write_properties(node: NodeSpec, text: str) -> None:
    node.directory.mkdir(parents=True, exist_ok=True)
    write_secret_file(node.properties, text)


def _java_command(libs: Path, log4j_config: Path, node: NodeSpec, heap: str) -> list[str]:
    return [
        require_tool("java"),
        f"-Xmx{heap}",
        f"-Xms{heap}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j_config}",
        f"-Dkafka.logs.dir={node.logs_dir}",
        "-cp",
        f"{libs}/*",
    ]


def format_storage(
    libs: Path,
    log4j_config: Path,
    node: NodeSpec,
    *,
    cluster_id: str,
    admin_password: str,
) -> None:
    """Format KRaft storage once, with the SCRAM admin user; a formatted node is left alone."""
    if (node.data_dir / "meta.properties").exists():
        return
    node.logs_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        *_java_command(libs, log4j_config, node, "256m"),
        "kafka.tools.StorageTool",
        "format",
        "-t",
        cluster_id,
        "-c",
        str(node.properties),
        "--add-scram",
        f"SCRAM-SHA-512=[name={ADMIN_USER},password={admin_password}]",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
    if proc.returncode != 0:
        tail = " | ".join((proc.stdout + proc.stderr).strip().splitlines()[-3:])
        raise InfraError(f"formatting storage of node {node.node_id} failed: {tail}")


def start_node(libs: Path, log4j_config: Path, node: NodeSpec, *, heap: str = "512m") -> int:
    check_port_free(node.port)
    check_port_free(node.controller_port)
    node.logs_dir.mkdir(parents=True, exist_ok=True)
    out = open(node.logs_dir / "stdout.log", "ab")  # noqa: SIM115 - handed to the child
    try:
        proc = subprocess.Popen(
            [
                *_java_command(libs, log4j_config, node, heap),
                # Pauses and safepoints, rotated: a broker that stops answering for a
                # second shows here whether its JVM stopped it.
                f"-Xlog:gc,safepoint:file={node.logs_dir / 'gc.log'}:time,uptime"
                ":filecount=5,filesize=20m",
                "kafka.Kafka",
                str(node.properties),
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=node.directory,
        )
    finally:
        out.close()
    return proc.pid


def is_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (a start-up re-exec keeps the pid)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def is_our_process(pid: int | None, node: NodeSpec) -> bool:
    """True if ``pid`` is alive and is this node's broker (not a recycled pid)."""
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.split(")")[-1].split()[0] == "Z":
        return False
    return "kafka.Kafka" in cmdline and str(node.properties) in cmdline


def stop_process(pid: int, node: NodeSpec, *, grace: float = 30.0) -> bool:
    """SIGTERM, then SIGKILL after ``grace`` seconds; True if it was running."""
    if not is_our_process(pid, node):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not is_our_process(pid, node):
            return True
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    while is_our_process(pid, node):
        time.sleep(0.1)
    return True


def kill_node(pid: int, node: NodeSpec) -> bool:
    """SIGKILL at once: what tests use to simulate a crash."""
    if not is_our_process(pid, node):
        return False
    os.kill(pid, signal.SIGKILL)
    while is_our_process(pid, node):
        time.sleep(0.05)
    return True


def log_tail(node: NodeSpec, lines: int = 5) -> str:
    for name in ("server.log", "stdout.log"):
        path = node.logs_dir / name
        if path.exists():
            text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
            errors = [line for line in text if " ERROR " in line or "Exception" in line]
            return " | ".join((errors or text)[-lines:])
    return "(no log)"
