"""An agency rotates its keys: nothing sealed to the old key or the new one is lost.

The agency's key files live in a copy of the session's home, so rotating them touches
no other test; the directory object the issuer seals with gets the new public key, as
it would once the authority has applied it.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from consumers import ConsumerState
from consumers.answer import send_answer
from consumers.app import STATE_FILE
from consumers.exceptions import InboxError
from consumers.sinks import SqliteInbox
from corridor.config import Settings
from corridor.connection import Connection
from corridor.domain import AckStatus, Directory, PublicKey
from corridor.keys import AgencyKeys, rotate_agency_keys
from corridor.topics import delivery_topic
from corridor.workspace import Workspace
from tests.conftest import Network
from tests.consumer_factories import AlertFactory, SealedCase, deliver_alerts
from tests.consumer_running import fresh_group, running_consumer, wait_for

pytestmark = pytest.mark.integration

AGENCY = "DE-COUNSEL"


def _agency_home(workspace: Workspace, agency_id: str, target: Path) -> Workspace:
    """What the agency's consumer reads from the home (its keys included), copied."""
    home = workspace.home
    target.mkdir()
    for name in ("connection.json", "tls", "authority"):
        source = home / name
        if source.is_dir():
            shutil.copytree(source, target / name)
        elif source.exists():
            shutil.copy2(source, target / name)
    shutil.copytree(workspace.agency_dir(agency_id), target / "agencies" / agency_id)
    return Workspace(target)


def _with_new_key(directory: Directory, keys: AgencyKeys) -> Directory:
    """The directory once the authority added the rotated encryption key."""
    agency = directory.agencies[keys.agency_id]
    new = PublicKey(keys.encryption.key_id, keys.encryption.public_bytes(), keys.valid_from)
    rotated = replace(agency, encryption_keys=(*agency.encryption_keys, new))
    return replace(directory, agencies={**directory.agencies, keys.agency_id: rotated})


def _opened(inbox: SqliteInbox, case: SealedCase) -> bool:
    row = inbox.alert(case.alert.metadata.alert_id)
    return row is not None and row.body == case.body_bytes


def test_alerts_sealed_before_and_after_a_rotation_are_all_opened(
    network: Network,
    admin_conn: Connection,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    home = _agency_home(network.workspace, AGENCY, tmp_path / "home")
    settings = Settings(home=home.home)
    before = AlertFactory(
        network.workspace, network.directory, destination="DE", sealed_for=[AGENCY]
    )
    first, waiting = before.seal(0), before.seal(1)
    group = fresh_group(admin_conn, AGENCY)
    state_dir, inbox_path = tmp_path / "state", tmp_path / "inbox.sqlite"
    inbox = SqliteInbox(inbox_path)

    with running_consumer(
        home, settings, AGENCY, state_dir, sink=f"sqlite:{inbox_path}", group=group
    ) as consumer:
        deliver_alerts(admin_conn, AGENCY, [first])
        wait_for(lambda: _opened(inbox, first), what="the alert sealed to the first key")

        # The agency rotates while its consumer runs; the authority applies the new key
        # and issuers seal to it. The running consumer has never seen that key.
        rotated = rotate_agency_keys(home.keys_dir(AGENCY), AGENCY)
        after = AlertFactory(
            network.workspace,
            _with_new_key(network.directory, rotated),
            destination="DE",
            sealed_for=[AGENCY],
        )
        fresh = after.seal(2)
        assert fresh.alert.recipients[0].key_id == rotated.encryption.key_id
        deliver_alerts(admin_conn, AGENCY, [fresh])
        wait_for(lambda: _opened(inbox, fresh), what="the alert sealed to the new key")
        assert consumer.stats.quarantined == 0

    # Until the directory publishes the new signing key, an answer signed with it would
    # be refused by the processors: `corridor ack` says so instead of sending it.
    with pytest.raises(InboxError, match="is not one the directory publishes as valid now"):
        send_answer(
            home,
            settings,
            AGENCY,
            first.alert.metadata.alert_id,
            AckStatus.ACCEPTED,
            state_dir=state_dir,
        )

    # An alert sealed to the old key arrives late (its issuer's publisher was behind):
    # the restarted consumer loads the retired key from the files and opens it.
    # It also warns that its acknowledgements wait for the directory.
    deliver_alerts(admin_conn, AGENCY, [waiting])
    with (
        caplog.at_level(logging.WARNING, logger="corridor.consumer"),
        running_consumer(
            home, settings, AGENCY, state_dir, sink=f"sqlite:{inbox_path}", group=group
        ) as restarted,
    ):
        wait_for(lambda: _opened(inbox, waiting), what="the late alert sealed to the old key")
        assert restarted.stats.quarantined == 0
    assert "signing_key_not_published" in [r.message for r in caplog.records]
    inbox.close()

    state = ConsumerState(state_dir / STATE_FILE, create=False)
    quarantined = [q for q in state.quarantined() if q.topic == delivery_topic(AGENCY)]
    state.close()
    assert quarantined == []
    assert waiting.alert.recipients[0].key_id == rotated.retired[0].key.key_id
