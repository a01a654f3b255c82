"""The operations view's inputs, read from Kafka with the operator's credentials.

The operator may read the audit, dead-letter and acknowledgement topics and describe
every topic and group, and nothing else (see ``operator_grants``): no delivery topic,
so no alert, ever passes through here. Acknowledgements are counted only once their
signature checks out against the directory, so a forged answer cannot make an
agreement look honoured. Records that are not what their topic should hold are
skipped and counted in ``skipped``; the processors' dead-letter topic is where such
records are explained.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition

from corridor.acks import decode_ack, verify_ack
from corridor.codec import Codec
from corridor.connection import Connection
from corridor.domain import Agency, Directory, Priority
from corridor.exceptions import CorridorError
from corridor.kafka_clients import admin_client
from corridor.logs import log_event
from corridor.ops.agreements import DAY, follow_up
from corridor.ops.errors import OpsError
from corridor.ops.model import (
    AckEvent,
    AgreementReport,
    AuditEvent,
    DeadLetterEvent,
    GroupLag,
    StatusInputs,
    StatusReport,
    Workers,
)
from corridor.ops.scan import Partition, partitions_of, scan, watermarks
from corridor.ops.status import HOUR, MINUTE, build_status, topic_lag
from corridor.schema_registry import codec_for
from corridor.topics import ACKS_INBOUND, AUDIT, DELIVERY_PREFIX, DLQ, INBOUND

LOG = logging.getLogger("corridor.ops")
#: Producers stamp records a little before or after ``decided_at``: read a margin more.
CLOCK_MARGIN = MINUTE


def consumer_group_of(delivery_topic: str) -> str:
    """The group an agency's consumer commits its delivery topic in: ``<AGENCY>.consumer``."""
    return f"{delivery_topic[len(DELIVERY_PREFIX) :]}.consumer"


def audit_event(record: Mapping[str, object]) -> AuditEvent:
    priority = record.get("priority")
    decided_at = record["decided_at"]
    if not isinstance(decided_at, datetime):
        raise OpsError("audit record without a decision time")
    agreement = record.get("agreement_id")
    return AuditEvent(
        alert_id=str(record["alert_id"]),
        corridor=str(record["corridor_key"]),
        issuer=str(record["issuer"]),
        recipient=str(record["recipient"]),
        outcome=str(record["outcome"]),
        reason=str(record["reason"]),
        agreement_id=None if agreement is None else str(agreement),
        decided_at=decided_at,
        priority=None if priority is None else Priority(str(priority)),
    )


