"""Missed response deadlines and expired state, found by a timer and acted on in-stream.

faust writes a table change to the changelog partition of the event being processed,
so a table may only change while processing an event of the entry's own partition. The
timer therefore only looks: it lists, per partition this worker holds, the alerts past
a deadline or their time to live and the tokens past the link window, and sends that
list as a command to the same partition of an internal topic. The command's handler
checks each entry again (it may have been answered meanwhile), raises the escalations,
and changes the tables. A command sent twice finds nothing left to do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any

from corridor.logs import log_event
from corridor.metrics import ProcessorMetrics
from processors.correlation import Correlator
from processors.emitter import Emitter
from processors.state import (
    corridor_key_of,
    escalate,
    expired,
    issuer_of,
    overdue,
    partition_of,
    priority_of,
)

__all__ = ["Command", "Sweeper"]

LOG = logging.getLogger("corridor.processor.sweeper")

Command = dict[str, list[str]]
ESCALATE, EXPIRE, TOKENS = "escalate", "expire", "tokens"


class Sweeper:
    def __init__(
        self,
        *,
        alerts: MutableMapping[str, Any],
        correlator: Correlator,
        emitter: Emitter,
        metrics: ProcessorMetrics,
        ttl: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._alerts = alerts
        self._correlator = correlator
        self._emitter = emitter
        self._metrics = metrics
        self._ttl = ttl.total_seconds()
        self._clock = clock

    def plan(self, alert_partitions: set[int], token_partitions: set[int]) -> dict[int, Command]:
        """The commands to send, by partition, for the partitions this worker holds."""
        now = self._clock().timestamp()
        commands: dict[int, Command] = {}
        for alert_id, entry in self._alerts.items():
            partition = partition_of(entry)
            if partition not in alert_partitions:
                continue  # left over from a partition another worker holds now
            if expired(entry, now, self._ttl):
                commands.setdefault(partition, {}).setdefault(EXPIRE, []).append(alert_id)
            elif overdue(entry, now):
                commands.setdefault(partition, {}).setdefault(ESCALATE, []).append(alert_id)
        for partition, tokens in self._correlator.stale(token_partitions).items():
            commands.setdefault(partition, {})[TOKENS] = tokens
        return commands

    def apply(self, command: Command) -> None:
        """Carry out one command, checking every entry again first."""
        now = self._clock()
        now_ts = now.timestamp()
        for alert_id in command.get(EXPIRE, ()):
            entry = self._alerts.get(alert_id)
            if entry is not None and expired(entry, now_ts, self._ttl):
                del self._alerts[alert_id]
        for alert_id in command.get(ESCALATE, ()):
            entry = self._alerts.get(alert_id)
            if entry is not None:
                self._escalate(alert_id, entry, now)
        tokens = command.get(TOKENS)
        if tokens:
            self._correlator.forget(tokens)

    def _escalate(self, alert_id: str, entry: dict[str, Any], now: datetime) -> None:
        late = overdue(entry, now.timestamp())
        if not late:
            return
        issuer, priority = issuer_of(entry), priority_of(entry)
        key = corridor_key_of(entry).encode()
        for recipient, agreement_id, deadline in late:
            record = {
                "alert_id": alert_id,
                "issuer": issuer,
                "recipient": recipient,
                "priority": priority,
                "deadline": datetime.fromtimestamp(deadline, UTC),
                "raised_at": now,
                "agreement_id": agreement_id,
            }
            self._emitter.escalation(record, key)
            self._metrics.escalations.labels(priority, agreement_id).inc()
            log_event(
                LOG,
                "escalation_raised",
                alert_id=alert_id,
                issuer=issuer,
                recipient=recipient,
                agreement=agreement_id,
                priority=priority,
            )
        self._alerts[alert_id] = escalate(entry, [r for r, _, _ in late])
