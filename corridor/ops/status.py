"""``corridor status`` as a pure function of what was read from Kafka.

Kept apart from the reader so the arithmetic (windows, duplicates, lag) is tested
without a broker. A decision is identified by (alert id, recipient): a processor that
restarts mid-batch may write the same decision twice, and an operator must not see
twice the traffic there was.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import timedelta

from corridor.ops.model import (
    AgencyThroughput,
    AuditEvent,
    CorridorThroughput,
    DeadLetterCount,
    DecisionCount,
    StatusInputs,
    StatusReport,
)

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
#: Committed offsets Kafka reports for a partition the group never committed.
NO_OFFSET = -1001


def unique_decisions(events: Iterable[AuditEvent]) -> list[AuditEvent]:
    """The first decision per (alert, recipient); later copies are replays of the same one."""
    first: dict[tuple[str, str], AuditEvent] = {}
    for event in events:
        key = (event.alert_id, event.recipient)
        kept = first.get(key)
        if kept is None or event.decided_at < kept.decided_at:
            first[key] = event
    return list(first.values())


def partition_lag(low: int, high: int, committed: int | None) -> int:
    """Records of one partition the group has not committed; never negative.

    Without a commit (``None`` or a negative sentinel) every retained record counts, and
    a commit older than the retained data counts from the oldest record still there.
    """
    if committed is None or committed < 0:
        return max(high - low, 0)
    return max(high - max(committed, low), 0)


def topic_lag(
    watermarks: Mapping[int, tuple[int, int]], committed: Mapping[int, int | None]
) -> tuple[int, bool]:
    """Lag summed over a topic's partitions, and whether the group committed anywhere."""
    lag = sum(partition_lag(low, high, committed.get(p)) for p, (low, high) in watermarks.items())
    any_commit = any(c is not None and c >= 0 for c in committed.values())
    return lag, any_commit


def build_status(inputs: StatusInputs) -> StatusReport:
    now = inputs.now
    recent = [e for e in unique_decisions(inputs.audit) if now - HOUR <= e.decided_at <= now]
    minute = now - MINUTE

    delivered_hour: Counter[str] = Counter()
    delivered_minute: Counter[str] = Counter()
    denied_hour: Counter[str] = Counter()
    agency_hour: Counter[str] = Counter()
    agency_minute: Counter[str] = Counter()
    decisions: Counter[tuple[str, str]] = Counter()
    for event in recent:
        decisions[(event.outcome, event.reason)] += 1
        if event.allowed:
            delivered_hour[event.corridor] += 1
            agency_hour[event.recipient] += 1
            if event.decided_at >= minute:
                delivered_minute[event.corridor] += 1
                agency_minute[event.recipient] += 1
        else:
            denied_hour[event.corridor] += 1

    corridors = sorted(set(delivered_hour) | set(denied_hour))
    dead_hour: Counter[str] = Counter()
    dead_total: Counter[str] = Counter()
    for letter in inputs.dead_letters:
        dead_total[letter.reason] += 1
        if now - HOUR <= letter.failed_at <= now:
            dead_hour[letter.reason] += 1

    return StatusReport(
        generated_at=now,
        corridors=[
            CorridorThroughput(c, delivered_minute[c], delivered_hour[c], denied_hour[c])
            for c in sorted(corridors, key=lambda c: (-delivered_hour[c], -denied_hour[c], c))
        ],
        agencies=[
            AgencyThroughput(a, agency_minute[a], agency_hour[a])
            for a in sorted(agency_hour, key=lambda a: (-agency_hour[a], a))
        ],
        decisions=[
            DecisionCount(outcome, reason, count)
            for (outcome, reason), count in sorted(
                decisions.items(), key=lambda item: (item[0][0], -item[1], item[0][1])
            )
        ],
        dead_letters=[
            DeadLetterCount(reason, dead_hour[reason], dead_total[reason])
            for reason in sorted(dead_total, key=lambda r: (-dead_hour[r], -dead_total[r], r))
        ],
        lags=sorted(inputs.lags, key=lambda g: (-g.lag, g.topic, g.group)),
        workers=inputs.workers,
        brokers=inputs.brokers,
    )
