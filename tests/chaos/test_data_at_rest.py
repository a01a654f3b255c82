"""Data at rest: a victim's name appears in clear only in the recipient's inbox.

Alerts whose victim is named by a canary (given and family names, and the narrative)
go the whole way on the three-node cluster: published, routed by a processor worker,
received by RO-IGPR's consumer into its sqlite inbox, acknowledged; one is re-sent (a
replay, dead-lettered with its sealed bytes). Then every
file under the cluster's home (each node's log segments and logs, the processors' state
directory, every agency's folder) and every log the chaos tests captured is searched
for the canary, in any letter case. It must be found in the inbox, which proves the
search can find it, and nowhere else. A second, clear-text canary written to a test
topic proves the search reads the brokers' segments.

Runs last in the session (see conftest.py), so the logs searched are every chaos test's.
"""

from __future__ import annotations

import logging
import os
import secrets
import string
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from corridor.infra.cluster import LocalCluster
from corridor.kafka_clients import admin_client
from corridor.topics import TopicSpec, ensure_topics
from producers import open_publisher
from producers.samples import sample_alerts
from tests.chaos.pipeline import ConsumerProcess, running, settle
from tests.chaos.tally import Tally
from tests.conftest import Network, unique
from tests.consumer_running import fresh_group
from tests.kafka_helpers import produce_all
from tests.processor_running import free_port, processor_group

pytestmark = [pytest.mark.system, pytest.mark.cluster, pytest.mark.chaos]

ALERTS = 30
RECIPIENT = "RO-IGPR"
CHUNK = 1 << 20
DEBUG = {"CORRIDOR_LOG_LEVEL": "DEBUG"}


def canary() -> str:
    return "Kanarie" + "".join(secrets.choice(string.ascii_letters) for _ in range(20))


def files_under(roots: Iterable[Path]) -> Iterator[Path]:
    for root in roots:
        for folder, _, names in os.walk(root):
            for name in names:
                path = Path(folder) / name
                if path.is_file() and not path.is_symlink():
                    yield path


def extents(fd: int, size: int) -> Iterator[tuple[int, int]]:
    """The parts of a file that hold data: the brokers preallocate sparse index files."""
    position = 0
    while position < size:
        try:
            start = os.lseek(fd, position, os.SEEK_DATA)
        except OSError:  # no data after ``position``
            return
        end = os.lseek(fd, start, os.SEEK_HOLE)
        yield start, end
        position = end


def holds(path: Path, needle: bytes) -> bool:
    """Whether the file contains ``needle`` (lower case ASCII), in any letter case.

    Holes read as zeros, and the needle has none, so it cannot span one.
    """
    overlap = len(needle) - 1
    try:
        with path.open("rb") as handle:
            fd = handle.fileno()
            for start, end in extents(fd, os.fstat(fd).st_size):
                handle.seek(start)
                tail = b""
                remaining = end - start
                while remaining > 0 and (chunk := handle.read(min(CHUNK, remaining))):
                    remaining -= len(chunk)
                    window = (tail + chunk).lower()
                    if needle in window:
                        return True
                    tail = window[-overlap:]
    except (FileNotFoundError, PermissionError):  # a segment deleted while we read
        return False
    return False


def with_victim(alert: dict[str, Any], name: str) -> dict[str, Any]:
    person = alert["body"]["person"]
    person["given_names"] = [name]
    person["family_names"] = [name[::-1]]
    alert["body"]["narrative"] = f"{name} was recruited with a false job offer."
    return alert


@pytest.fixture
def debug_log(chaos_logs: Path) -> Iterator[Path]:
    """The test process's own Corridor logs (the publisher's), at DEBUG, into a file."""
    path = chaos_logs / f"test-process-{uuid.uuid4().hex[:6]}.log"
    handler = logging.FileHandler(path)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger("corridor")
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


def test_a_victims_name_rests_only_in_the_recipients_inbox(
    network3: Network,
    cluster3: LocalCluster,
    chaos_logs: Path,
    chaos_tally: Tally,
    debug_log: Path,
) -> None:
    name, control = canary(), canary()
    admin = network3.workspace.admin_connection()
    logs = chaos_logs / f"at-rest-{uuid.uuid4().hex[:6]}"
    logs.mkdir()
    inbox = ConsumerProcess(
        cluster3.home, RECIPIENT, fresh_group(admin, RECIPIENT), logs / RECIPIENT, env=DEBUG
    )
    alerts = [
        with_victim(alert, name)
        for alert in sample_alerts(
            ALERTS, key_prefix=f"chaos-at-rest-{uuid.uuid4()}", routes={"RO>AT": (RECIPIENT,)}
        )
    ]
    partitions = network3.settings.topics.partitions
    page = {"CORRIDOR_PROCESSOR_WEB_PORT": str(free_port())}  # its logs are searched too
    with (
        processor_group(cluster3.home, admin, logs, ["w1"], partitions, **DEBUG, **page),
        running({RECIPIENT: inbox}),
    ):
        with open_publisher(network3.settings, "AT-BKA") as publisher:
            ids = {publisher.publish(alert).result(60).alert_id for alert in alerts}
            publisher.publish(alerts[0]).result(60)  # a replay: dead-lettered
        arrived = settle(lambda: ids <= set(inbox.holdings()), timeout=120)
        assert inbox.stop() == 0
    assert arrived, f"{len(ids - set(inbox.holdings()))} canary alerts never arrived"

    topic = unique("test.canary-control")
    ensure_topics(
        admin_client(admin, quiet=True),
        [TopicSpec(topic, 1)],
        replication_factor=3,
        min_insync_replicas=2,
    )
    produce_all(admin, topic, [(None, f"control {control}".encode())])

    needle, control_needle = name.lower().encode(), control.lower().encode()
    sink = {inbox.path, *(inbox.path.with_name(inbox.path.name + s) for s in ("-wal", "-shm"))}
    searched = sorted(set(files_under([cluster3.home, chaos_logs])) - sink)
    leaks = [path for path in searched if holds(path, needle)]
    size = sum(path.stat().st_blocks * 512 for path in searched if path.exists())
    in_inbox = [path for path in sink if path.exists() and holds(path, needle)]
    segments = [p for p in searched if p.suffix == ".log" and "/data/" in str(p)]
    controls = [path for path in segments if holds(path, control_needle)]
    print(
        f"\ndata at rest: {len(searched)} files ({size >> 20} MiB) searched; canary in "
        f"{[p.name for p in in_inbox]}, control in {len(controls)} segments, leaks {leaks}"
    )

    chaos_tally.add(
        "unauthorised reads",
        "files holding a victim's name outside the inbox",
        len(leaks),
        f"{len(searched)} files, {size >> 20} MiB searched",
    )

    assert in_inbox, "the canary is not even in the inbox: the search proves nothing"
    assert len(controls) >= 2, "the clear-text control was not found in the segments"
    assert leaks == [], leaks
