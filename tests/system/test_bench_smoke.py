"""``corridor bench --quick --json`` runs from start to end and reports every section.

Only that it runs: no figure is checked against a threshold (machines are noisy; the
benchmark's own targets are read from its results, docs/performance.md). It starts
and stops its own broker, like a user's run, with a settings file of its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from corridor.envelope import DEFAULT_SUITE

pytestmark = pytest.mark.system

STAGES = {"bound", "warm_up", "baseline", "faust", "producer_3", "producer_1", "processor_1"}
STAGES |= {"processor_2", "consumer", "latency"}


def test_quick_benchmark_reports_every_section(tmp_path: Path) -> None:
    results = tmp_path / "results"
    # Measured with the settings it is given: here the one-wrap-per-alert sealing.
    config = tmp_path / "corridor.toml"
    config.write_text("[producer]\nkey_reuse_alerts = 1\n")
    run = subprocess.run(
        [
            *(sys.executable, "-m", "corridor", "--home", str(tmp_path / "unused")),
            *("--config", str(config), "bench"),
            *("--quick", "--json", "--results-dir", str(results)),
        ],
        capture_output=True,
        text=True,
        timeout=480,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    data = json.loads(run.stdout)
    assert data["errors"] == {}
    assert data["config"] == str(config)
    assert data["sealing"]["suite"] == DEFAULT_SUITE
    assert data["sealing"]["suite"].startswith("CORRIDOR-1:")  # the defaults seal CORRIDOR-2
    assert data["sealing"]["key_reuse_alerts"] == 1
    assert set(data["stages"]) == STAGES
    # What a stage left in the page cache went to disk before the next was measured.
    assert all(stage["sync_s"] >= 0 for stage in data["stages"].values())
    assert {"ed25519_sign", "ed25519_verify", "hpke_seal", "hpke_open"} <= set(data["bound"])
    assert {"aes_gcm_encrypt", "avro_encode_alert", "avro_decode_alert"} <= set(data["bound"])
    assert {"produce_per_s", "consume_per_s", "produce_call_us", "latency"} <= set(data["baseline"])
    # The broker is the bench's own, on this machine: its JIT compiler was watched.
    warm = data["warm_up"]
    assert warm["broker_local"] is True
    (round_,) = warm["rounds"]
    assert round_["alerts"] == 600
    assert round_["broker_cpu_s"] > 0
    assert 0 < round_["compiler_cpu_s"] <= round_["broker_cpu_s"]
    assert set(data["faust"]) == {"stock", "uvloop", "processor"}
    assert set(data["producer"]) == {"1", "3"}
    assert set(data["processor"]) == {"1", "2"}
    # Every alert routed and every sighting correlated, by one worker and by two.
    for run in data["processor"].values():
        assert run["correlated"], run
        assert run["routed"] == run["alerts"], run
    assert {"per_s", "cpu_us"} <= set(data["consumer"])
    for rate in ("100", "1000"):
        row = data["latency"][rate]
        assert {"p50_ms", "p99_ms", "p999_ms", "max_ms"} <= set(row)
        # What each process of the pipeline spent per alert, the local broker included.
        cpu = row["cpu_us_per_alert"]
        assert set(cpu) == {"publisher", "worker", "consumer", "broker"}, cpu
        assert all(us > 0 for us in cpu.values()), cpu
        assert row["cpu_cores"] == pytest.approx(int(rate) * sum(cpu.values()) / 1e6, abs=0.01)
    assert set(data["bounds_us"]) == {"producer_1", "producer_3", "processor", "consumer"}
    assert {"producer_1", "processor", "consumer", "processor_scale", "pipeline"} <= set(
        data["ratios"]
    )
    assert len(data["targets"]) == 6
    # The same document is on disk, under the date of the run, and the cluster is gone.
    (written,) = results.glob("*-quick.json")
    assert json.loads(written.read_text()) == data
    assert not (tmp_path / "unused").exists()
