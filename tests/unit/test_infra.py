"""The local-cluster tooling without starting a broker: config, certificates, errors."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509

from corridor.cli.main import cli
from corridor.infra import broker
from corridor.infra.broker import NodeSpec
from corridor.infra.fetch import ensure_kafka_jars, kafka_version
from corridor.infra.tls import ensure_tls

REPO = Path(__file__).resolve().parents[2]


def _nodes(tmp_path: Path, count: int) -> list[NodeSpec]:
    return [
        NodeSpec(i, 20000 + 2 * i, 20001 + 2 * i, tmp_path / f"node-{i}")
        for i in range(1, count + 1)
    ]


def _props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.strip().splitlines())


def test_broker_properties_enforce_tls_scram_and_acls(tmp_path: Path) -> None:
    tls = ensure_tls(tmp_path / "tls")
    nodes = _nodes(tmp_path, 1)
    props = _props(
        broker.render_properties(nodes[0], nodes, tls, admin_password="a", controller_password="c")
    )
    assert props["listeners"].startswith("SASL_SSL://127.0.0.1:")
    assert "PLAINTEXT" not in props["listener.security.protocol.map"]
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["authorizer.class.name"].endswith("StandardAuthorizer")
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["auto.create.topics.enable"] == "false"
    assert props["offsets.topic.replication.factor"] == "1"
    assert "ANONYMOUS" not in props["super.users"]


def test_three_nodes_replicate_three_times_with_two_in_sync(tmp_path: Path) -> None:
    tls = ensure_tls(tmp_path / "tls")
    nodes = _nodes(tmp_path, 3)
    for node in nodes:
        props = _props(
            broker.render_properties(node, nodes, tls, admin_password="a", controller_password="c")
        )
        assert props["controller.quorum.voters"].count("@127.0.0.1:") == 3
        assert props["default.replication.factor"] == "3"
        assert props["min.insync.replicas"] == "2"
        assert props["transaction.state.log.min.isr"] == "2"


def test_certificates_name_localhost_and_loopback_and_keys_are_private(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path / "tls")
    cert = x509.load_pem_x509_certificates(files.broker_cert_chain.read_bytes())[0]
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    for secret in (files.ca_key, files.broker_key, files.broker_cert_chain):
        assert stat.S_IMODE(os.stat(secret).st_mode) == 0o600
    # A second call reuses what exists.
    before = files.ca_cert.read_bytes()
    assert ensure_tls(tmp_path / "tls").ca_cert.read_bytes() == before


def test_pom_pins_kafka_4() -> None:
    assert kafka_version(REPO / "infra" / "kafka" / "pom.xml").startswith("4.")


def test_fetch_is_skipped_when_the_cache_is_complete(tmp_path: Path) -> None:
    version = kafka_version(REPO / "infra" / "kafka" / "pom.xml")
    libs = tmp_path / f"kafka-{version}" / "libs"
    libs.mkdir(parents=True)
    (libs / ".complete").write_text(version)
    result = ensure_kafka_jars(REPO / "infra" / "kafka" / "pom.xml", tmp_path)
    assert result.fetched is False
    assert result.libs == libs


def test_port_in_use_is_one_clear_sentence(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = CliRunner().invoke(
            cli, ["--home", str(tmp_path / "home"), "infra", "up", "--port", str(port)]
        )
    assert result.exit_code != 0
    assert isinstance(result.exception, broker.PortInUseError)
    assert f"port {port}" in str(result.exception)


def test_missing_java_is_one_clear_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    result = CliRunner().invoke(cli, ["--home", str(tmp_path / "home"), "infra", "up"])
    assert result.exit_code != 0
    assert "'java' was not found on PATH" in str(result.exception)


def test_down_without_a_cluster_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--home", str(tmp_path), "infra", "down"])
    assert result.exit_code == 0
    assert "no broker" in result.output


def test_status_without_a_cluster_exits_non_zero(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--home", str(tmp_path), "infra", "status"])
    assert result.exit_code == 1
    assert "no cluster" in result.output
