"""The poller behind the live page and the gauges; the page's two HTTP servers."""

from __future__ import annotations

import asyncio
import json
import math
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from corridor.domain import Priority
from corridor.metrics import AgreementMetrics, OperationsMetrics
from corridor.ops.agreements import follow_up
from corridor.ops.dashboard import DATA_PATH, PAGE_PATH, dashboard_routes, serve_dashboard
from corridor.ops.errors import OpsError
from corridor.ops.feed import OpsPoller, dashboard_snapshot, publish_metrics
from corridor.ops.model import (
    AgreementReport,
    AuditEvent,
    GroupLag,
    StatusInputs,
    StatusReport,
    Workers,
)
from corridor.ops.status import build_status

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
ALERT = "0e2a8a5c-2222-4000-8000-000000000009"


def reports(now: datetime = NOW) -> tuple[StatusReport, AgreementReport]:
    audit = [
        AuditEvent(
            ALERT, "RO>AT", "RO-ANITP", "AT-BKA", "ALLOW", "ALLOWED", "RO-AT", now, Priority.URGENT
        )
    ]
    lags = [GroupLag("corridor.deliver.AT-BKA", "AT-BKA.consumer", 4)]
    status = build_status(
        StatusInputs(now, audit, [], lags, Workers("corridor-processor", "STABLE", 2, 6), 3)
    )
    agreements = follow_up(audit=audit, acks=[], agreements={}, now=now)
    return status, agreements


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_publish_metrics_sets_the_gauges_and_drops_series_that_are_gone() -> None:
    registry = CollectorRegistry()
    ops, per_agreement = OperationsMetrics.create(registry), AgreementMetrics.create(registry)
    status, agreements = reports()
    ops.consumer_lag.labels(topic="corridor.deliver.GONE", group="GONE.consumer").set(9)
    publish_metrics(status, agreements, ops=ops, per_agreement=per_agreement)
    assert (
        value(
            registry,
            "corridor_consumer_lag_messages",
            topic="corridor.deliver.AT-BKA",
            group="AT-BKA.consumer",
        )
        == 4
    )
    assert (
        value(
            registry,
            "corridor_consumer_lag_messages",
            topic="corridor.deliver.GONE",
            group="GONE.consumer",
        )
        is None
    )
    assert value(registry, "corridor_processor_workers_alive") == 2
    assert value(registry, "corridor_kafka_brokers") == 3
    assert value(registry, "corridor_agreement_exchanges", agreement="RO-AT") == 1
    assert value(registry, "corridor_agreement_ack_ratio", agreement="RO-AT") == 0
    assert math.isnan(
        value(registry, "corridor_agreement_ack_median_seconds", agreement="RO-AT") or 0.0
    )
    assert (
        value(registry, "corridor_agreement_last_exchange_timestamp_seconds", agreement="RO-AT")
        == NOW.timestamp()
    )
    assert value(registry, "corridor_agreement_dormant", agreement="RO-AT") == 0


def test_poller_serves_the_last_snapshot_and_marks_it_stale_when_a_round_fails() -> None:
    registry = CollectorRegistry()
    ops = OperationsMetrics.create(registry)
    outcomes: list[BaseException | None] = [
        None,
        OpsError("cannot read the cluster metadata: down"),
    ]

    def collect(now: datetime) -> tuple[StatusReport, AgreementReport | None]:
        failure = outcomes.pop(0)
        if failure is not None:
            raise failure
        return reports(now)

    poller = OpsPoller(collect, ops_metrics=ops, clock=lambda: NOW)
    before = poller.snapshot()
    assert before["stale"] is True
    assert before["error"] == "not collected yet"
    assert before["status"]["totals"]["delivered_last_hour"] == 0

    good = poller.refresh()
    assert good["stale"] is False
    assert good["status"]["totals"]["delivered_last_hour"] == 1
    assert poller.snapshot() == good

    bad = poller.refresh()
    assert bad["stale"] is True
    assert bad["error"] == "cannot read the cluster metadata: down"
    assert bad["status"] == good["status"]
    assert value(registry, "corridor_ops_collections_total", outcome="ok") == 1
    assert value(registry, "corridor_ops_collections_total", outcome="failed") == 1


def test_poller_thread_refreshes_until_stopped() -> None:
    rounds: list[datetime] = []

    def collect(now: datetime) -> tuple[StatusReport, AgreementReport | None]:
        rounds.append(now)
        return reports(now)

    poller = OpsPoller(collect, interval=0.05).start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=20)
        while len(rounds) < 3 and datetime.now(UTC) < deadline:
            poller._stop.wait(0.05)
    finally:
        poller.stop()
    assert len(rounds) >= 3
    assert poller.snapshot()["status"]["totals"]["delivered_last_hour"] == 1


@pytest.fixture
def server() -> Iterator[str]:
    status, agreements = reports()
    running = serve_dashboard(0, lambda: dashboard_snapshot(status, agreements))
    try:
        yield f"http://127.0.0.1:{running.port}"
    finally:
        running.close()


def test_stdlib_server_serves_the_page_and_its_data(server: str) -> None:
    with urllib.request.urlopen(server + PAGE_PATH, timeout=10) as response:
        page = response.read().decode()
        assert response.headers["Content-Type"].startswith("text/html")
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert 'fetch("dashboard.json"' in page
    assert "<script src" not in page
    assert "http://" not in page  # no external asset at all
    assert "https://" not in page
    with urllib.request.urlopen(server + DATA_PATH, timeout=10) as response:
        data = json.loads(response.read())
    assert data["status"]["corridors"][0]["corridor"] == "RO>AT"
    assert data["agreements"][0]["agreement"] == "RO-AT"
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(server + "/metrics", timeout=10)
    assert missing.value.code == 404


def test_snapshot_json_never_holds_an_alert_id(server: str) -> None:
    with urllib.request.urlopen(server + DATA_PATH, timeout=10) as response:
        body = response.read().decode()
    assert ALERT not in body
    assert json.loads(body)["status"]["totals"]["delivered_last_hour"] == 1


def test_aiohttp_routes_serve_the_same_page_and_data() -> None:
    status, agreements = reports()
    app = web.Application()
    app.router.add_routes(dashboard_routes(lambda: dashboard_snapshot(status, agreements)))

    async def fetch() -> tuple[int, str, str, dict[str, object]]:
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            page = await client.get(PAGE_PATH)
            data = await client.get(DATA_PATH)
            return page.status, await page.text(), data.headers["Cache-Control"], await data.json()

    status_code, page, cache, data = asyncio.run(fetch())
    assert status_code == 200
    assert 'fetch("dashboard.json"' in page
    assert cache == "no-store"
    assert data["status"]["agencies"][0]["agency"] == "AT-BKA"  # type: ignore[index]
