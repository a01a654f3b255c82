"""The live operations page in a real headless Chromium: it draws the figures it fetches.

The page gets its data only by running its own script (fetch, then DOM updates), so
the figures in the DOM Chromium dumps prove the whole loop: HTML, script, JSON
endpoint, rendering, and the refresh that picks up new figures without a reload.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from corridor.domain import (
    AckStatus,
    AgencyKind,
    Agreement,
    AgreementKind,
    AgreementStatus,
    Priority,
)
from corridor.ops.agreements import follow_up
from corridor.ops.dashboard import serve_dashboard
from corridor.ops.feed import dashboard_snapshot
from corridor.ops.model import (
    AckEvent,
    AuditEvent,
    DeadLetterEvent,
    GroupLag,
    StatusInputs,
    Workers,
)
from corridor.ops.status import build_status

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
NOW = datetime.now(UTC).replace(microsecond=0)
ALERT_IDS = [f"9f1c7a2e-0000-4000-8000-{i:012d}" for i in range(40)]


def synthetic_snapshot(extra_deliveries: int = 0) -> dict[str, Any]:
    audit = [
        AuditEvent(
            ALERT_IDS[i],
            "RO>AT",
            "RO-ANITP",
            "AT-BKA",
            "ALLOW",
            "ALLOWED",
            "RO-AT-POLICE-2022",
            NOW - timedelta(seconds=20 + 60 * i),
            Priority.URGENT,
        )
        for i in range(12 + extra_deliveries)
    ]
    audit += [
        AuditEvent(
            ALERT_IDS[30 + i],
            "MD>DE",
            "MD-CCTP",
            "DE-BKA",
            "DENY",
            "NO_AGREEMENT",
            None,
            NOW - timedelta(minutes=5 + i),
        )
        for i in range(3)
    ]
    letters = [DeadLetterEvent("BAD_SIGNATURE", "processor", NOW - timedelta(minutes=2))] * 2
    lags = [
        GroupLag("corridor.deliver.AT-BKA", "AT-BKA.consumer", 7),
        GroupLag("corridor.alerts.inbound", "corridor-processor", 0),
    ]
    status = build_status(
        StatusInputs(NOW, audit, letters, lags, Workers("corridor-processor", "STABLE", 2, 6), 3)
    )
    agreement = Agreement(
        id="RO-AT-POLICE-2022",
        title="RO-AT",
        kind=AgreementKind.BILATERAL,
        parties=frozenset({"RO", "AT"}),
        alert_types=frozenset(),
        scope={AgencyKind.LAW_ENFORCEMENT: frozenset()},
        valid_from=NOW - timedelta(days=900),
        valid_to=None,
        status=AgreementStatus.ACTIVE,
        response_deadlines={Priority.URGENT: timedelta(minutes=5)},
    )
    acks = [
        AckEvent(ALERT_IDS[i], "AT-BKA", AckStatus.RECEIVED, NOW - timedelta(seconds=60 * i))
        for i in range(6)
    ]
    agreements = follow_up(audit=audit, acks=acks, agreements={agreement.id: agreement}, now=NOW)
    return dashboard_snapshot(status, agreements)


@dataclass
class Dom(HTMLParser):
    """Text by element id, and the cells of every table row that has a ``data-row``."""

    texts: dict[str, str] = field(default_factory=dict)
    rows: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    _open: list[tuple[str, str | None]] = field(default_factory=list)
    _table: str = ""
    _row: tuple[str, str] | None = None
    _cell: list[str] | None = None

    def __post_init__(self) -> None:
        super().__init__()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self._table = a.get("id") or ""
        if tag == "tr" and a.get("data-row") is not None:
            self._row = (self._table, str(a["data-row"]))
            self.rows[self._row] = []
        if tag == "td" and self._row is not None:
            self._cell = []
        self._open.append((tag, a.get("id")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._row is not None and self._cell is not None:
            self.rows[self._row].append("".join(self._cell).strip())
            self._cell = None
        if tag == "tr":
            self._row = None
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        for _, element_id in self._open:
            if element_id:
                self.texts[element_id] = self.texts.get(element_id, "") + data


def dump_dom(url: str, profile: Path, budget_ms: int) -> str:
    assert Path(CHROMIUM).exists(), (
        "Chromium is missing: run `make system-deps` (Debian package chromium)"
    )
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={budget_ms}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture
def served() -> Iterator[tuple[str, list[int]]]:
    """A page whose data changes after the first request: 12 deliveries, then 15."""
    calls: list[int] = []
    lock = threading.Lock()
    first, later = synthetic_snapshot(), synthetic_snapshot(extra_deliveries=3)

    def provider() -> dict[str, Any]:
        with lock:
            calls.append(1)
            return first if len(calls) == 1 else later

    server = serve_dashboard(0, provider, refresh_seconds=1.0)
    try:
        yield server.url, calls
    finally:
        server.close()


def test_chromium_renders_the_figures_and_refreshes_them(
    served: tuple[str, list[int]], tmp_path: Path
) -> None:
    url, calls = served
    html = dump_dom(url, tmp_path / "profile", budget_ms=4000)
    dom = Dom()
    dom.feed(html)

    assert len(calls) >= 2, "the page never fetched its data again"
    # Figures after the refresh: 15 deliveries, all within the hour.
    assert dom.texts["kpi-delivered-hour"] == "15"
    assert dom.texts["kpi-denied-hour"] == "3"
    assert dom.texts["kpi-dead-hour"] == "2"
    assert dom.texts["kpi-lag"] == "7"
    assert dom.texts["kpi-workers"] == "2"
    assert dom.texts["kpi-brokers"] == "3"
    assert int(dom.texts["kpi-delivered-minute"]) >= 1
    assert dom.rows[("corridors", "RO>AT")][:2] == ["RO>AT", dom.texts["kpi-delivered-minute"]]
    assert dom.rows[("corridors", "RO>AT")][2] == "15"
    assert dom.rows[("corridors", "MD>DE")][-1] == "3"
    assert dom.rows[("agencies", "AT-BKA")][2] == "15"
    assert dom.rows[("decisions", "DENY:NO_AGREEMENT")] == ["DENY", "NO_AGREEMENT", "3"]
    assert dom.rows[("dead-letters", "BAD_SIGNATURE")] == ["BAD_SIGNATURE", "2", "2"]
    assert dom.rows[("lag", "corridor.deliver.AT-BKA")] == [
        "corridor.deliver.AT-BKA",
        "AT-BKA.consumer",
        "7",
    ]
    agreement = dom.rows[("agreements", "RO-AT-POLICE-2022")]
    assert agreement[:3] == ["RO-AT-POLICE-2022", "ACTIVE", "15"]
    assert agreement[3] == "40%"  # 6 of 15 acknowledged
    assert agreement[5] == "9"  # unanswered past the 5-minute deadline
    assert "dot ok" in html
    for alert_id in ALERT_IDS:
        assert alert_id not in html
