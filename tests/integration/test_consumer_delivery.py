"""An agency's consumer on the real broker: inbox, RECEIVED, NEED_INFO, the issuer's side."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from consumers import ConsumerState, DeliveryKind
from consumers.app import STATE_FILE
from consumers.sinks import SqliteInbox
from corridor.acks import open_note, verify_ack
from corridor.cli.main import cli
from corridor.codec import Codec
from corridor.connection import Connection
from corridor.domain import AckStatus
from tests.conftest import Network
from tests.consumer_factories import (
    AlertFactory,
    ack_bytes,
    ack_for,
    deliver,
    deliver_alerts,
    escalation,
    link_notice,
)
from tests.consumer_running import fresh_group, read_acks, running_consumer, topic_end, wait_for

pytestmark = pytest.mark.integration


def test_an_alert_lands_in_the_inbox_as_sealed_and_is_acknowledged(
    network: Network, admin_conn: Connection, tmp_path: Path
) -> None:
    factory = AlertFactory(network.workspace, network.directory, sealed_for=["AT-BKA", "DE-BKA"])
    cases = [factory.seal(n) for n in range(3)]
    elsewhere = factory.seal(9, sealed_for=["DE-BKA"])
    group, acks_from = fresh_group(admin_conn, "AT-BKA"), topic_end(admin_conn)
    deliver_alerts(admin_conn, "AT-BKA", [*cases, elsewhere])
    ids = {c.alert_id for c in cases}
    inbox_path = tmp_path / "inbox.sqlite"

    with running_consumer(
        network.workspace,
        network.settings,
        "AT-BKA",
        tmp_path / "state",
        sink=f"sqlite:{inbox_path}",
        group=group,
    ) as consumer:
        inbox = SqliteInbox(inbox_path)
        wait_for(
            lambda: all(inbox.alert(i) is not None for i in [*ids, elsewhere.alert_id]),
            what="the alerts in the inbox",
        )
        acks = read_acks(
            admin_conn,
            ids | {elsewhere.alert_id},
            since=acks_from,
            until=lambda a: ids <= {x.alert_id for x in a},
        )
        assert (
            consumer.metric(
                "corridor_deliveries_total", agency="AT-BKA", sink="sqlite", outcome="delivered"
            )
            == 4
        )

    codec = Codec()
    for case in cases:
        row = inbox.alert(case.alert_id)
        assert row is not None
        assert row.kind == DeliveryKind.ALERT
        assert row.body == case.body_bytes
        assert codec.decode_as("AlertBody", row.body) == case.body
        assert row.document["body"] == case.body
        assert row.document["delivery"]["agreement_id"] == "RO-AT-POLICE-2022"
        assert row.times_received == 1

    metadata_only = inbox.alert(elsewhere.alert_id)
    assert metadata_only is not None
    assert metadata_only.kind == DeliveryKind.SEALED_FOR_OTHERS
    assert metadata_only.body is None
    assert metadata_only.document["body"] is None
    assert metadata_only.document["metadata"]["alert_id"] == elsewhere.alert_id

    at_bka = network.directory.agencies["AT-BKA"]
    received = [a for a in acks if a.status is AckStatus.RECEIVED]
    assert {a.alert_id for a in received} == ids  # none for the alert it could not open
    for ack in received:
        verify_ack(ack, at_bka)
        assert ack.from_agency == "AT-BKA"
        assert ack.to_issuer == "RO-ANITP"
        assert ack.corridor.key == "RO>AT"
    inbox.close()


def test_an_alert_sealed_for_others_can_be_asked_for_and_the_issuer_gets_the_answer(
    network: Network, admin_conn: Connection, tmp_path: Path
) -> None:
    workspace, directory = network.workspace, network.directory
    factory = AlertFactory(workspace, directory, sealed_for=["DE-BKA"])
    case = factory.seal(1)
    at_group, acks_from = fresh_group(admin_conn, "AT-BFA"), topic_end(admin_conn)
    deliver_alerts(admin_conn, "AT-BFA", [case])
    state_dir = tmp_path / "at-state"
    with running_consumer(
        workspace,
        network.settings,
        "AT-BFA",
        state_dir,
        sink=f"sqlite:{tmp_path / 'at.sqlite'}",
        group=at_group,
    ):
        inbox = SqliteInbox(tmp_path / "at.sqlite")
        wait_for(lambda: inbox.alert(case.alert_id) is not None, what="the metadata-only alert")
        inbox.close()

    home = ["--home", str(workspace.home)]
    where = ["--db", str(tmp_path / "at.sqlite"), "--state-dir", str(state_dir)]
    listing = CliRunner().invoke(cli, [*home, "inbox", "--as", "AT-BFA", *where])
    assert listing.exit_code == 0, listing.output
    assert f"{case.alert_id}" in listing.output
    assert "sealed for others: ask with NEED_INFO" in listing.output
    note = "Please seal this alert for AT-BFA as well."
    sent = CliRunner().invoke(
        cli,
        [
            *home,
            "ack",
            "--as",
            "AT-BFA",
            case.alert_id,
            "need_info",
            "--note",
            note,
            "--state-dir",
            str(state_dir),
        ],
    )
    assert sent.exit_code == 0, sent.output
    ack_id = sent.output.rsplit("(ack ", 1)[1].split(")")[0]
    (on_topic,) = read_acks(
        admin_conn, {case.alert_id}, since=acks_from, until=lambda a: len(a) >= 1
    )
    assert on_topic.ack_id == ack_id
    assert on_topic.status is AckStatus.NEED_INFO
    shown = CliRunner().invoke(
        cli, [*home, "inbox", "--as", "AT-BFA", *where, "show", case.alert_id]
    )
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.output)
    assert document["body"] is None
    assert [a["status"] for a in document["answers_sent"]] == ["NEED_INFO"]
    unknown = CliRunner().invoke(
        cli,
        [
            *home,
            "ack",
            "--as",
            "AT-BFA",
            str(uuid.uuid4()),
            "ACCEPTED",
            "--state-dir",
            str(state_dir),
        ],
    )
    assert unknown.exit_code != 0
    assert "has not received alert" in str(unknown.exception)
    verify_ack(on_topic, directory.agencies["AT-BFA"])
    issuer_keys = workspace.agency_keys("RO-ANITP")
    assert open_note(on_topic, "RO-ANITP", issuer_keys.encryption) == note

    # The processors route the answer to the issuer, with a link notice and an escalation;
    # a forged copy of the answer is refused on the issuer's side.
    sealed_for_at = factory.seal(2, sealed_for=["AT-BFA"])
    other_answer = ack_for(
        sealed_for_at, workspace, directory, status=AckStatus.DECLINED, note="no capacity"
    )
    forged = ack_bytes(replace(other_answer, status=AckStatus.ACCEPTED))
    issuer_group = fresh_group(admin_conn, "RO-ANITP")
    deliver(
        admin_conn,
        "RO-ANITP",
        [(b"RO>AT", ack_bytes(on_topic)), (b"RO>AT", forged)],
        event="Acknowledgement",
    )
    deliver(
        admin_conn, "RO-ANITP", [(b"RO>AT", link_notice(case, sealed_for_at))], event="LinkNotice"
    )
    deliver(admin_conn, "RO-ANITP", [(b"RO>AT", escalation(case, "AT-BFA"))], event="Escalation")

    issuer_inbox = tmp_path / "ro.sqlite"
    with running_consumer(
        workspace,
        network.settings,
        "RO-ANITP",
        tmp_path / "ro-state",
        sink=f"sqlite:{issuer_inbox}",
        group=issuer_group,
    ):
        box = SqliteInbox(issuer_inbox)
        wait_for(
            lambda: (
                bool(box.documents(DeliveryKind.ACKNOWLEDGEMENT, case.alert_id))
                and any(
                    d["first"]["alert_id"] == case.alert_id
                    for d in box.documents(DeliveryKind.LINK_NOTICE)
                )
                and bool(box.documents(DeliveryKind.ESCALATION, case.alert_id))
            ),
            what="the answer, link notice and escalation in the issuer's inbox",
        )

    state = ConsumerState(tmp_path / "ro-state" / STATE_FILE, create=False)
    quarantined = state.quarantined()
    state.close()

    (got,) = box.documents(DeliveryKind.ACKNOWLEDGEMENT, case.alert_id)
    assert got["status"] == "NEED_INFO"
    assert got["from_agency"] == "AT-BFA"
    assert got["note"] == "Please seal this alert for AT-BFA as well."
    assert not box.documents(DeliveryKind.ACKNOWLEDGEMENT, sealed_for_at.alert_id)
    assert any(q.value == forged and q.reason == "BAD_SIGNATURE" for q in quarantined)
    box.close()
