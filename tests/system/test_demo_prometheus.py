"""A real Prometheus scrapes every component of a running pipeline: ``corridor demo``.

The demo runs as a user runs it (until Ctrl-C), with its processor worker, the
operations page the worker hosts, the agencies' consumers and the publishers each on
their own metrics port; Prometheus is configured with the job names of
``infra/observability/prometheus.yml`` and must find every target up and each one's
figures moving: alerts published, routed, delivered, and exchanges per agreement.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from corridor.infra.cluster import LocalCluster
from tests.prometheus_running import free_port, query, running_prometheus, targets_up, wait_for
from tests.unit.test_deploy_consistency import scrape_targets

pytestmark = pytest.mark.system

LOCAL_CONFIG = Path(__file__).resolve().parents[2] / "infra" / "observability" / "prometheus.yml"
#: Each job of the shipped configuration -> the demo option that sets its port.
PORT_OPTIONS = {
    "corridor-processor": "--metrics-port",
    "corridor-operations": "--dashboard-port",
    "corridor-consumer": "--consumer-metrics-port",
    "corridor-producer": "--producer-metrics-port",
}
#: What each component must show once the demo's stream has gone through.
MOVING = {
    "corridor-producer": "sum(corridor_alerts_published_total{job='%s', outcome='delivered'})",
    "corridor-processor": "sum(corridor_alerts_routed_total{job='%s'})",
    "corridor-consumer": "sum(corridor_deliveries_total{job='%s', outcome='delivered'})",
    "corridor-operations": "max(corridor_agreement_exchanges{job='%s'})",
}


def _total(base: str, expr: str) -> float:
    found = query(base, expr)
    return float(found[0]["value"][1]) if found else 0.0


def test_prometheus_scrapes_every_component_of_the_running_demo(tmp_path: Path) -> None:
    shipped = {job for job in scrape_targets(LOCAL_CONFIG) if job.startswith("corridor-")}
    assert shipped == set(PORT_OPTIONS), "every component the shipped config scrapes is run"
    ports = {job: free_port() for job in PORT_OPTIONS}
    home = tmp_path / "demo-home"
    err = tmp_path / "demo.stderr"
    with err.open("wb") as stderr:
        demo = subprocess.Popen(
            [
                *(sys.executable, "-m", "corridor", "--home", str(home)),
                *("--log-level", "WARNING", "demo", "--json", "--port", "0", "--alerts", "12"),
                *(arg for job, port in ports.items() for arg in (PORT_OPTIONS[job], str(port))),
            ],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
        )
    try:
        wait_for(
            lambda: "Ctrl-C to stop" in err.read_text(errors="replace") or demo.poll() is not None,
            "the demo's stream to settle",
            timeout=420,
        )
        assert demo.poll() is None, err.read_text(errors="replace")[-3000:]
        jobs = {job: [f"127.0.0.1:{port}"] for job, port in ports.items()}
        with running_prometheus(tmp_path / "prometheus", jobs) as base:
            health = wait_for(
                lambda: (h := targets_up(base)) and all(v == "up" for v in h.values()) and h,
                "every component's target being up",
            )
            assert set(health) == set(PORT_OPTIONS)
            for job, template in MOVING.items():
                expr = template % job
                assert wait_for(lambda e=expr: _total(base, e), f"{expr} above zero") > 0
            up = {r["metric"]["job"]: r["value"][1] for r in query(base, "up")}
            assert {job: up[job] for job in PORT_OPTIONS} == dict.fromkeys(PORT_OPTIONS, "1")
        demo.send_signal(signal.SIGINT)
        assert demo.wait(90) == 0, err.read_text(errors="replace")[-3000:]
    finally:
        if demo.poll() is None:
            os.kill(demo.pid, signal.SIGKILL)
            demo.wait()
        LocalCluster(home).down()
