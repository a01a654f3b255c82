"""``corridor agreements``: are the cooperation agreements actually implemented?"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import click

from corridor.cli.context import CliContext
from corridor.directory_topic import read_directory
from corridor.ops.reader import OpsReader
from corridor.ops.text import render_agreements
from corridor.workspace import Workspace


@click.group()
def agreements() -> None:
    """Follow-up of the cooperation agreements in the directory."""


@agreements.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--days",
    type=click.FloatRange(min=0, min_open=True),
    default=7.0,
    show_default=True,
    help="Period of the exchanges and acknowledgements counted.",
)
@click.option(
    "--dormant-after-days",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Days without an exchange after which an agreement in force is dormant "
    "[default: processor.dormant_after_days].",
)
@click.option("--timeout", type=float, default=60.0, show_default=True)
@click.pass_obj
def report(
    ctx: CliContext,
    as_json: bool,
    days: float,
    dormant_after_days: float | None,
    timeout: float,
) -> None:
    """Per agreement: exchanges, acknowledgement rate and time, overdue, last exchange, dormant."""
    settings = ctx.settings()
    workspace = Workspace(ctx.home)
    conn = workspace.operator_connection()
    directory = read_directory(conn, workspace.authority_public_key(), timeout=timeout)
    dormant = dormant_after_days or float(settings.processor.dormant_after_days)
    result = OpsReader(conn, processor_group=settings.processor.app_id, timeout=timeout).agreements(
        directory,
        datetime.now(UTC),
        period=timedelta(days=days),
        dormant_after=timedelta(days=dormant),
    )
    if as_json:
        click.echo(json.dumps(result.as_json(), indent=2))
    else:
        click.echo(render_agreements(result), nl=False)
