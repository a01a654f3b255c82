"""What the operations view is computed from, and what it reports.

Inputs are plain events read from the platform topics (audit decisions,
acknowledgements, dead letters) plus offsets and group descriptions; reports are
aggregates that name corridors, agencies, agreements and reason codes only. Alert ids
stay inside the inputs, where they match an acknowledgement to its delivery: no report
type has a field that could carry one, so nothing downstream (CLI, JSON, dashboard,
metrics) can leak it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from corridor.domain import AckStatus, Priority

ALLOW = "ALLOW"
DENY = "DENY"


def iso(when: datetime | None) -> str | None:
    """UTC time as ISO 8601 with seconds, the form every report uses."""
    return None if when is None else when.isoformat(timespec="seconds")


# -- inputs ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One policy decision from ``corridor.audit``; ALLOW means delivered to ``recipient``."""

    alert_id: str
    corridor: str
    issuer: str
    recipient: str
    outcome: str
    reason: str
    agreement_id: str | None
    decided_at: datetime
    priority: Priority | None = None

    @property
    def allowed(self) -> bool:
        return self.outcome == ALLOW


@dataclass(frozen=True, slots=True)
class AckEvent:
    """A verified acknowledgement from ``corridor.acks.inbound``."""

    alert_id: str
    from_agency: str
    status: AckStatus
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DeadLetterEvent:
    reason: str
    component: str
    failed_at: datetime


@dataclass(frozen=True, slots=True)
class GroupLag:
    """How far ``group`` is behind on ``topic``: records not yet committed."""

    topic: str
    group: str
    lag: int
    #: False when the group never committed an offset there (lag counts every record).
    committed: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "group": self.group,
            "lag": self.lag,
            "committed": self.committed,
        }


@dataclass(frozen=True, slots=True)
class Workers:
    """The processors' consumer group as the broker describes it."""

    group: str
    state: str
    members: int
    partitions: int

    def as_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "state": self.state,
            "members": self.members,
            "partitions": self.partitions,
        }


@dataclass(frozen=True, slots=True)
class StatusInputs:
    """Everything ``corridor status`` needs, as read from Kafka at ``now``."""

    now: datetime
    #: Decisions of at least the last hour (older ones are ignored).
    audit: list[AuditEvent]
    #: Every retained dead letter.
    dead_letters: list[DeadLetterEvent]
    lags: list[GroupLag]
    workers: Workers
    brokers: int


# -- reports ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CorridorThroughput:
    corridor: str
    delivered_minute: int
    delivered_hour: int
    denied_hour: int

    def as_json(self) -> dict[str, Any]:
        return {
            "corridor": self.corridor,
            "delivered_last_minute": self.delivered_minute,
            "delivered_last_hour": self.delivered_hour,
            "denied_last_hour": self.denied_hour,
        }


@dataclass(frozen=True, slots=True)
class AgencyThroughput:
    agency: str
    delivered_minute: int
    delivered_hour: int

    def as_json(self) -> dict[str, Any]:
        return {
            "agency": self.agency,
            "delivered_last_minute": self.delivered_minute,
            "delivered_last_hour": self.delivered_hour,
        }


@dataclass(frozen=True, slots=True)
class DecisionCount:
    outcome: str
    reason: str
    count: int

    def as_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "reason": self.reason, "last_hour": self.count}


@dataclass(frozen=True, slots=True)
class DeadLetterCount:
    reason: str
    last_hour: int
    total: int

    def as_json(self) -> dict[str, Any]:
        return {"reason": self.reason, "last_hour": self.last_hour, "total": self.total}


@dataclass(frozen=True, slots=True)
class StatusReport:
    generated_at: datetime
    corridors: list[CorridorThroughput]
    agencies: list[AgencyThroughput]
    decisions: list[DecisionCount]
    dead_letters: list[DeadLetterCount]
    lags: list[GroupLag]
    workers: Workers
    brokers: int

    @property
    def delivered_hour(self) -> int:
        return sum(c.delivered_hour for c in self.corridors)

    @property
    def delivered_minute(self) -> int:
        return sum(c.delivered_minute for c in self.corridors)

    @property
    def denied_hour(self) -> int:
        return sum(c.denied_hour for c in self.corridors)

    def as_json(self) -> dict[str, Any]:
        return {
            "generated_at": iso(self.generated_at),
            "totals": {
                "delivered_last_minute": self.delivered_minute,
                "delivered_last_hour": self.delivered_hour,
                "denied_last_hour": self.denied_hour,
                "dead_letters_last_hour": sum(d.last_hour for d in self.dead_letters),
                "dead_letters_total": sum(d.total for d in self.dead_letters),
                "lag": sum(g.lag for g in self.lags),
            },
            "corridors": [c.as_json() for c in self.corridors],
            "agencies": [a.as_json() for a in self.agencies],
            "decisions": [d.as_json() for d in self.decisions],
            "dead_letters": [d.as_json() for d in self.dead_letters],
            "lag": [g.as_json() for g in self.lags],
            "workers": self.workers.as_json(),
            "brokers": self.brokers,
        }


@dataclass(frozen=True, slots=True)
class AgreementFollowUp:
    """Whether one agreement is being implemented: used, answered, answered in time."""

    agreement_id: str
    status: str
    in_force: bool
    exchanges: int
    acknowledged: int
    median_ack_seconds: float | None
    overdue: int
    last_exchange: datetime | None
    dormant: bool

    @property
    def ack_rate(self) -> float | None:
        return self.acknowledged / self.exchanges if self.exchanges else None

    def as_json(self) -> dict[str, Any]:
        return {
            "agreement": self.agreement_id,
            "status": self.status,
            "in_force": self.in_force,
            "exchanges": self.exchanges,
            "acknowledged": self.acknowledged,
            "ack_rate": self.ack_rate,
            "median_ack_seconds": self.median_ack_seconds,
            "overdue": self.overdue,
            "last_exchange": iso(self.last_exchange),
            "dormant": self.dormant,
        }


@dataclass(frozen=True, slots=True)
class AgreementReport:
    generated_at: datetime
    period_days: float
    dormant_after_days: float
    agreements: list[AgreementFollowUp] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "generated_at": iso(self.generated_at),
            "period_days": self.period_days,
            "dormant_after_days": self.dormant_after_days,
            "agreements": [a.as_json() for a in self.agreements],
        }
