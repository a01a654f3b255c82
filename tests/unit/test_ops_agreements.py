"""Agreement follow-up: exchanges, acknowledgements matched to their recipient, deadlines."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from corridor.domain import (
    AckStatus,
    AgencyKind,
    Agreement,
    AgreementKind,
    AgreementStatus,
    Priority,
)
from corridor.ops.agreements import follow_up, response_deadline
from corridor.ops.model import AckEvent, AgreementFollowUp, AuditEvent
from corridor.ops.text import render_agreements

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def agreement(
    agreement_id: str,
    *,
    status: AgreementStatus = AgreementStatus.ACTIVE,
    deadlines: dict[Priority, timedelta] | None = None,
) -> Agreement:
    return Agreement(
        id=agreement_id,
        title=agreement_id,
        kind=AgreementKind.BILATERAL,
        parties=frozenset({"RO", "AT"}),
        alert_types=frozenset(),
        scope={AgencyKind.LAW_ENFORCEMENT: frozenset()},
        valid_from=NOW - 1000 * DAY,
        valid_to=None,
        status=status,
        response_deadlines=(
            {Priority.IMMEDIATE: 4 * HOUR, Priority.URGENT: 24 * HOUR, Priority.ROUTINE: 5 * DAY}
            if deadlines is None
            else deadlines
        ),
    )


def allowed(
    alert: str,
    ago: timedelta,
    *,
    agreement_id: str = "RO-AT",
    recipient: str = "AT-BKA",
    priority: Priority | None = Priority.URGENT,
) -> AuditEvent:
    return AuditEvent(
        alert_id=alert,
        corridor="RO>AT",
        issuer="RO-ANITP",
        recipient=recipient,
        outcome="ALLOW",
        reason="ALLOWED",
        agreement_id=agreement_id,
        decided_at=NOW - ago,
        priority=priority,
    )


def ack(alert: str, ago: timedelta, *, sender: str = "AT-BKA") -> AckEvent:
    return AckEvent(alert, sender, AckStatus.RECEIVED, NOW - ago)


def report_for(
    audit: list[AuditEvent], acks: list[AckEvent], **agreements: Agreement
) -> dict[str, AgreementFollowUp]:
    result = follow_up(
        audit=audit,
        acks=acks,
        agreements=agreements or {"RO-AT": agreement("RO-AT")},
        now=NOW,
        period=7 * DAY,
        dormant_after=30 * DAY,
    )
    return {a.agreement_id: a for a in result.agreements}


def test_exchanges_ack_rate_and_median_time_to_acknowledge() -> None:
    audit = [
        allowed("a1", 10 * HOUR),
        allowed("a2", 9 * HOUR),
        allowed("a3", 8 * HOUR),
        allowed("a4", 1 * HOUR),
    ]
    acks = [
        ack("a1", 10 * HOUR - timedelta(minutes=30)),  # 30 min
        ack("a1", 2 * HOUR),  # a later answer to the same alert does not count again
        ack("a2", 9 * HOUR - timedelta(minutes=90)),  # 90 min
        ack("a3", 8 * HOUR - timedelta(minutes=60)),  # 60 min
    ]
    row = report_for(audit, acks)["RO-AT"]
    assert row.exchanges == 4
    assert row.acknowledged == 3
    assert row.ack_rate == 0.75
    assert row.median_ack_seconds == 3600.0
    assert row.last_exchange == NOW - HOUR
    assert row.overdue == 0
    assert row.dormant is False


def test_an_ack_counts_only_for_the_delivery_to_the_agency_that_sent_it() -> None:
    audit = [allowed("a1", 2 * HOUR), allowed("a1", 2 * HOUR, recipient="AT-IBF")]
    acks = [ack("a1", HOUR, sender="AT-IBF"), ack("zz", HOUR)]
    row = report_for(audit, acks)["RO-AT"]
    assert (row.exchanges, row.acknowledged) == (2, 1)


def test_overdue_uses_the_deadline_of_the_priority_else_the_longest() -> None:
    audit = [
        allowed("imm-late", 5 * HOUR, priority=Priority.IMMEDIATE),  # 4 h deadline: overdue
        allowed("imm-ok", 3 * HOUR, priority=Priority.IMMEDIATE),
        allowed("urg-late", 25 * HOUR, priority=Priority.URGENT),  # 24 h: overdue
        allowed("old-format", 25 * HOUR, priority=None),  # longest (5 days): not yet
        allowed("old-late", 6 * DAY, priority=None),  # past 5 days: overdue
        allowed("answered-late", 6 * DAY, priority=Priority.IMMEDIATE),
    ]
    acks = [ack("answered-late", DAY)]
    row = report_for(audit, acks)["RO-AT"]
    assert row.overdue == 3


def test_a_priority_the_agreement_has_no_deadline_for_falls_back_to_its_longest() -> None:
    partial = agreement("P", deadlines={Priority.IMMEDIATE: 2 * HOUR, Priority.URGENT: 12 * HOUR})
    assert response_deadline(partial, Priority.ROUTINE) == 12 * HOUR
    assert response_deadline(partial, Priority.IMMEDIATE) == 2 * HOUR
    assert response_deadline(partial, None) == 12 * HOUR
    assert response_deadline(agreement("N", deadlines={}), Priority.URGENT) is None
    assert response_deadline(None, Priority.URGENT) is None


def test_dormant_only_for_agreements_in_force_quiet_for_the_period() -> None:
    rows = report_for(
        [
            allowed("a1", 40 * DAY, agreement_id="QUIET"),
            allowed("a2", 29 * DAY, agreement_id="RECENT"),
        ],
        [],
        QUIET=agreement("QUIET"),
        RECENT=agreement("RECENT"),
        NEVER=agreement("NEVER"),
        SUSPENDED=agreement("SUSPENDED", status=AgreementStatus.SUSPENDED),
    )
    assert rows["QUIET"].dormant is True
    assert rows["QUIET"].exchanges == 0  # outside the 7-day period
    assert rows["QUIET"].last_exchange == NOW - 40 * DAY
    assert rows["RECENT"].dormant is False
    assert rows["NEVER"].dormant is True
    assert rows["NEVER"].last_exchange is None
    assert rows["SUSPENDED"].dormant is False
    assert rows["SUSPENDED"].in_force is False


def test_agreements_seen_in_audit_but_gone_from_the_directory_are_reported() -> None:
    rows = report_for([allowed("a1", HOUR, agreement_id="GONE")], [])
    assert rows["GONE"].status == "UNKNOWN"
    assert rows["GONE"].exchanges == 1
    assert rows["GONE"].overdue == 0  # no deadline known
    assert rows["RO-AT"].exchanges == 0


def test_denials_and_duplicates_are_not_exchanges() -> None:
    denied = AuditEvent(
        "d1", "RO>AT", "RO-ANITP", "AT-LEFOE", "DENY", "NO_CONSENT", "RO-AT", NOW - HOUR
    )
    audit = [allowed("a1", HOUR), allowed("a1", HOUR - timedelta(seconds=1)), denied]
    assert report_for(audit, [])["RO-AT"].exchanges == 1


def test_json_and_text_hold_figures_and_no_alert_ids() -> None:
    alert = "7d3f0e6a-1111-4000-8000-000000000001"
    result = follow_up(
        audit=[allowed(alert, 2 * HOUR)],
        acks=[ack(alert, HOUR)],
        agreements={"RO-AT": agreement("RO-AT"), "NEVER": agreement("NEVER")},
        now=NOW,
    )
    data = result.as_json()
    assert data["agreements"][1] == {
        "agreement": "RO-AT",
        "status": "ACTIVE",
        "in_force": True,
        "exchanges": 1,
        "acknowledged": 1,
        "ack_rate": 1.0,
        "median_ack_seconds": 3600.0,
        "overdue": 0,
        "last_exchange": "2025-06-01T10:00:00+00:00",
        "dormant": False,
    }
    text = render_agreements(result)
    assert alert not in json.dumps(data) + text
    lines = {line.split()[0]: line.split() for line in text.splitlines()[2:]}
    assert lines["RO-AT"][:6] == ["RO-AT", "ACTIVE", "1", "100%", "1h00m", "0"]
    assert lines["NEVER"][-1] == "DORMANT"
