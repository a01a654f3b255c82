"""A person's answer to an alert (``corridor ack``): ACCEPTED, DECLINED, NEED_INFO...

The alert is looked up in the agency's receipts (whatever sink it went to), which say
whom to answer and on which corridor; the note is sealed for that issuer only. An alert
that arrived sealed for other agencies is answered the same way, typically with
``NEED_INFO`` to ask the issuer to seal it for this agency too.
"""

from __future__ import annotations

from pathlib import Path

from consumers.acknowledger import AckSender
from consumers.app import STATE_FILE, ack_producer_config, default_state_dir
from consumers.documents import iso
from consumers.exceptions import InboxError
from consumers.state import ConsumerState
from corridor.acks import Acknowledgement
from corridor.config import Settings
from corridor.directory_topic import read_directory
from corridor.domain import AckStatus
from corridor.kafka_clients import producer
from corridor.keys import signing_key_published
from corridor.schema_registry import codec_for
from corridor.workspace import Workspace

__all__ = ["send_answer"]


def send_answer(
    workspace: Workspace,
    settings: Settings,
    agency_id: str,
    alert_id: str,
    status: AckStatus,
    *,
    note: str | None = None,
    state_dir: Path | None = None,
    passphrase: bytes | None = None,
) -> Acknowledgement:
    """Sign and send ``agency_id``'s answer; returns it once the broker has it."""
    path = (state_dir or default_state_dir(workspace, agency_id)) / STATE_FILE
    state = ConsumerState(path, create=False)
    try:
        receipt = state.receipt(alert_id)
        if receipt is None:
            raise InboxError(f"{agency_id} has not received alert {alert_id}")
        conn = workspace.agency_connection(agency_id)
        keys = workspace.agency_keys(agency_id, passphrase)
        directory = read_directory(conn, workspace.authority_public_key())
        key = keys.signing
        if not signing_key_published(directory, agency_id, key):
            raise InboxError(
                f"the signing key {key.key_id} of {agency_id} is not one the directory "
                "publishes as valid now: the processors would refuse this answer; apply the "
                "directory with the agency's current keys first"
            )
        sender = AckSender(
            producer(conn, quiet=True, **ack_producer_config(settings)),
            codec=codec_for(conn),
            agency_id=agency_id,
            signing_key=keys.signing,
            directory=lambda: directory,
        )
        ack = sender.build(alert_id, receipt.corridor, receipt.issuer, status, note)
        sender.send(ack)
        sender.flush(30.0)
        state.record_sent_ack(
            ack_id=ack.ack_id,
            alert_id=alert_id,
            status=ack.status.value,
            has_note=note is not None,
            created_at=iso(ack.created_at),
        )
        return ack
    finally:
        state.close()
