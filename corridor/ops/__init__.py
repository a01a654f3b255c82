"""The operations view: throughput, decisions, dead letters, lag, workers, agreements.

Computed from Kafka with the operator's credentials, never from inside a component, so
it still tells the truth when a component is down. Pure functions turn what was read
into reports (:mod:`corridor.ops.status`, :mod:`corridor.ops.agreements`); the reader
(:mod:`corridor.ops.reader`) collects the inputs; the CLI, the live page
(:mod:`corridor.ops.dashboard`) and the gauges (:mod:`corridor.ops.feed`) present them.
Reports hold aggregates only: never an alert id, never anything about a person.
"""

from __future__ import annotations

from corridor.ops.agreements import follow_up, response_deadline
from corridor.ops.dashboard import DashboardServer, dashboard_routes, serve_dashboard
from corridor.ops.errors import OpsError
from corridor.ops.feed import OpsPoller, dashboard_snapshot, empty_snapshot, publish_metrics
from corridor.ops.model import AgreementReport, StatusReport
from corridor.ops.reader import OpsReader
from corridor.ops.status import build_status

__all__ = [
    "AgreementReport",
    "DashboardServer",
    "OpsError",
    "OpsPoller",
    "OpsReader",
    "StatusReport",
    "build_status",
    "dashboard_routes",
    "dashboard_snapshot",
    "empty_snapshot",
    "follow_up",
    "publish_metrics",
    "response_deadline",
    "serve_dashboard",
]
