"""The publishing SDK on the real broker (TLS, SCRAM, ACLs): partitions, ids, errors."""

from __future__ import annotations

import shutil
import socket
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from corridor.codec import Codec
from corridor.config import ProducerSettings, Settings
from corridor.connection import Connection, load_connection, save_connection
from corridor.envelope import REUSED_WRAP_SUITE, verify_alert
from corridor.kafka_clients import producer
from corridor.metrics import ProducerMetrics
from corridor.records import alert_from_record
from corridor.schema_registry import codec_for
from corridor.topics import AUDIT
from producers import (
    BrokerUnreachableError,
    Delivery,
    DeliveryError,
    Preparer,
    ProducerError,
    Publisher,
    PublisherClosedError,
    StaticDirectory,
    make_alert_id,
    open_publisher,
    producer_config,
)
from producers.samples import sample_alerts
from tests.conftest import Network
from tests.integration.publish_helpers import (
    alert_id_of,
    high_watermarks,
    java_partition,
    murmur2,
    ours,
    read_between,
    run_cli,
)
from tests.unit.publish_support import alert

pytestmark = pytest.mark.integration


def test_the_partition_helper_matches_kafkas_murmur2_vectors() -> None:
    # Expected values from Apache Kafka's UtilsTest (signed 32-bit there).
    vectors = {b"21": -973932308, b"foobar": -790332482, b"abc": 479470107}
    for data, expected in vectors.items():
        assert murmur2(data) == expected & 0xFFFFFFFF


def test_each_alert_lands_on_the_partition_of_its_corridor_key(
    network: Network, admin_conn: Connection, new_group: Callable[[], str]
) -> None:
    registry = CollectorRegistry()
    before = high_watermarks(admin_conn, new_group())
    prefix = f"part-{uuid.uuid4().hex[:10]}"
    with open_publisher(network.settings, "AT-BKA", registry=registry) as publisher:
        futures = [publisher.publish(a) for a in sample_alerts(30, key_prefix=prefix)]
        deliveries = [f.result(timeout=60) for f in futures]
    partitions = len(before)
    by_corridor: dict[str, set[int]] = {}
    for delivery in deliveries:
        assert delivery.partition == java_partition(delivery.corridor.encode(), partitions)
        by_corridor.setdefault(delivery.corridor, set()).add(delivery.partition)
    assert set(by_corridor) == {"RO>AT", "BG>AT", "MD>AT"}
    assert all(len(found) == 1 for found in by_corridor.values())

    after = high_watermarks(admin_conn, new_group())
    by_id = {d.alert_id: d for d in deliveries}
    landed = ours(read_between(admin_conn, new_group(), before, after), by_id)
    assert len(landed) == 30
    for msg in landed:
        sent = by_id[str(alert_id_of(msg))]
        assert (msg.key(), msg.partition(), msg.offset()) == (
            sent.corridor.encode(),
            sent.partition,
            sent.offset,
        )

    def sample(name: str, **labels: str) -> float:
        return registry.get_sample_value(name, labels) or 0.0

    delivered = sum(
        sample(
            "corridor_alerts_published_total",
            corridor=c,
            alert_type="PRESUMED_VICTIM_IDENTIFIED",
            outcome="delivered",
        )
        for c in by_corridor
    )
    assert delivered == 30
    assert (
        sum(sample("corridor_publish_latency_seconds_count", corridor=c) for c in by_corridor) == 30
    )
    sent_bytes = sum(sample("corridor_publish_bytes_total", corridor=c) for c in by_corridor)
    assert sent_bytes == sum(len(m.value() or b"") for m in landed)
    # One wrapping key per set of recipients, reused for the rest of the 30 alerts.
    recipient_sets = {d.recipients for d in deliveries}
    assert sample("corridor_publish_wrapping_keys_total") == len(recipient_sets) < 30


def test_resending_with_the_same_idempotency_key_keeps_the_alert_id(
    network: Network, admin_conn: Connection, new_group: Callable[[], str]
) -> None:
    key = f"resend-{uuid.uuid4().hex}"
    before = high_watermarks(admin_conn, new_group())
    with open_publisher(network.settings, "AT-BKA") as publisher:
        first = publisher.publish(alert(idempotency_key=key)).result(timeout=60)
        again = publisher.publish(alert(idempotency_key=key, priority="IMMEDIATE"))
        other = publisher.publish(alert(idempotency_key=key + "-2")).result(timeout=60)
        second = again.result(timeout=60)
    assert first.alert_id == second.alert_id == make_alert_id("AT-BKA", key)
    assert other.alert_id != first.alert_id
    after = high_watermarks(admin_conn, new_group())
    landed = ours(read_between(admin_conn, new_group(), before, after), {first.alert_id})
    assert len(landed) == 2  # the processors drop the copy by its alert id
    issuer = network.directory.agencies["AT-BKA"]
    codec = codec_for(network.workspace.admin_connection())  # a registry may be running
    priorities, wraps = set(), set()
    for msg in landed:
        sealed = alert_from_record(codec.decode_as("CaseAlert", msg.value() or b""))
        verify_alert(sealed, issuer)
        assert sealed.metadata.alert_id == first.alert_id
        assert sealed.suite == REUSED_WRAP_SUITE
        priorities.add(sealed.metadata.priority.value)
        wraps.add(sealed.recipients)
    assert priorities == {"URGENT", "IMMEDIATE"}
    # One publisher, the same recipients: both copies carry the one reused wrap.
    assert len(wraps) == 1


