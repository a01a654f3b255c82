"""Records written straight to a delivery topic by an admin are refused, never delivered."""

from __future__ import annotations

from pathlib import Path

import pytest

from consumers import ConsumerState
from consumers.app import STATE_FILE
from consumers.sinks import SqliteInbox
from corridor.connection import Connection
from corridor.domain import AckStatus
from corridor.topics import delivery_topic
from tests.conftest import Network
from tests.consumer_factories import (
    AlertFactory,
    deliver,
    deliver_alerts,
    flip_ciphertext,
    forged_by,
    upgrade_priority,
)
from tests.consumer_running import fresh_group, read_acks, running_consumer, topic_end, wait_for

pytestmark = pytest.mark.integration

AGENCY = "DE-COUNSEL"


def test_tampered_records_are_quarantined_and_the_stream_goes_on(
    network: Network, admin_conn: Connection, tmp_path: Path
) -> None:
    factory = AlertFactory(
        network.workspace, network.directory, destination="DE", sealed_for=[AGENCY]
    )
    before, altered, reprioritised, forged, after = (factory.seal(n) for n in range(5))
    garbage = b"\xc3\x01" + b"\x00" * 8 + b"not avro"
    plain = b'{"alert_id": "plain json"}'
    expected = {
        (flip_ciphertext(altered), "BAD_SIGNATURE"),
        (upgrade_priority(reprioritised), "BAD_SIGNATURE"),
        (forged_by(forged, network.workspace, "RO-IGPR"), "BAD_SIGNATURE"),
        (garbage, "UNDECODABLE"),
        (plain, "UNDECODABLE"),
        (None, "UNDECODABLE"),
    }
    group, acks_from = fresh_group(admin_conn, AGENCY), topic_end(admin_conn)
    deliver_alerts(admin_conn, AGENCY, [before])
    deliver(
        admin_conn,
        AGENCY,
        [(b"RO>DE", value) for value, _ in sorted(expected, key=lambda e: e[0] or b"")],
    )
    deliver_alerts(admin_conn, AGENCY, [after])
    refused = {altered.alert_id, reprioritised.alert_id, forged.alert_id}
    state_dir = tmp_path / "state"
    inbox_path = tmp_path / "inbox.sqlite"

    with running_consumer(
        network.workspace,
        network.settings,
        AGENCY,
        state_dir,
        sink=f"sqlite:{inbox_path}",
        group=group,
    ) as consumer:
        inbox = SqliteInbox(inbox_path)
        wait_for(
            lambda: inbox.alert(after.alert_id) is not None, what="the alert after the bad ones"
        )
        acks = read_acks(
            admin_conn,
            refused | {before.alert_id, after.alert_id},
            since=acks_from,
            until=lambda found: after.alert_id in {a.alert_id for a in found},
        )
        bad_signatures = consumer.metric(
            "corridor_deliveries_quarantined_total", agency=AGENCY, reason="BAD_SIGNATURE"
        )
        undecodable = consumer.metric(
            "corridor_deliveries_quarantined_total", agency=AGENCY, reason="UNDECODABLE"
        )

    delivered = {a.alert_id for a in inbox.alerts()}
    assert {before.alert_id, after.alert_id} <= delivered
    assert not refused & delivered
    inbox.close()

    state = ConsumerState(state_dir / STATE_FILE, create=False)
    quarantined = [q for q in state.quarantined() if q.topic == delivery_topic(AGENCY)]
    state.close()
    values = {value for value, _ in expected}
    assert {(q.value, q.reason) for q in quarantined if q.value in values} == expected
    assert bad_signatures == sum(q.reason == "BAD_SIGNATURE" for q in quarantined)
    assert undecodable == sum(q.reason == "UNDECODABLE" for q in quarantined)
    assert all(q.detail and "Maria" not in q.detail for q in quarantined)

    answered = {a.alert_id for a in acks if a.status is AckStatus.RECEIVED}
    assert answered == {before.alert_id, after.alert_id}

    # --from-beginning on the same group reads it all again: the good alerts are
    # recognised, the bad ones are not delivered (nor counted) a second time.
    with running_consumer(
        network.workspace,
        network.settings,
        AGENCY,
        state_dir,
        sink=f"sqlite:{inbox_path}",
        group=group,
        from_beginning=True,
    ) as again:
        inbox = SqliteInbox(inbox_path)

        def seen_twice() -> bool:
            rows = [inbox.alert(c.alert_id) for c in (before, after)]
            return all(r is not None and r.times_received == 2 for r in rows)

        wait_for(seen_twice, what="the replay of the good alerts")
        assert not refused & inbox.alert_ids()
        inbox.close()
    assert again.stats.duplicates >= 2
    state = ConsumerState(state_dir / STATE_FILE, create=False)
    ours = {(q.partition, q.offset) for q in quarantined}
    assert [q for q in state.quarantined() if (q.partition, q.offset) in ours] == quarantined
    state.close()
