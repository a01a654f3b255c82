"""Publish, process, consume: the whole way of an alert and of its acknowledgement.

The issuer publishes with the producers SDK, a ``corridor process`` worker routes, the
authorised agency's consumer delivers to its inbox and answers ``RECEIVED``, the
processor routes the answer back, and the issuer's consumer puts it in the issuer's
inbox, verified against the directory once more.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from consumers import DeliveryKind
from consumers.sinks import SqliteInbox
from corridor.acks import received_ack_id
from corridor.codec import Codec
from producers import open_publisher
from tests.conftest import Network
from tests.consumer_factories import body_record
from tests.consumer_running import fresh_group, running_consumer, wait_for
from tests.processor_running import ProcessorGroup

pytestmark = pytest.mark.system

ISSUER = "RO-ANITP"
RECIPIENT = "AT-BKA"


def _draft(n: int) -> dict[str, Any]:
    return {
        "idempotency_key": f"pipeline/{uuid.uuid4()}",
        "issuer": ISSUER,
        "case_ref": f"ANITP-PIPE-{n}",
        "corridor": {"origin": "RO", "destination": "AT"},
        "alert_type": "REFERRAL_REQUEST",
        "phase": "FIRST_ASSISTANCE_AND_PROTECTION",
        "priority": "URGENT",
        "handling": "H1",
        "tlp": "AMBER",
        "consent": "FULL",
        "data_categories": [
            "IDENTITY",
            "TRAVEL_DOCUMENTS",
            "LOCATION",
            "ASSISTANCE_NEEDS",
            "EXPLOITATION_DETAILS",
        ],
        "addressees": [RECIPIENT],
        "body": body_record(n),
    }


def test_a_published_alert_reaches_the_inbox_and_the_issuer_its_acknowledgement(
    network: Network, worker: ProcessorGroup, tmp_path: Path
) -> None:
    drafts = [_draft(n) for n in range(3)]
    admin = network.workspace.admin_connection()
    groups = {agency: fresh_group(admin, agency) for agency in (RECIPIENT, ISSUER)}
    with open_publisher(network.settings, ISSUER) as publisher:
        futures = [publisher.publish(draft) for draft in drafts]
        published = [future.result() for future in futures]
    ids = [d.alert_id for d in published]
    assert all(d.ok for d in published)

    inbox_path, issuer_path = tmp_path / "at.sqlite", tmp_path / "ro.sqlite"
    workspace, settings = network.workspace, network.settings
    with (
        running_consumer(
            workspace,
            settings,
            RECIPIENT,
            tmp_path / "at",
            sink=f"sqlite:{inbox_path}",
            group=groups[RECIPIENT],
        ),
        running_consumer(
            workspace,
            settings,
            ISSUER,
            tmp_path / "ro",
            sink=f"sqlite:{issuer_path}",
            group=groups[ISSUER],
        ),
    ):
        inbox, issuer_inbox = SqliteInbox(inbox_path), SqliteInbox(issuer_path)
        wait_for(lambda: set(ids) <= inbox.alert_ids(), what="the alerts in the inbox")
        wait_for(
            lambda: all(issuer_inbox.documents(DeliveryKind.ACKNOWLEDGEMENT, i) for i in ids),
            timeout=120,
            what="the RECEIVED acknowledgements in the issuer's inbox",
        )

    codec = Codec()
    for alert_id, draft in zip(ids, drafts, strict=True):
        row = inbox.alert(alert_id)
        assert row is not None
        assert row.kind == DeliveryKind.ALERT
        assert row.body is not None
        assert codec.decode_as("AlertBody", row.body) == draft["body"]
        assert row.document["body"] == draft["body"]
        assert row.issuer == ISSUER
        (answer,) = issuer_inbox.documents(DeliveryKind.ACKNOWLEDGEMENT, alert_id)
        assert answer["status"] == "RECEIVED"
        assert answer["from_agency"] == RECIPIENT
        assert answer["ack_id"] == received_ack_id(RECIPIENT, alert_id)
    inbox.close()
    issuer_inbox.close()
