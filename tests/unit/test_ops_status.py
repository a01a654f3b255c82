"""``corridor status`` arithmetic: windows, duplicates, lag, and what reports may hold."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from corridor.ops.model import (
    AuditEvent,
    DeadLetterEvent,
    GroupLag,
    StatusInputs,
    Workers,
)
from corridor.ops.status import build_status, partition_lag, topic_lag, unique_decisions
from corridor.ops.text import duration, render_status

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
WORKERS = Workers("corridor-processor", "STABLE", 2, 6)


def decision(
    alert: str,
    ago: timedelta,
    *,
    corridor: str = "RO>AT",
    recipient: str = "AT-BKA",
    outcome: str = "ALLOW",
    reason: str = "ALLOWED",
) -> AuditEvent:
    return AuditEvent(
        alert_id=alert,
        corridor=corridor,
        issuer="RO-ANITP",
        recipient=recipient,
        outcome=outcome,
        reason=reason,
        agreement_id="RO-AT-POLICE-2022" if outcome == "ALLOW" else None,
        decided_at=NOW - ago,
    )


def inputs(audit: list[AuditEvent], **changes: object) -> StatusInputs:
    base: dict[str, object] = {
        "now": NOW,
        "audit": audit,
        "dead_letters": [],
        "lags": [],
        "workers": WORKERS,
        "brokers": 3,
    }
    base.update(changes)
    return StatusInputs(**base)  # type: ignore[arg-type]


def test_deliveries_are_counted_per_corridor_and_agency_in_minute_and_hour_windows() -> None:
    audit = [
        decision("a1", timedelta(seconds=10)),
        decision("a2", timedelta(seconds=50)),
        decision("a3", timedelta(minutes=5)),
        decision("a3", timedelta(minutes=5), recipient="AT-IBF"),
        decision("a4", timedelta(minutes=59), corridor="MD>DE", recipient="DE-BKA"),
        decision("old", timedelta(minutes=61)),
        decision("future", -timedelta(minutes=2)),
    ]
    report = build_status(inputs(audit))
    rows = {
        c.corridor: (c.delivered_minute, c.delivered_hour, c.denied_hour) for c in report.corridors
    }
    assert rows == {"RO>AT": (2, 4, 0), "MD>DE": (0, 1, 0)}
    agencies = {a.agency: (a.delivered_minute, a.delivered_hour) for a in report.agencies}
    assert agencies == {"AT-BKA": (2, 3), "AT-IBF": (0, 1), "DE-BKA": (0, 1)}
    assert [c.corridor for c in report.corridors] == ["RO>AT", "MD>DE"]
    assert (report.delivered_minute, report.delivered_hour) == (2, 5)


def test_denials_count_per_corridor_and_decisions_per_outcome_and_reason() -> None:
    audit = [
        decision("a1", timedelta(minutes=1)),
        decision(
            "a1", timedelta(minutes=1), recipient="AT-LEFOE", outcome="DENY", reason="NO_CONSENT"
        ),
        decision(
            "a2", timedelta(minutes=2), recipient="AT-LEFOE", outcome="DENY", reason="NO_CONSENT"
        ),
        decision(
            "a3", timedelta(minutes=3), corridor="UA>IT", outcome="DENY", reason="NO_AGREEMENT"
        ),
    ]
    report = build_status(inputs(audit))
    assert {(d.outcome, d.reason, d.count) for d in report.decisions} == {
        ("ALLOW", "ALLOWED", 1),
        ("DENY", "NO_CONSENT", 2),
        ("DENY", "NO_AGREEMENT", 1),
    }
    assert (report.decisions[0].outcome, report.decisions[0].reason) == ("ALLOW", "ALLOWED")
    denied = {c.corridor: c.denied_hour for c in report.corridors}
    assert denied == {"RO>AT": 2, "UA>IT": 1}
    assert report.denied_hour == 3


def test_a_decision_written_twice_counts_once() -> None:
    first = decision("a1", timedelta(seconds=40))
    replay = decision("a1", timedelta(seconds=5))
    assert unique_decisions([replay, first]) == [first]
    report = build_status(inputs([first, replay, decision("a2", timedelta(seconds=3))]))
    assert report.corridors[0].delivered_minute == 2


def test_dead_letters_by_reason_last_hour_and_total() -> None:
    letters = [
        DeadLetterEvent("BAD_SIGNATURE", "processor-1", NOW - timedelta(minutes=5)),
        DeadLetterEvent("BAD_SIGNATURE", "processor-1", NOW - timedelta(hours=3)),
        DeadLetterEvent("UNDECODABLE", "processor-2", NOW - timedelta(days=2)),
    ]
    report = build_status(inputs([], dead_letters=letters))
    assert [(d.reason, d.last_hour, d.total) for d in report.dead_letters] == [
        ("BAD_SIGNATURE", 1, 2),
        ("UNDECODABLE", 0, 1),
    ]
    totals = report.as_json()["totals"]
    assert (totals["dead_letters_last_hour"], totals["dead_letters_total"]) == (1, 3)


@pytest.mark.parametrize(
    ("low", "high", "committed", "lag"),
    [
        (0, 10, 4, 6),
        (0, 10, 10, 0),
        (0, 10, None, 10),
        (3, 10, -1001, 7),
        (5, 10, 2, 5),  # committed before the oldest retained record
        (0, 0, None, 0),
        (0, 5, 9, 0),  # never negative
    ],
)
def test_partition_lag(low: int, high: int, committed: int | None, lag: int) -> None:
    assert partition_lag(low, high, committed) == lag


def test_topic_lag_sums_partitions_and_says_whether_anything_was_committed() -> None:
    marks = {0: (0, 10), 1: (0, 4), 2: (2, 2)}
    assert topic_lag(marks, {0: 7, 1: -1001, 2: -1001}) == (3 + 4, True)
    assert topic_lag(marks, {0: -1001, 1: -1001, 2: -1001}) == (14, False)


def test_lag_sorted_worst_first_and_totalled() -> None:
    lags = [
        GroupLag("corridor.deliver.AT-BKA", "AT-BKA.consumer", 2),
        GroupLag("corridor.deliver.DE-BKA", "DE-BKA.consumer", 40, committed=False),
        GroupLag("corridor.alerts.inbound", "corridor-processor", 0),
    ]
    report = build_status(inputs([], lags=lags))
    assert [g.lag for g in report.lags] == [40, 2, 0]
    assert report.as_json()["totals"]["lag"] == 42
    assert report.as_json()["lag"][0] == {
        "topic": "corridor.deliver.DE-BKA",
        "group": "DE-BKA.consumer",
        "lag": 40,
        "committed": False,
    }


def test_reports_never_carry_alert_ids() -> None:
    ids = [f"5b0d1f8e-0000-4000-8000-00000000000{i}" for i in range(4)]
    audit = [decision(i, timedelta(seconds=5 * n)) for n, i in enumerate(ids)]
    report = build_status(inputs(audit))
    rendered = json.dumps(report.as_json()) + render_status(report)
    assert report.delivered_hour == 4
    for alert_id in ids:
        assert alert_id not in rendered


def test_text_rendering_shows_the_figures() -> None:
    audit = [decision("a1", timedelta(seconds=5)), decision("a2", timedelta(minutes=10))]
    lags = [GroupLag("corridor.deliver.AT-BKA", "AT-BKA.consumer", 17)]
    letters = [DeadLetterEvent("BAD_SIGNATURE", "p", NOW)]
    text = render_status(build_status(inputs(audit, lags=lags, dead_letters=letters)))
    lines = text.splitlines()
    assert any(line.split() == ["RO>AT", "1", "2", "0"] for line in lines)
    assert any(line.split() == ["AT-BKA", "1", "2"] for line in lines)
    assert any(
        line.split() == ["corridor.deliver.AT-BKA", "AT-BKA.consumer", "17", "yes"]
        for line in lines
    )
    assert any(line.split() == ["BAD_SIGNATURE", "1", "1"] for line in lines)
    assert "processor workers alive: 2" in text
    empty = render_status(build_status(inputs([])))
    assert "Delivered per corridor\n  none" in empty


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "-"),
        (0.4, "0s"),
        (59, "59s"),
        (95, "1m35s"),
        (3 * 3600 + 60, "3h01m"),
        (90000, "1d01h"),
    ],
)
def test_duration(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text
