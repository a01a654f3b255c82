"""The live operations page as a processor hosts it: poller, page, and its gauges.

The page is computed from Kafka with the operator's read-only principal (never the
processor's own), so it shows what operators would see with ``corridor status`` even
when a worker is the one in trouble. ``/metrics`` on the same port exposes the
agreement follow-up and operations gauges.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry

from corridor.config import Settings
from corridor.directory_topic import DirectoryWatcher
from corridor.exceptions import CorridorError
from corridor.logs import log_event
from corridor.metrics import AgreementMetrics, OperationsMetrics
from corridor.ops.dashboard import DashboardServer, serve_dashboard
from corridor.ops.feed import OpsPoller
from corridor.ops.model import AgreementReport, StatusReport
from corridor.ops.reader import OpsReader
from corridor.workspace import Workspace

LOG = logging.getLogger("corridor.ops")


@dataclass
class OperationsPage:
    poller: OpsPoller
    server: DashboardServer
    watcher: DirectoryWatcher

    @property
    def url(self) -> str:
        return self.server.url

    def close(self) -> None:
        self.poller.stop()
        self.server.close()
        self.watcher.stop()


def start_operations_page(
    workspace: Workspace, settings: Settings, port: int, *, interval: float = 5.0
) -> OperationsPage | None:
    """Serve ``/dashboard`` on ``port``; None (and a log line) without operator credentials."""
    try:
        conn = workspace.operator_connection()
    except CorridorError as exc:
        log_event(LOG, "dashboard_disabled", level=logging.WARNING, reason=str(exc))
        return None
    watcher = DirectoryWatcher(conn, workspace.authority_public_key()).start()
    reader = OpsReader(conn, processor_group=settings.processor.app_id)
    dormant = timedelta(days=settings.processor.dormant_after_days)

    def collect(now: datetime) -> tuple[StatusReport, AgreementReport | None]:
        return reader.status(now), reader.agreements(watcher.current(), now, dormant_after=dormant)

    registry = CollectorRegistry()
    poller = OpsPoller(
        collect,
        interval=interval,
        ops_metrics=OperationsMetrics.create(registry),
        agreement_metrics=AgreementMetrics.create(registry),
    ).start()
    try:
        server = serve_dashboard(
            port,
            poller.snapshot,
            addr=settings.processor.listen_address,
            metrics_registry=registry,
        )
    except OSError as exc:
        # The page is for people; routing alerts must not depend on it.
        poller.stop()
        watcher.stop()
        log_event(LOG, "dashboard_disabled", level=logging.WARNING, port=port, reason=exc.strerror)
        return None
    log_event(LOG, "dashboard_serving", url=server.url)
    return OperationsPage(poller, server, watcher)
