"""A worker whose fetcher crashes ends, so that its supervisor restarts it.

The crash is real: the worker runs without the compression library, and an agency
publishes a snappy batch while the worker is busy with a backlog. faust then either
stops the worker itself or, about half the time, leaves it up and routing nothing
(``processors/fetch_guard.py``); either way it must exit with a failure status.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from corridor.codec import Codec
from corridor.infra.cluster import LocalCluster
from corridor.topics import INBOUND
from processors.fetch_guard import GRACE_SECONDS
from tests.conftest import Network
from tests.kafka_helpers import produce_all
from tests.processor_factories import AlertFactory
from tests.processor_running import processor_group, wait_for

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