def test_a_refused_delivery_reaches_the_caller_as_a_clear_error(network: Network) -> None:
    """An agency may not write to the audit topic: the broker refuses, the caller hears."""
    settings = replace(network.settings, producer=ProducerSettings(delivery_timeout_ms=10000))
    ws = network.workspace
    keys = ws.agency_keys("AT-BKA")
    publisher = Publisher(
        preparer=Preparer(
            issuer="AT-BKA",
            signing_key=keys.signing,
            linkage_keys=[],
            codec=Codec(),
            max_body_bytes=65536,
        ),
        directory=StaticDirectory(network.directory),
        producer=producer(ws.agency_connection("AT-BKA"), quiet=True, **producer_config(settings)),
        metrics=ProducerMetrics.create(CollectorRegistry()),
        delivery_timeout=10.0,
        topic=AUDIT,
    )
    heard: list[Delivery] = []
    with publisher:
        future: Future[Delivery] = publisher.publish(alert(), on_delivery=heard.append)
        with pytest.raises(DeliveryError) as caught:
            future.result(timeout=30)
    assert caught.value.kafka_code == "TOPIC_AUTHORIZATION_FAILED"
    assert "was not acknowledged by the broker" in str(caught.value)
    assert len(heard) == 1
    assert heard[0].error is caught.value
    assert not heard[0].ok


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _home_without_broker(network: Network, tmp_path: Path) -> Path:
    """A copy of AT-BKA's credentials and keys whose cluster address answers nothing."""
    source, home = network.workspace.home, tmp_path / "home"
    for part in ("agencies/AT-BKA", "authority", "linkage"):
        shutil.copytree(source / part, home / part)
    conn = load_connection(source)
    save_connection(replace(conn, bootstrap_servers=f"127.0.0.1:{_dead_port()}"), home)
    return home


@pytest.mark.timeout(90)
def test_an_unreachable_broker_fails_cleanly_in_bounded_time(
    network: Network, tmp_path: Path
) -> None:
    home = _home_without_broker(network, tmp_path)
    settings = Settings(home=home, producer=ProducerSettings(connect_timeout_seconds=3.0))
    with pytest.raises(BrokerUnreachableError) as caught:
        open_publisher(settings, "AT-BKA")
    assert caught.value.retriable
    assert str(caught.value).startswith("cannot reach the Kafka cluster at 127.0.0.1:")

    source = Path(__file__).resolve().parents[2] / "examples/alerts/at-bka-presumed-victim.json"
    env = {"CORRIDOR_PRODUCER_CONNECT_TIMEOUT_SECONDS": "3"}
    for extra in ((), ("--dry-run",)):
        result = run_cli(home, "publish", "--as", "AT-BKA", str(source), *extra, env=env)
        err = result.stderr.decode()
        assert result.returncode == 1
        assert "error: cannot reach the Kafka cluster at 127.0.0.1:" in err
        assert "Traceback" not in err
        assert result.stdout == b""


@pytest.mark.timeout(60)
def test_close_fails_every_alert_the_broker_never_answered(network: Network) -> None:
    dead = f"127.0.0.1:{_dead_port()}"
    conn = replace(network.workspace.agency_connection("AT-BKA"), bootstrap_servers=dead)
    publisher = Publisher(
        preparer=Preparer(
            issuer="AT-BKA",
            signing_key=network.workspace.agency_keys("AT-BKA").signing,
            linkage_keys=[],
            codec=Codec(),
            max_body_bytes=65536,
        ),
        directory=StaticDirectory(network.directory),
        producer=producer(conn, quiet=True, **producer_config(network.settings)),
        metrics=ProducerMetrics.create(CollectorRegistry()),
        delivery_timeout=30.0,
    )
    heard: list[Delivery] = []
    futures = [
        publisher.publish(alert(idempotency_key=f"c{n}"), on_delivery=heard.append)
        for n in range(3)
    ]
    assert publisher.in_flight == 3
    publisher.close(timeout=1.0)
    assert publisher.in_flight == 0
    for future in futures:
        with pytest.raises(DeliveryError) as caught:
            future.result(timeout=5)
        assert caught.value.retriable
    assert len(heard) == 3
    assert all(not d.ok for d in heard)
    with pytest.raises(PublisherClosedError):
        publisher.publish(alert())


def test_a_suspended_agency_is_told_it_has_no_access(network: Network) -> None:
    with pytest.raises(ProducerError) as caught:
        open_publisher(network.settings, "BG-VARNA-SHELTER")
    assert "refuses BG-VARNA-SHELTER access to corridor.alerts.inbound" in str(caught.value)
