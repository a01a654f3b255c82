"""Encoding of the audit records, the processors' most frequent output.

A processor writes one AuditRecord per candidate recipient of every alert, from values
already decoded and checked. :meth:`corridor.codec.Codec.encode` checks every field of
every record (so a caller's mistake gets a message naming the field) and then runs
fastavro's writer; for these records both are overhead. :class:`AuditEncoder` writes
the same bytes as the codec (its framing, its schema) from parts it reuses, and
proves it on a sample record when it is built.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from corridor.avro_writer import avro_long as _long
from corridor.codec import Codec
from corridor.domain import AlertMetadata
from corridor.policy import POLICY_VERSION, Decision, Reason
from processors.errors import ProcessorError

__all__ = ["AuditEncoder"]


def _string(value: str) -> bytes:
    data = value.encode()
    return _long(len(data)) + data


def _micros(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _enum_symbols(schema: Any, name: str) -> list[str]:
    """The symbols of the enum ``name`` defined somewhere inside a parsed schema."""
    if isinstance(schema, dict):
        if schema.get("type") == "enum" and schema.get("name") == name:
            return list(schema["symbols"])
        children: list[Any] = [*schema.get("fields", ()), schema.get("type")]
    elif isinstance(schema, list):
        children = schema
    else:
        return []
    for child in children:
        found = _enum_symbols(child, name)
        if found:
            return found
    return []


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Distinct (recipient, decision) encodings kept; a directory has far fewer.
_MAX_CACHED_DECISIONS = 4096


class AuditEncoder:
    """AuditRecords for all the decisions on one alert, assembled from encoded parts.

    An AuditRecord's Avro encoding is its fields' encodings one after the other. Per
    alert, the fields before the recipient (alert, corridor, issuer) and after the
    policy version (time, processor, priority) are the same for every decision, and a
    (recipient, decision) pair encodes the same way for every alert, so each record is
    three byte strings joined. Built only if it writes, for a sample, exactly the bytes
    the codec writes.
    """

    def __init__(self, codec: Codec, processor_id: str) -> None:
        schema = codec.schema("AuditRecord")
        self._outcome = {s: _long(i) for i, s in enumerate(_enum_symbols(schema, _OUTCOME))}
        self._priority = {
            s: _long(1) + _long(i) for i, s in enumerate(_enum_symbols(schema, _PRIORITY))
        }
        self._processor = _string(processor_id)
        self._parts: dict[tuple[str, Decision], bytes] = {}
        self._header = b""
        sample = _sample_audit(processor_id)
        expected = codec.encode("AuditRecord", sample)
        body = self._body(sample)
        if not expected.endswith(body):
            raise ProcessorError("cannot encode AuditRecord records like the codec does")
        self._header = expected[: len(expected) - len(body)]

    def _body(self, record: Mapping[str, Any]) -> bytes:
        decision = Decision(
            record["outcome"] == "ALLOW",
            Reason(record["reason"]),
            record["agreement_id"],
            record["policy_version"],
        )
        head, tail = self._alert_parts(
            record["alert_id"],
            record["corridor_key"],
            record["issuer"],
            record["decided_at"],
            record["priority"],
        )
        return head + self._decision(record["recipient"], decision) + tail

    def _alert_parts(
        self, alert_id: str, corridor_key: str, issuer: str, at: datetime, priority: str | None
    ) -> tuple[bytes, bytes]:
        head = _string(alert_id) + _string(corridor_key) + _string(issuer)
        tail = _long(_micros(at)) + self._processor
        return head, tail + (self._priority[priority] if priority is not None else _long(0))

    def _decision(self, recipient: str, decision: Decision) -> bytes:
        key = (recipient, decision)
        part = self._parts.get(key)
        if part is None:
            agreement = decision.agreement_id
            part = (
                _string(recipient)
                + self._outcome["ALLOW" if decision.allowed else "DENY"]
                + _string(decision.reason.value)
                + (_long(1) + _string(agreement) if agreement is not None else _long(0))
                + _string(decision.policy_version)
            )
            if len(self._parts) >= _MAX_CACHED_DECISIONS:
                self._parts.clear()
            self._parts[key] = part
        return part

    def encode_all(
        self,
        metadata: AlertMetadata,
        decisions: Iterable[tuple[str, Decision]],
        decided_at: datetime,
    ) -> list[bytes]:
        """One encoded AuditRecord per (recipient, decision), in order."""
        head, tail = self._alert_parts(
            metadata.alert_id,
            metadata.corridor.key,
            metadata.issuer,
            decided_at,
            metadata.priority.value,
        )
        head = self._header + head
        return [head + self._decision(recipient, d) + tail for recipient, d in decisions]


_OUTCOME = "corridor.audit.Outcome"
_PRIORITY = "corridor.common.Priority"


def _sample_audit(processor_id: str) -> dict[str, Any]:
    """A valid AuditRecord, for an encoder to prove itself against the codec."""
    return {
        "alert_id": "00000000-0000-4000-8000-000000000000",
        "corridor_key": "RO>AT",
        "issuer": "RO-SAMPLE",
        "recipient": "AT-SAMPLE",
        "outcome": "DENY",
        "reason": "NO_AGREEMENT",
        "agreement_id": "TRM-SAMPLE",
        "policy_version": POLICY_VERSION,
        "decided_at": datetime(2025, 1, 1, 12, 30, 5, 123456, tzinfo=UTC),
        "processor_id": processor_id,
        "priority": "URGENT",
    }
