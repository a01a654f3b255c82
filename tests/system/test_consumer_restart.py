"""``corridor consume`` killed with SIGKILL mid-stream, restarted: every alert once.

The consumer runs as a user runs it, a ``corridor consume`` process; it is killed
while the inbox is filling, started again on the same group and inbox, and finally
stopped with SIGTERM, which must finish the batch in hand and exit 0.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from consumers.sinks import SqliteInbox
from corridor.connection import Connection
from corridor.domain import AckStatus
from tests.conftest import Network
from tests.consumer_factories import AlertFactory, deliver_alerts
from tests.consumer_running import fresh_group, read_acks, topic_end, wait_for

pytestmark = pytest.mark.system

AGENCY = "DE-BKA"
ALERTS = 500


def _start(
    home: Path, inbox: Path, state_dir: Path, group: str, log: Path
) -> subprocess.Popen[bytes]:
    corridor = Path(sys.executable).with_name("corridor")
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                str(corridor),
                "--home",
                str(home),
                "consume",
                "--as",
                AGENCY,
                "--sink",
                f"sqlite:{inbox}",
                "--group",
                group,
                "--state-dir",
                str(state_dir),
                "--metrics-port",
                "0",
                "--batch-size",
                "10",
                "--instance-id",
                f"{group}-1",
            ],
            stdout=out,
            stderr=out,
            env={**os.environ, "CORRIDOR_LOG_LEVEL": "WARNING"},
        )


def test_a_killed_consumer_leaves_every_alert_in_the_inbox_exactly_once(
    network: Network, admin_conn: Connection, tmp_path: Path
) -> None:
    factory = AlertFactory(
        network.workspace, network.directory, destination="DE", sealed_for=[AGENCY]
    )
    cases = [factory.seal(n) for n in range(ALERTS)]
    group, acks_from = fresh_group(admin_conn, AGENCY), topic_end(admin_conn)
    deliver_alerts(admin_conn, AGENCY, cases)
    ids = {c.alert_id for c in cases}
    inbox_path, state_dir, log = tmp_path / "inbox.sqlite", tmp_path / "state", tmp_path / "log"
    inbox = SqliteInbox(inbox_path)

    def ours() -> int:
        return len(ids & inbox.alert_ids())

    first = _start(network.workspace.home, inbox_path, state_dir, group, log)
    try:
        wait_for(lambda: ours() >= 30 or first.poll() is not None, what="the first deliveries")
        first.send_signal(signal.SIGKILL)
        assert first.wait(30) == -signal.SIGKILL, log.read_text()
    finally:
        if first.poll() is None:
            first.kill()
    assert ours() < ALERTS, "the consumer finished before it could be killed mid-stream"

    second = _start(network.workspace.home, inbox_path, state_dir, group, log)
    try:
        wait_for(lambda: ours() == ALERTS, timeout=120, what="every alert after the restart")
        second.send_signal(signal.SIGTERM)
        assert second.wait(60) == 0, log.read_text()
    finally:
        if second.poll() is None:
            second.kill()

    rows = {a.alert_id: a for a in inbox.alerts() if a.alert_id in ids}
    assert len(rows) == ALERTS
    for case in cases:
        assert rows[case.alert_id].body == case.body_bytes
    # SQLite's primary key would refuse a second row; what shows it is exactly once is
    # that a redelivered alert was recognised, not written again.
    assert all(row.document["alert_id"] == alert_id for alert_id, row in rows.items())
    inbox.close()

    try:
        acks = read_acks(
            admin_conn,
            ids,
            since=acks_from,
            until=lambda found: ids <= {a.alert_id for a in found},
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the consumer's log:\n{log.read_text()[-4000:]}") from exc
    received = [a for a in acks if a.status is AckStatus.RECEIVED]
    assert {a.alert_id for a in received} == ids
    assert len({a.ack_id for a in received}) == ALERTS  # a resent RECEIVED keeps its id
