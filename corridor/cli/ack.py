"""``corridor ack``: answer an alert, optionally with a note sealed for its issuer."""

from __future__ import annotations

from pathlib import Path

import click

from consumers.answer import send_answer
from corridor.cli.context import CliContext
from corridor.cli.secrets import passphrase_from_env
from corridor.domain import AckStatus
from corridor.workspace import Workspace

__all__ = ["ack"]


@click.command()
@click.option("--as", "agency", metavar="AGENCY", required=True, help="The answering agency.")
@click.argument("alert_id")
@click.argument("status", type=click.Choice([s.value for s in AckStatus], case_sensitive=False))
@click.option("--note", metavar="TEXT", help="A note for the issuer, sealed so only it reads it.")
@click.option(
    "--passphrase-env",
    metavar="VAR",
    help="Variable holding the passphrase of the agency's private keys.",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where 'corridor consume' keeps its receipts (default: the agency's folder).",
)
@click.pass_obj
def ack(
    ctx: CliContext,
    *,
    agency: str,
    alert_id: str,
    status: str,
    note: str | None,
    passphrase_env: str | None,
    state_dir: Path | None,
) -> None:
    """Send AGENCY's signed STATUS for ALERT_ID back to the alert's issuer."""
    sent = send_answer(
        Workspace(ctx.home),
        ctx.settings(),
        agency,
        alert_id,
        AckStatus(status.upper()),
        note=note,
        state_dir=state_dir,
        passphrase=passphrase_from_env(passphrase_env),
    )
    with_note = " with a sealed note" if sent.note is not None else ""
    click.echo(
        f"sent {sent.status.value}{with_note} for alert {alert_id} to {sent.to_issuer} "
        f"(ack {sent.ack_id})"
    )
