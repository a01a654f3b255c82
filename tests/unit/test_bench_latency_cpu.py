"""The latency stage's CPU figures: per alert by process, and the cores a rate needs."""

from __future__ import annotations

import pytest

from corridor.cli.benchmarks.latency import _cpu
from corridor.cli.benchmarks.table import _latency


def test_each_process_is_counted_over_the_rate_and_the_cores_add_them_up() -> None:
    before = {"worker": 10.0, "consumer": 3.0, "broker": 100.0}
    after = {"worker": 10.5, "consumer": 3.2, "broker": 100.4}
    found = _cpu(100.0, 250, 0.15, before, after)
    assert found["cpu_us_per_alert"] == pytest.approx(
        {"publisher": 600.0, "worker": 2000.0, "consumer": 800.0, "broker": 1600.0}
    )
    # 5,000 us per alert at 100 alerts/s: half a core.
    assert found["cpu_cores"] == 0.5


def test_a_broker_elsewhere_is_left_out() -> None:
    found = _cpu(
        1000.0, 1000, 0.4, {"worker": 0.0, "consumer": 0.0}, {"worker": 0.6, "consumer": 0.5}
    )
    assert set(found["cpu_us_per_alert"]) == {"publisher", "worker", "consumer"}
    assert found["cpu_cores"] == 1.5


def test_the_table_prints_them_per_rate() -> None:
    row = _cpu(100.0, 250, 0.15, {"worker": 0.0, "consumer": 0.0}, {"worker": 0.5, "consumer": 0.2})
    text = "\n".join(_latency({"latency": {"100": {"alerts": 250, **row}}}))
    assert "CPU at 100/s (us per alert): publisher 600, worker 2,000, consumer 800;" in text
    assert "0.34 cores in all" in text
