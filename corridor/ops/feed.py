"""Keeping the operations view fresh for the live page and for Prometheus.

Reading Kafka takes a moment, so neither a page request nor a scrape should wait for
it: :class:`OpsPoller` refreshes in its own thread every ``interval`` seconds, and the
page and gauges serve its last result. When a round fails, the last good snapshot stays
and is marked stale with the error's sentence, so an operator sees both the last known
figures and that they are old.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from corridor.exceptions import CorridorError
from corridor.logs import log_event
from corridor.metrics import AgreementMetrics, OperationsMetrics
from corridor.ops.model import AgreementReport, StatusInputs, StatusReport, Workers, iso
from corridor.ops.status import build_status

LOG = logging.getLogger("corridor.ops")

Snapshot = dict[str, Any]
#: What the dashboard server calls on each ``dashboard.json`` request.
SnapshotProvider = Callable[[], Mapping[str, Any]]
#: One round of collection at the given time.
Collector = Callable[[datetime], tuple[StatusReport, AgreementReport | None]]


def dashboard_snapshot(
    status: StatusReport,
    agreements: AgreementReport | None = None,
    *,
    stale: bool = False,
    error: str | None = None,
) -> Snapshot:
    """The JSON the live page draws: aggregates only, never an alert id."""
    return {
        "generated_at": iso(status.generated_at),
        "status": status.as_json(),
        "agreements": [a.as_json() for a in agreements.agreements] if agreements else [],
        "stale": stale,
        "error": error,
    }


def empty_snapshot(now: datetime, *, error: str | None = None, group: str = "") -> Snapshot:
    """What the page shows before the first round: zeros, flagged as not collected."""
    status = build_status(StatusInputs(now, [], [], [], Workers(group, "UNKNOWN", 0, 0), 0))
    return dashboard_snapshot(status, stale=True, error=error or "not collected yet")


def _number(value: float | None) -> float:
    return math.nan if value is None else float(value)


def publish_metrics(
    status: StatusReport | None,
    agreements: AgreementReport | None,
    *,
    ops: OperationsMetrics | None = None,
    per_agreement: AgreementMetrics | None = None,
) -> None:
    """Set the gauges from one round; series of topics or agreements now gone disappear."""
    if ops is not None and status is not None:
        ops.consumer_lag.clear()
        for lag in status.lags:
            ops.consumer_lag.labels(topic=lag.topic, group=lag.group).set(lag.lag)
        ops.workers_alive.set(status.workers.members)
        ops.brokers.set(status.brokers)
    if per_agreement is not None and agreements is not None:
        m = per_agreement
        for gauge in (
            m.exchanges,
            m.ack_ratio,
            m.ack_median,
            m.overdue,
            m.dormant,
            m.last_exchange,
        ):
            gauge.clear()
        for a in agreements.agreements:
            m.exchanges.labels(agreement=a.agreement_id).set(a.exchanges)
            m.ack_ratio.labels(agreement=a.agreement_id).set(_number(a.ack_rate))
            m.ack_median.labels(agreement=a.agreement_id).set(_number(a.median_ack_seconds))
            m.overdue.labels(agreement=a.agreement_id).set(a.overdue)
            m.dormant.labels(agreement=a.agreement_id).set(1 if a.dormant else 0)
            last = a.last_exchange.timestamp() if a.last_exchange else 0.0
            m.last_exchange.labels(agreement=a.agreement_id).set(last)


class OpsPoller:
    """Collects the operations view every ``interval`` seconds in a daemon thread."""

    def __init__(
        self,
        collect: Collector,
        *,
        interval: float = 10.0,
        ops_metrics: OperationsMetrics | None = None,
        agreement_metrics: AgreementMetrics | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._collect = collect
        self._interval = interval
        self._ops_metrics = ops_metrics
        self._agreement_metrics = agreement_metrics
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> Snapshot:
        """One round now; on failure the last good snapshot is kept and marked stale."""
        try:
            status, agreements = self._collect(self._clock())
        except CorridorError as exc:
            if self._ops_metrics is not None:
                self._ops_metrics.collections.labels(outcome="failed").inc()
            log_event(LOG, "ops_collection_failed", level=logging.WARNING, error=str(exc))
            with self._lock:
                previous = self._snapshot or empty_snapshot(self._clock())
                self._snapshot = {**previous, "stale": True, "error": str(exc)}
                return self._snapshot
        publish_metrics(
            status, agreements, ops=self._ops_metrics, per_agreement=self._agreement_metrics
        )
        if self._ops_metrics is not None:
            self._ops_metrics.collections.labels(outcome="ok").inc()
        with self._lock:
            self._snapshot = dashboard_snapshot(status, agreements)
            return self._snapshot

    def snapshot(self) -> Snapshot:
        """The last snapshot (never blocks on Kafka); zeros before the first round."""
        with self._lock:
            return self._snapshot or empty_snapshot(self._clock())

    def start(self) -> OpsPoller:
        self._thread = threading.Thread(target=self._run, name="ops-poller", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception:
                # A bug in one round must not end the page's updates; it is logged in full.
                LOG.exception("ops_poller_round_crashed")
            self._stop.wait(self._interval)
