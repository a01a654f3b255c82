"""``corridor consume``: deliver an agency's alerts to its sink and acknowledge them."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import click
from prometheus_client import CollectorRegistry

from consumers import ConsumerOptions, build_consumer
from corridor.cli.context import CliContext
from corridor.cli.secrets import passphrase_from_env
from corridor.metrics import serve_metrics
from corridor.workspace import Workspace

__all__ = ["consume"]


@click.command()
@click.option("--as", "agency", metavar="AGENCY", required=True, help="The receiving agency.")
@click.option(
    "--sink",
    metavar="SPEC",
    default="sqlite",
    show_default=True,
    help="sqlite[:PATH] (the inbox), jsonl:PATH, http:URL or stdout.",
)
@click.option(
    "--from-beginning",
    is_flag=True,
    help="Read the delivery topic again from its start (sinks skip what they hold).",
)
@click.option(
    "--group", metavar="ID", help="Consumer group named AGENCY.<name> (default AGENCY.consumer)."
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Receipts, quarantine and http retry store (default: the agency's folder).",
)
@click.option(
    "--instance-id",
    metavar="ID",
    help="Static group membership: a restart with the same ID resumes at once.",
)
@click.option("--metrics-port", type=int, help="Prometheus port; 0 turns it off.")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 10000),
    default=500,
    show_default=True,
    help="Records per sink transaction and offset commit.",
)
@click.option("--passphrase-env", metavar="VAR", help="Variable holding the key passphrase.")
@click.pass_obj
def consume(
    ctx: CliContext,
    *,
    agency: str,
    sink: str,
    from_beginning: bool,
    group: str | None,
    state_dir: Path | None,
    instance_id: str | None,
    metrics_port: int | None,
    batch_size: int,
    passphrase_env: str | None,
) -> None:
    """Receive AGENCY's alerts: verify, open, deliver to the sink, acknowledge.

    Runs until SIGTERM or Ctrl-C, then finishes the batch in hand and exits.
    """
    settings = ctx.settings()
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    # Before anything slow (connecting, reading the directory): a SIGTERM while starting
    # up is then a clean stop with nothing consumed, not a kill.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    registry = CollectorRegistry()
    options = ConsumerOptions(
        agency_id=agency,
        sink=sink,
        from_beginning=from_beginning,
        group_id=group,
        state_dir=state_dir,
        passphrase=passphrase_from_env(passphrase_env),
        batch_size=batch_size,
        instance_id=instance_id,
    )
    app = build_consumer(settings, Workspace(ctx.home), options, registry=registry, stop=stop)
    port = settings.consumer.metrics_port if metrics_port is None else metrics_port
    address = settings.consumer.listen_address
    try:
        serve_metrics(registry, port, address)
    except OSError as exc:
        app.close()
        raise click.ClickException(f"cannot serve metrics on {address} port {port}: {exc}") from exc
    stats = app.run()
    click.echo(
        f"{agency}: {stats.delivered} delivered, {stats.duplicates} already held, "
        f"{stats.parked} parked, {stats.quarantined} quarantined, {stats.acks_sent} acks sent",
        err=True,
    )
