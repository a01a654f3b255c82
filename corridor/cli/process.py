"""``corridor process``: run one processor worker; start several to share the load."""

from __future__ import annotations

import click

from corridor.cli.context import CliContext
from corridor.ops.hosting import start_operations_page
from corridor.workspace import Workspace
from processors.runtime import ProcessorRuntime
from processors.worker import run_worker


@click.command()
@click.option(
    "--metrics-port",
    type=int,
    default=None,
    help="Port of the Prometheus endpoint (default: [processor] metrics_port; 0 disables).",
)
@click.option(
    "--processor-id",
    default=None,
    help="Name of this worker in audit records and dead letters (default: app@host:pid).",
)
@click.option(
    "--faust-log-level",
    default="WARNING",
    show_default=True,
    help="Log level of the faust and aiokafka libraries.",
)
@click.option(
    "--dashboard-port",
    type=int,
    default=None,
    help="Port of the live operations page /dashboard (default: [processor] web_port; 0 disables).",
)
@click.pass_obj
def process(
    ctx: CliContext,
    metrics_port: int | None,
    processor_id: str | None,
    faust_log_level: str,
    dashboard_port: int | None,
) -> None:
    """Verify, deduplicate, correlate and route alerts until stopped (SIGTERM, Ctrl-C)."""
    settings = ctx.settings()
    workspace = Workspace(ctx.home)
    runtime = ProcessorRuntime.from_workspace(
        settings,
        workspace,
        processor_id=processor_id,
        metrics_port=metrics_port,
    )
    port = settings.processor.web_port if dashboard_port is None else dashboard_port
    page = start_operations_page(workspace, settings, port) if port else None
    try:
        run_worker(runtime, loglevel=faust_log_level.upper())
    finally:
        if page is not None:
            page.close()
