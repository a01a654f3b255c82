"""``corridor demo --once`` on a fresh home: the summary matches the scenario's expectations.

The expectations come from the scenario and the access policy at publish time; the
summary comes from what actually happened: the agencies' inboxes, the audit topic and
the dead-letter topic, after the real broker, processor and consumers did their work.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from corridor.directory import load_directory
from corridor.domain import AgreementStatus
from corridor.infra.cluster import LocalCluster
from tests.conftest import SAMPLE_DIRECTORY

pytestmark = pytest.mark.system


def test_sample_network_is_a_region_with_a_suspended_agreement() -> None:
    d = load_directory(SAMPLE_DIRECTORY)
    assert len({a.country for a in d.agencies.values()}) >= 6
    assert len(d.agencies) >= 12
    assert len({a.kind for a in d.agencies.values()}) >= 5
    kinds = {a.kind.value for a in d.agreements.values()}
    assert {"BILATERAL", "REGIONAL_TRM"} <= kinds
    assert any(a.status is AgreementStatus.SUSPENDED for a in d.agreements.values())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_demo_once_summary_matches_the_scenario(tmp_path: Path) -> None:
    home = tmp_path / "demo-home"
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "corridor",
                "--home",
                str(home),
                "--log-level",
                "WARNING",
                "demo",
                "--once",
                "--json",
                "--port",
                "0",
                "--metrics-port",
                "0",
                "--consumer-metrics-port",
                "0",
                "--alerts",
                "24",
                "--dashboard-port",
                str(_free_port()),
            ],
            capture_output=True,
            text=True,
            timeout=420,
            check=False,
        )
    finally:
        LocalCluster(home).down()
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout)
    expected = summary["expected"]
    assert expected["published"] == 28  # 24 ordinary + child + RED + two linked reports
    assert expected["rejected"] == 0
    assert summary["delivered"] == expected["delivered"]
    assert summary["denied"] == expected["denied"]
    assert summary["dead_letters"].get("BAD_SIGNATURE") == expected["forged"] == 1
    assert summary["dead_letters"].get("DUPLICATE") == expected["duplicates"] == 2
    # The RED alert reached its one addressee and denials name NOT_ADDRESSEE for others.
    assert summary["denied"].get("NOT_ADDRESSEE", 0) > 0
    # The suspended agency gets nothing; the child's case goes to cleared agencies only.
    assert "BG-VARNA-SHELTER" not in summary["delivered"]
    assert summary["denied"].get("RECIPIENT_NOT_ACTIVE", 0) > 0
    # Both agencies that reported the same person got a link notice.
    assert summary["links"] >= 2
    # Every delivered alert was acknowledged back to its issuer.
    assert summary["acknowledgements"] == sum(summary["delivered"].values())
    # The processor's live operations page shows the same traffic.
    page = summary["dashboard"]
    assert page["delivered_last_hour"] >= sum(summary["delivered"].values())
    assert page["denied_last_hour"] >= sum(summary["denied"].values())
    assert page["dead_letters_total"] >= 3
    assert page["agreements_shown"] >= 1
