"""infra/deploy agrees with the code: ports, topics, principals, replication, scraping.

The reference deployment is prose and configuration that nothing executes here, so
this test is what keeps it true when the code changes: each fact it states is compared
with where the code defines it.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from corridor.cli.main import cli
from corridor.config import ConsumerSettings, ProcessorSettings, ProducerSettings, load_settings
from corridor.infra.broker import ADMIN_USER, CONTROLLER_USER, NodeSpec, render_properties
from corridor.infra.cluster import DEFAULT_BASE_PORT
from corridor.infra.registry import DEFAULT_REGISTRY_PORT
from corridor.infra.tls import TlsFiles
from corridor.topics import DELIVERY_PREFIX, platform_topics
from corridor.workspace import OPERATOR_PRINCIPAL, PROCESSOR_PRINCIPAL

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "infra" / "deploy"
TOPOLOGY: dict[str, Any] = tomllib.loads((DEPLOY / "topology.toml").read_text(encoding="utf-8"))
#: Keys whose values must differ between one machine and several, and how.
HOST_SPECIFIC = {
    "listeners",
    "advertised.listeners",
    "controller.quorum.voters",
    "ssl.keystore.location",
    "ssl.truststore.location",
    "log.dirs",
    "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config",
    "listener.name.controller.plain.sasl.jaas.config",
    "group.initial.rebalance.delay.ms",
}


def properties(path: Path) -> dict[str, str]:
    result: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            assert key not in result, f"{path.name}: {key} twice"
            result[key] = value
    return result


def rendered_for_three_nodes() -> dict[str, str]:
    nodes = [NodeSpec(i, 1 + 2 * i, 2 + 2 * i, Path(f"/n{i}")) for i in (1, 2, 3)]
    tls = TlsFiles(Path("/ca.pem"), Path("/ca.key"), Path("/chain.pem"), Path("/key.pem"))
    text = render_properties(nodes[0], nodes, tls, admin_password="a", controller_password="c")
    return dict(line.split("=", 1) for line in text.splitlines())


def scrape_targets(path: Path) -> dict[str, list[str]]:
    """job -> targets of a Prometheus configuration, read without a YAML library."""
    jobs: dict[str, list[str]] = {}
    current: str | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        job = re.match(r"^\s*- job_name: (\S+)$", line)
        if job:
            current = job.group(1)
            jobs[current] = []
            continue
        if current is not None:
            jobs[current] += re.findall(r'"([^"]+:\d+)"', line)
    return jobs


def test_every_kafka_node_has_the_configuration_corridor_renders() -> None:
    expected = rendered_for_three_nodes()
    cluster, nodes = TOPOLOGY["cluster"], TOPOLOGY["kafka"]
    assert [n["node_id"] for n in nodes] == [1, 2, 3]
    voters = ",".join(f"{n['node_id']}@{n['host']}:{cluster['controller_port']}" for n in nodes)
    for node in nodes:
        props = properties(DEPLOY / node["template"])
        assert set(props) == set(expected), (
            f"{node['template']}: keys differ from render_properties"
        )
        for key in set(expected) - HOST_SPECIFIC - {"node.id"}:
            assert props[key] == expected[key], f"{node['template']}: {key}"
        host, client, ctrl = node["host"], cluster["client_port"], cluster["controller_port"]
        assert props["node.id"] == str(node["node_id"])
        assert props["listeners"] == f"SASL_SSL://{host}:{client},CONTROLLER://{host}:{ctrl}"
        assert props["advertised.listeners"] == f"SASL_SSL://{host}:{client}"
        assert props["controller.quorum.voters"] == voters
        assert host in props["ssl.keystore.location"]
        for jaas in (
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config",
            "listener.name.controller.plain.sasl.jaas.config",
        ):
            assert "${KAFKA_" in props[jaas], "secrets must be placeholders"
            assert re.sub(r"\$\{KAFKA_[A-Z_]+\}", "X", props[jaas]) == re.sub(
                r'password="[^"]*"|user_controller="[^"]*"',
                lambda m: m.group(0).split("=")[0] + '="X"',
                expected[jaas],
            )
        assert props["default.replication.factor"] == str(cluster["replication_factor"]) == "3"
        assert props["min.insync.replicas"] == str(cluster["min_insync_replicas"]) == "2"


def test_ports_are_the_defaults_of_the_code() -> None:
    cluster = TOPOLOGY["cluster"]
    assert cluster["client_port"] == DEFAULT_BASE_PORT
    assert cluster["controller_port"] == DEFAULT_BASE_PORT + 1
    assert TOPOLOGY["registry"]["port"] == DEFAULT_REGISTRY_PORT
    assert len(TOPOLOGY["processor"]) >= 2
    for proc in TOPOLOGY["processor"]:
        assert proc["metrics_port"] == ProcessorSettings().metrics_port
        assert proc["web_port"] == ProcessorSettings().web_port
    for site in TOPOLOGY["agency_site"]:
        assert site["consumer_metrics_port"] == ConsumerSettings().metrics_port
        assert site["producer_metrics_port"] == ProducerSettings().metrics_port


def test_the_settings_file_loads_and_matches_the_topology() -> None:
    settings = load_settings(DEPLOY / "corridor.toml", environ={})
    assert settings.topics.replication_factor == TOPOLOGY["cluster"]["replication_factor"]
    assert settings.processor.app_id == ProcessorSettings().app_id == PROCESSOR_PRINCIPAL
    assert settings.processor.metrics_port == TOPOLOGY["processor"][0]["metrics_port"]
    assert settings.processor.web_port == TOPOLOGY["processor"][0]["web_port"]
    assert settings.consumer.metrics_port == TOPOLOGY["agency_site"][0]["consumer_metrics_port"]
    assert settings.producer.metrics_port == TOPOLOGY["agency_site"][0]["producer_metrics_port"]


def test_topics_and_principals_are_the_platform_s() -> None:
    assert TOPOLOGY["topics"]["platform"] == [spec.name for spec in platform_topics()]
    assert TOPOLOGY["topics"]["delivery_prefix"] == DELIVERY_PREFIX
    principals = TOPOLOGY["principals"]
    assert principals["processor"] == PROCESSOR_PRINCIPAL
    assert principals["operator"] == OPERATOR_PRINCIPAL
    assert (principals["admin"], principals["controller"]) == (ADMIN_USER, CONTROLLER_USER)
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    for name in [*TOPOLOGY["topics"]["platform"], PROCESSOR_PRINCIPAL, OPERATOR_PRINCIPAL]:
        assert f"`{name}`" in readme, name


def test_prometheus_scrapes_every_component_of_the_topology() -> None:
    deploy = scrape_targets(DEPLOY / "prometheus.yml")
    local = scrape_targets(REPO / "infra" / "observability" / "prometheus.yml")
    assert set(deploy) == set(local), "job names must match so rules and dashboard apply"
    assert deploy["corridor-processor"] == [
        f"{p['host']}:{p['metrics_port']}" for p in TOPOLOGY["processor"]
    ]
    assert deploy["corridor-operations"] == [
        f"{p['host']}:{p['web_port']}" for p in TOPOLOGY["processor"]
    ]
    sites = TOPOLOGY["agency_site"]
    assert deploy["corridor-consumer"] == [
        f"{s['host']}:{s['consumer_metrics_port']}" for s in sites
    ]
    assert deploy["corridor-producer"] == [
        f"{s['host']}:{s['producer_metrics_port']}" for s in sites
    ]
    monitoring = TOPOLOGY["monitoring"]
    assert deploy["prometheus"] == [f"{monitoring['host']}:{monitoring['prometheus_port']}"]
    assert local["corridor-processor"] == [f"127.0.0.1:{ProcessorSettings().metrics_port}"]
    assert local["corridor-operations"] == [f"127.0.0.1:{ProcessorSettings().web_port}"]
    assert local["corridor-consumer"] == [f"127.0.0.1:{ConsumerSettings().metrics_port}"]
    assert local["corridor-producer"] == [f"127.0.0.1:{ProducerSettings().metrics_port}"]
    datasource = (DEPLOY / "grafana" / "provisioning" / "datasources" / "corridor.yml").read_text()
    assert f"http://{monitoring['host']}:{monitoring['prometheus_port']}" in datasource


@pytest.mark.parametrize(
    "unit", sorted((DEPLOY / "systemd").glob("corridor-*.service")), ids=lambda p: p.name
)
def test_units_run_commands_that_exist(unit: Path) -> None:
    text = unit.read_text(encoding="utf-8")
    starts: list[str] = re.findall(r"ExecStart=((?:.*\\\n)*.*)", text)
    assert len(starts) == 1, unit.name
    command = starts[0].replace("\\\n", " ").split()
    if command[0].endswith("/corridor"):
        sub = cli.commands.get(command[1])
        assert sub is not None, f"{unit.name}: no `corridor {command[1]}` command"
        options = {opt for param in sub.params for opt in getattr(param, "opts", [])}
        used = {word for word in command[2:] if word.startswith("--")}
        assert used <= options, f"{unit.name}: unknown options {sorted(used - options)}"
        assert "CORRIDOR_CONFIG=/etc/corridor/corridor.toml" in text
    else:
        assert command[0] == "/usr/bin/java"
    if "kafka.Kafka" in text:
        assert "/etc/corridor/kafka/server.properties" in text
    if "quarkus" in text:
        assert f"-Dquarkus.http.port={TOPOLOGY['registry']['port']}" in text
