"""The observability files with the real Prometheus (Debian's ``prometheus`` package).

``promtool`` checks the configurations and rules and runs the rules' unit tests; then a
real ``prometheus`` scrapes a metrics endpoint serving our registries, and every rule
and dashboard expression is run against it, so a typo in PromQL fails here.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from corridor.metrics import (
    AgreementMetrics,
    ConsumerMetrics,
    OperationsMetrics,
    ProcessorMetrics,
    ProducerMetrics,
    serve_metrics,
)
from tests.prometheus_running import (
    OBS,
    PROMTOOL,
    REPO,
    api,
    free_port,
    running_prometheus,
    wait_for,
)
from tests.unit.test_operations_catalogue import dashboard_exprs, rule_exprs

pytestmark = pytest.mark.integration


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert Path(PROMTOOL).exists(), (
        "promtool is missing: run `make system-deps` (Debian package prometheus)"
    )
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    "config",
    [OBS / "prometheus.yml", REPO / "infra" / "deploy" / "prometheus.yml"],
    ids=["local", "deploy"],
)
def test_promtool_accepts_the_configuration(config: Path) -> None:
    result = promtool("check", "config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_promtool_accepts_the_rules() -> None:
    result = promtool("check", "rules", str(OBS / "rules" / "corridor.rules.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 10 rules found" in result.stdout


def test_the_rules_unit_tests_pass() -> None:
    result = promtool("test", "rules", str(OBS / "tests" / "corridor.rules.test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.fixture(scope="module")
def metrics_port() -> int:
    """Our catalogue on a real endpoint, with a few figures that are not zero."""
    registry = CollectorRegistry()
    processor = ProcessorMetrics.create(registry)
    processor.routed.labels(corridor="RO>AT", recipient="AT-BKA").inc(5)
    processor.decisions.labels(
        corridor="RO>AT", outcome="ALLOW", reason="ALLOWED", agreement="RO-AT"
    ).inc(5)
    processor.dead_letters.labels(component="processor", reason="BAD_SIGNATURE").inc()
    processor.routing_lag.labels(corridor="RO>AT").observe(0.2)
    ConsumerMetrics.create(registry).deliveries.labels(
        agency="AT-BKA", sink="jsonl", outcome="delivered"
    ).inc(5)
    ProducerMetrics.create(registry).published.labels(
        corridor="RO>AT", alert_type="REFERRAL_REQUEST", outcome="delivered"
    ).inc(5)
    AgreementMetrics.create(registry).exchanges.labels(agreement="RO-AT").set(5)
    OperationsMetrics.create(registry).consumer_lag.labels(
        topic="corridor.deliver.AT-BKA", group="AT-BKA.consumer"
    ).set(3)
    port = free_port()
    serve_metrics(registry, port)
    return port


@pytest.fixture(scope="module")
def prometheus(metrics_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("prometheus")
    with running_prometheus(work, {"corridor-processor": [f"127.0.0.1:{metrics_port}"]}) as base:
        yield base


def test_prometheus_scrapes_our_metrics(prometheus: str, metrics_port: int) -> None:
    def target_up() -> bool:
        targets = api(prometheus, "targets")["data"]["activeTargets"]
        return any(
            t["health"] == "up" and t["scrapeUrl"].endswith(f":{metrics_port}/metrics")
            for t in targets
        )

    wait_for(target_up, "the target being scraped")

    def routed() -> list[Any]:
        result: list[Any] = api(prometheus, "query", query="corridor_alerts_routed_total")["data"][
            "result"
        ]
        return result

    samples = wait_for(routed, "corridor_alerts_routed_total being queryable")
    assert samples[0]["metric"]["corridor"] == "RO>AT"
    assert samples[0]["metric"]["job"] == "corridor-processor"
    assert float(samples[0]["value"][1]) == 5.0
    lag = api(prometheus, "query", query="max by (topic) (corridor_consumer_lag_messages)")["data"][
        "result"
    ]
    assert float(lag[0]["value"][1]) == 3.0


def test_every_rule_and_dashboard_expression_runs(prometheus: str) -> None:
    def rules_loaded() -> int:
        groups = api(prometheus, "rules")["data"]["groups"]
        return sum(len(g["rules"]) for g in groups)

    assert wait_for(rules_loaded, "the rules being loaded") == 10
    for expr in rule_exprs() + dashboard_exprs():
        answer = api(prometheus, "query", query=expr)
        assert answer["status"] == "success", expr
