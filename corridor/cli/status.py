"""``corridor status``: what flows where right now, as the operators see it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from corridor.cli.context import CliContext
from corridor.ops.reader import OpsReader
from corridor.ops.text import render_status
from corridor.workspace import Workspace


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--timeout",
    type=float,
    default=30.0,
    show_default=True,
    help="Seconds to wait for Kafka at each step.",
)
@click.pass_obj
def status(ctx: CliContext, as_json: bool, timeout: float) -> None:
    """Throughput per corridor and agency, decisions, dead letters, lag and workers.

    Read from Kafka with the operator's credentials: deliveries and decisions of the
    last minute and hour from the audit topic, dead letters, each agency's consumer lag
    on its delivery topic, and the processor workers in their consumer group.
    """
    settings = ctx.settings()
    reader = OpsReader(
        Workspace(ctx.home).operator_connection(),
        processor_group=settings.processor.app_id,
        timeout=timeout,
    )
    report = reader.status(datetime.now(UTC))
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2))
    else:
        click.echo(render_status(report), nl=False)
