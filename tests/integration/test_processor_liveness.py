"""A worker that cannot go on ends, so that its supervisor restarts it.

A fetcher crash is real: the worker runs without the compression library, and an
agency publishes a snappy batch while the worker is busy with a backlog. faust then
either stops the worker itself or, about half the time, leaves it up and routing
nothing (``processors/fetch_guard.py``); either way it must exit with a failure status.

A worker that stops handling its records with its fetcher running
(``processors/progress_guard.py``) is made by blocking its event loop in the middle
of a stream, as a call that never returns would.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from corridor.codec import Codec
from corridor.infra.cluster import LocalCluster
from corridor.topics import INBOUND, delivery_topic
from processors.fetch_guard import EXIT_FETCHER_DOWN, GRACE_SECONDS
from tests.conftest import Network
from tests.kafka_helpers import produce_all
from tests.processor_factories import AlertFactory
from tests.processor_running import TopicWindow, processor_group, wait_for, wait_processed

pytestmark = pytest.mark.integration

PARTITIONER = "murmur2_random"
BACKLOG = 3000  # a busy worker: the crash then lands with records in flight


def test_a_worker_whose_fetcher_crashed_exits_with_a_failure(
    network: Network, kafka_cluster: LocalCluster, tmp_path: Path
) -> None:
    shim = tmp_path / "without-compression"
    shim.mkdir()
    (shim / "cramjam.py").write_text('raise ImportError("not installed for this test")\n')
    admin = network.workspace.admin_connection()
    partitions = network.settings.topics.partitions
    factory = AlertFactory(network.directory, network.workspace.agency_keys, Codec())
    conn = network.workspace.agency_connection("RO-ANITP")
    backlog = [factory.alert("RO-ANITP", origin="RO", destination="AT") for _ in range(BACKLOG)]
    snappy = [factory.alert("RO-ANITP", origin="RO", destination="AT") for _ in range(3)]
    with processor_group(
        kafka_cluster.home, admin, tmp_path, ["w1"], partitions, PYTHONPATH=str(shim)
    ) as group:
        worker = group.workers["w1"]
        produce_all(conn, INBOUND, [(b.key, b.value) for b in backlog], partitioner=PARTITIONER)
        time.sleep(1.0)  # the worker is now busy with the backlog
        produce_all(
            conn,
            INBOUND,
            [(b.key, b.value) for b in snappy],
            partitioner=PARTITIONER,
            **{"compression.type": "snappy"},
        )
        wait_for(
            lambda: worker.process.poll() is not None,
            timeout=GRACE_SECONDS + 60,
            what="the worker to exit after its fetcher crashed",
        )
        log = worker.log.read_text()
        assert worker.process.returncode != 0, log[-3000:]
        assert "UnsupportedCodecError" in log


#: Loaded at the worker's start (``PYTHONPATH``): its 150th alert blocks the event loop.
HANG_AFTER = 150
BLOCKING_SHIM = f"""
import sys, threading, time

def _block_later():
    while getattr(sys.modules.get("processors.alerts"), "AlertRouter", None) is None:
        time.sleep(0.005)
    router = sys.modules["processors.alerts"].AlertRouter
    handle, seen = router.handle, [0]

    def blocking(self, source):
        seen[0] += 1
        if seen[0] > {HANG_AFTER}:
            time.sleep(10**6)  # the event loop waits for good
        return handle(self, source)

    router.handle = blocking

threading.Thread(target=_block_later, daemon=True).start()
"""
STALL_SECONDS = 15


def test_a_worker_that_stops_handling_waiting_records_exits_and_loses_nothing(
    network: Network, kafka_cluster: LocalCluster, tmp_path: Path
) -> None:
    shim = tmp_path / "blocking"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(BLOCKING_SHIM)
    admin = network.workspace.admin_connection()
    partitions = network.settings.topics.partitions
    factory = AlertFactory(network.directory, network.workspace.agency_keys, Codec())
    conn = network.workspace.agency_connection("RO-ANITP")
    alerts = [factory.alert("RO-ANITP", origin="RO", destination="AT") for _ in range(400)]
    recipients = factory.allowed(alerts[0].metadata)
    assert recipients
    window = TopicWindow.open(admin, [delivery_topic(a) for a in recipients])
    env = {"PYTHONPATH": str(shim), "CORRIDOR_PROCESSOR_STALL_EXIT_SECONDS": str(STALL_SECONDS)}
    with processor_group(
        kafka_cluster.home, admin, tmp_path, ["stuck"], partitions, **env
    ) as group:
        stuck = group.workers["stuck"]
        time.sleep(STALL_SECONDS + 5)
        assert stuck.process.poll() is None, "an idle worker ended itself"
        produced = produce_all(
            conn, INBOUND, [(a.key, a.value) for a in alerts], partitioner=PARTITIONER
        )
        wait_for(
            lambda: stuck.process.poll() is not None,
            timeout=STALL_SECONDS + 90,
            what="the blocked worker to end itself",
        )
        log = stuck.log.read_text()
        assert stuck.process.returncode == EXIT_FETCHER_DOWN, log[-3000:]
        assert "worker_stalled_exiting" in log
        assert "in blocking" in log  # the stacks it wrote show where it waited
        # What its supervisor does: start it again (here without the fault).
        del group.workers["stuck"]
        del group.env["PYTHONPATH"]
        group.start("restarted")
        wait_processed(admin, group.app_id, produced, timeout=180)
    ids = {a.value: a.alert_id for a in alerts}
    routed: dict[str, set[str]] = {}
    for msg in window.read():
        if msg.value in ids:
            routed.setdefault(msg.topic, set()).add(ids[msg.value])
    assert routed == {delivery_topic(a): set(ids.values()) for a in recipients}
