"""Agreement follow-up: is each cooperation agreement actually implemented?

An agreement on paper that no one uses, or whose alerts go unanswered, is the failure
this report exists to show. Per agreement: deliveries it allowed within the period,
how many the recipient acknowledged and how fast, how many are unanswered past the
agreement's deadline for the alert's priority, the last exchange, and whether an
agreement in force has been dormant for too long.

A delivery is an ALLOW audit record, identified by (alert id, recipient); it is
answered by an acknowledgement of that alert *from that recipient*, whatever its status
(``RECEIVED`` already stops the deadline clock). Audit records written before they
carried a priority are held to the agreement's longest deadline, so they are never
reported overdue too early.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from corridor.domain import Agreement, Priority
from corridor.ops.model import AckEvent, AgreementFollowUp, AgreementReport, AuditEvent
from corridor.ops.status import unique_decisions

DAY = timedelta(days=1)


def response_deadline(agreement: Agreement | None, priority: Priority | None) -> timedelta | None:
    """The agreement's deadline for ``priority``, else its longest one; None without any."""
    if agreement is None or not agreement.response_deadlines:
        return None
    deadlines = agreement.response_deadlines
    if priority is not None and priority in deadlines:
        return deadlines[priority]
    return max(deadlines.values())


def first_acks(acks: Iterable[AckEvent]) -> dict[tuple[str, str], datetime]:
    """When each (alert, answering agency) first answered."""
    first: dict[tuple[str, str], datetime] = {}
    for ack in acks:
        key = (ack.alert_id, ack.from_agency)
        if key not in first or ack.created_at < first[key]:
            first[key] = ack.created_at
    return first


def _follow_one(
    agreement_id: str,
    agreement: Agreement | None,
    deliveries: list[AuditEvent],
    answered: Mapping[tuple[str, str], datetime],
    *,
    now: datetime,
    period: timedelta,
    dormant_after: timedelta,
) -> AgreementFollowUp:
    recent = [d for d in deliveries if now - period <= d.decided_at <= now]
    waits: list[float] = []
    overdue = 0
    for delivery in recent:
        acked_at = answered.get((delivery.alert_id, delivery.recipient))
        if acked_at is not None:
            waits.append(max((acked_at - delivery.decided_at).total_seconds(), 0.0))
            continue
        deadline = response_deadline(agreement, delivery.priority)
        if deadline is not None and now - delivery.decided_at > deadline:
            overdue += 1
    last = max((d.decided_at for d in deliveries if d.decided_at <= now), default=None)
    in_force = agreement is not None and agreement.in_force_at(now)
    return AgreementFollowUp(
        agreement_id=agreement_id,
        status=agreement.status.value if agreement is not None else "UNKNOWN",
        in_force=in_force,
        exchanges=len(recent),
        acknowledged=len(waits),
        median_ack_seconds=statistics.median(waits) if waits else None,
        overdue=overdue,
        last_exchange=last,
        dormant=in_force and (last is None or now - last > dormant_after),
    )


def follow_up(
    *,
    audit: Iterable[AuditEvent],
    acks: Iterable[AckEvent],
    agreements: Mapping[str, Agreement],
    now: datetime,
    period: timedelta = 7 * DAY,
    dormant_after: timedelta = 30 * DAY,
) -> AgreementReport:
    """The follow-up of every agreement in the directory, and of any other seen in audit.

    ``audit`` should reach back ``max(period, dormant_after)`` so that the last exchange
    of a quiet agreement is still found; ``acks`` from the start of ``period``.
    """
    by_agreement: dict[str, list[AuditEvent]] = defaultdict(list)
    for event in unique_decisions(e for e in audit if e.allowed and e.agreement_id):
        by_agreement[str(event.agreement_id)].append(event)
    answered = first_acks(acks)
    ids = sorted(set(agreements) | set(by_agreement))
    return AgreementReport(
        generated_at=now,
        period_days=period / DAY,
        dormant_after_days=dormant_after / DAY,
        agreements=[
            _follow_one(
                agreement_id,
                agreements.get(agreement_id),
                by_agreement.get(agreement_id, []),
                answered,
                now=now,
                period=period,
                dormant_after=dormant_after,
            )
            for agreement_id in ids
        ],
    )
