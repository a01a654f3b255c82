"""``corridor inbox``: what an agency received, read from its sqlite inbox.

``corridor inbox --as AGENCY`` lists alerts, acknowledgements, link notices and
escalations; ``corridor inbox --as AGENCY show ALERT_ID`` prints one alert with its
body (personal data: this is the agency's own terminal) and the answers on both sides.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from consumers import ConsumerState, DeliveryKind, default_inbox, default_state_dir
from consumers.app import STATE_FILE
from consumers.exceptions import InboxError
from consumers.sinks import SqliteInbox
from corridor.cli.context import CliContext
from corridor.workspace import Workspace

__all__ = ["inbox"]


def _open(ctx: click.Context) -> SqliteInbox:
    options: dict[str, Any] = ctx.meta["corridor.inbox"]
    return SqliteInbox(options["db"], create=False)


def _sent_acks(ctx: click.Context, alert_id: str) -> list[tuple[str, str, str, bool]]:
    path: Path = ctx.meta["corridor.inbox"]["state"]
    if not path.exists():
        return []
    state = ConsumerState(path, create=False)
    try:
        return state.sent_acks(alert_id)
    finally:
        state.close()


@click.group(invoke_without_command=True)
@click.option("--as", "agency", metavar="AGENCY", required=True, help="The receiving agency.")
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The inbox file (default: the agency's inbox.sqlite).",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where 'corridor consume' keeps its receipts (default: the agency's folder).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of a table.")
@click.pass_context
def inbox(
    ctx: click.Context, agency: str, db: Path | None, state_dir: Path | None, as_json: bool
) -> None:
    """List what AGENCY received; 'show ALERT_ID' prints one alert in full."""
    cli_ctx: CliContext = ctx.obj
    workspace = Workspace(cli_ctx.home)
    ctx.meta["corridor.inbox"] = {
        "agency": agency,
        "db": db or default_inbox(workspace, agency),
        "state": (state_dir or default_state_dir(workspace, agency)) / STATE_FILE,
        "json": as_json,
    }
    if ctx.invoked_subcommand is None:
        _list(ctx)


def _list(ctx: click.Context) -> None:
    box = _open(ctx)
    try:
        alerts = box.alerts()
        acks = box.documents(DeliveryKind.ACKNOWLEDGEMENT)
        links = box.documents(DeliveryKind.LINK_NOTICE)
        escalations = box.documents(DeliveryKind.ESCALATION)
    finally:
        box.close()
    agency = ctx.meta["corridor.inbox"]["agency"]
    if ctx.meta["corridor.inbox"]["json"]:
        click.echo(
            json.dumps(
                {
                    "alerts": [
                        {k: v for k, v in a.document.items() if k != "body"} for a in alerts
                    ],
                    "acknowledgements": acks,
                    "link_notices": links,
                    "escalations": escalations,
                },
                indent=2,
            )
        )
        return
    click.echo(f"{len(alerts)} alerts received by {agency}")
    for a in alerts:
        sealed = "" if a.kind == DeliveryKind.ALERT else "  (sealed for others: ask with NEED_INFO)"
        click.echo(
            f"  {a.received_at[:19]}  {a.alert_id}  {a.corridor:<6} {a.issuer:<14} "
            f"{a.alert_type:<27} {a.priority:<9}{sealed}".rstrip()
        )
    if acks:
        click.echo(f"{len(acks)} answers to alerts {agency} issued")
        for d in acks:
            note = "  note: yes" if d.get("note") else ""
            click.echo(
                f"  {d['created_at'][:19]}  {d['alert_id']}  {d['from_agency']:<14} {d['status']}{note}"
            )
    if links:
        click.echo(f"{len(links)} link notices")
        for d in links:
            click.echo(
                f"  {d['created_at'][:19]}  {d['first']['alert_id']} ~ {d['second']['alert_id']}"
            )
    if escalations:
        click.echo(f"{len(escalations)} escalations")
        for d in escalations:
            click.echo(
                f"  {d['raised_at'][:19]}  {d['alert_id']}  {d['recipient']:<14} due {d['deadline'][:19]}"
            )


@inbox.command()
@click.argument("alert_id")
@click.pass_context
def show(ctx: click.Context, alert_id: str) -> None:
    """Print one alert: metadata, body, and the answers sent and received."""
    box = _open(ctx)
    try:
        alert = box.alert(alert_id)
        answers = box.documents(DeliveryKind.ACKNOWLEDGEMENT, alert_id)
    finally:
        box.close()
    sent = _sent_acks(ctx, alert_id)
    if alert is None and not answers:
        raise InboxError(f"alert {alert_id} is not in this inbox")
    document: dict[str, Any] = dict(alert.document) if alert is not None else {"alert_id": alert_id}
    document["answers_received"] = answers
    document["answers_sent"] = [
        {"ack_id": a, "status": s, "created_at": c, "note": n} for a, s, c, n in sent
    ]
    if alert is not None and alert.kind != DeliveryKind.ALERT:
        document["hint"] = (
            f"not sealed for this agency: corridor ack --as {ctx.meta['corridor.inbox']['agency']} "
            f"{alert_id} NEED_INFO --note '...'"
        )
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))