class OpsReader:
    """Collects what ``corridor status`` and ``corridor agreements report`` show."""

    def __init__(
        self,
        conn: Connection,
        *,
        processor_group: str,
        codec: Codec | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._conn = conn
        self._admin = admin_client(conn, quiet=True)
        self._codec = codec if codec is not None else codec_for(conn)
        self._timeout = timeout
        self.processor_group = processor_group
        self.skipped = 0

    # topics ----------------------------------------------------------------------------
    def _skip(self, topic: str, why: str) -> None:
        self.skipped += 1
        log_event(LOG, "ops_record_skipped", level=logging.DEBUG, topic=topic, reason=why)

    def audit_since(self, since: datetime) -> list[AuditEvent]:
        events: list[AuditEvent] = []
        for msg in scan(self._conn, self._admin, AUDIT, since=since - CLOCK_MARGIN):
            try:
                events.append(audit_event(self._codec.decode_as("AuditRecord", msg.value() or b"")))
            except (CorridorError, KeyError, ValueError) as exc:
                self._skip(AUDIT, type(exc).__name__)
        return events

    def acks_since(self, since: datetime, agencies: Mapping[str, Agency]) -> list[AckEvent]:
        """Acknowledgements whose signature verifies against ``agencies``."""
        acks: list[AckEvent] = []
        for msg in scan(self._conn, self._admin, ACKS_INBOUND, since=since - CLOCK_MARGIN):
            try:
                ack = decode_ack(msg.value() or b"", self._codec)
                sender = agencies.get(ack.from_agency)
                if sender is None:
                    self._skip(ACKS_INBOUND, "UNKNOWN_AGENCY")
                    continue
                verify_ack(ack, sender)
            except CorridorError as exc:
                self._skip(ACKS_INBOUND, type(exc).__name__)
                continue
            acks.append(AckEvent(ack.alert_id, ack.from_agency, ack.status, ack.created_at))
        return acks

    def dead_letters(self) -> list[DeadLetterEvent]:
        """Every retained dead letter (the topic is small unless something is badly wrong)."""
        letters: list[DeadLetterEvent] = []
        for msg in scan(self._conn, self._admin, DLQ, since=None):
            try:
                record = self._codec.decode_as("DeadLetter", msg.value() or b"")
                failed_at = record["failed_at"]
                if not isinstance(failed_at, datetime):
                    raise OpsError("dead letter without a failure time")
                letters.append(
                    DeadLetterEvent(str(record["reason"]), str(record["component"]), failed_at)
                )
            except (CorridorError, KeyError) as exc:
                self._skip(DLQ, type(exc).__name__)
        return letters

    # groups and offsets ------------------------------------------------------------------
    def delivery_topics(self) -> list[str]:
        try:
            topics = self._admin.list_topics(timeout=self._timeout).topics
        except KafkaException as exc:
            raise OpsError(f"cannot read the cluster metadata: {exc}") from exc
        return sorted(t for t in topics if t.startswith(DELIVERY_PREFIX))

    def lags(self) -> list[GroupLag]:
        """Each agency's lag on its delivery topic, and the processors' on the inbound topics."""
        wanted = {t: consumer_group_of(t) for t in self.delivery_topics()}
        wanted.update({INBOUND: self.processor_group, ACKS_INBOUND: self.processor_group})
        counts = partitions_of(self._admin, wanted, timeout=self._timeout)
        parts = [(t, p) for t, n in counts.items() for p in range(n)]
        marks = watermarks(self._admin, parts, timeout=self._timeout)
        by_group: dict[str, list[Partition]] = {}
        for topic, p in parts:
            by_group.setdefault(wanted[topic], []).append((topic, p))
        committed = self._committed(by_group)
        result = []
        for topic in sorted(counts):
            topic_marks = {p: marks[(t, p)] for t, p in parts if t == topic}
            topic_commits = {p: committed.get((topic, p)) for p in topic_marks}
            lag, any_commit = topic_lag(topic_marks, topic_commits)
            result.append(GroupLag(topic, wanted[topic], lag, any_commit))
        return result

    def _committed(self, by_group: Mapping[str, Iterable[Partition]]) -> dict[Partition, int]:
        futures = {}
        try:
            for group, parts in by_group.items():
                request = ConsumerGroupTopicPartitions(
                    group, [TopicPartition(t, p) for t, p in parts]
                )
                futures.update(
                    self._admin.list_consumer_group_offsets(
                        [request], request_timeout=self._timeout
                    )
                )
            offsets: dict[Partition, int] = {}
            for future in futures.values():
                for tp in future.result(timeout=self._timeout).topic_partitions:
                    offsets[(tp.topic, tp.partition)] = int(tp.offset)
        except KafkaException as exc:
            raise OpsError(f"cannot read committed offsets: {exc}") from exc
        return offsets

    def workers(self) -> Workers:
        group = self.processor_group
        try:
            future = self._admin.describe_consumer_groups([group], request_timeout=self._timeout)
            description = future[group].result(timeout=self._timeout)
        except KafkaException as exc:
            log_event(LOG, "ops_group_not_described", group=group, error=str(exc.args[0]))
            return Workers(group, "UNKNOWN", 0, 0)
        members = list(description.members or [])
        partitions = sum(
            len(m.assignment.topic_partitions) for m in members if m.assignment is not None
        )
        state = getattr(description.state, "name", str(description.state))
        return Workers(group, state, len(members), partitions)

    def brokers(self) -> int:
        try:
            return len(self._admin.list_topics(timeout=self._timeout).brokers)
        except KafkaException as exc:
            raise OpsError(f"cannot read the cluster metadata: {exc}") from exc

    # reports ----------------------------------------------------------------------------
    def status_inputs(self, now: datetime) -> StatusInputs:
        return StatusInputs(
            now=now,
            audit=self.audit_since(now - HOUR),
            dead_letters=self.dead_letters(),
            lags=self.lags(),
            workers=self.workers(),
            brokers=self.brokers(),
        )

    def status(self, now: datetime) -> StatusReport:
        return build_status(self.status_inputs(now))

    def agreements(
        self,
        directory: Directory,
        now: datetime,
        *,
        period: timedelta = 7 * DAY,
        dormant_after: timedelta = 30 * DAY,
    ) -> AgreementReport:
        return follow_up(
            audit=self.audit_since(now - max(period, dormant_after)),
            acks=self.acks_since(now - period, directory.agencies),
            agreements=directory.agreements,
            now=now,
            period=period,
            dormant_after=dormant_after,
        )
