"""What a sink receives: one verified, opened event as a JSON-ready document.

Sinks differ in where they put things, not in what they put, so the subscriber turns
each event (an opened alert, an alert sealed for others, an acknowledgement, a link
notice, an escalation) into a :class:`Delivery` once and every sink stores its
``document``. ``idempotency_key`` is what sinks deduplicate on: an alert first seen
sealed for other agencies and later delivered sealed for this one is a new delivery.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import Any

import orjson

__all__ = ["Delivery", "DeliveryKind", "iso", "jsonable", "to_json_bytes"]


class DeliveryKind(StrEnum):
    ALERT = "alert"
    #: Verified, but not sealed for this agency: metadata only, ask the issuer (NEED_INFO).
    SEALED_FOR_OTHERS = "sealed_for_others"
    ACKNOWLEDGEMENT = "acknowledgement"
    LINK_NOTICE = "link_notice"
    ESCALATION = "escalation"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event for a sink.

    ``event_id`` is the alert id, ack id, link id or escalation id; ``occurred_at`` the
    event's own time (an alert's ``created_at``), from which delivery latency is
    measured; ``body`` the opened ``AlertBody`` bytes exactly as sealed (alerts only).
    """

    kind: DeliveryKind
    event_id: str
    alert_id: str
    occurred_at: datetime
    document: dict[str, Any]
    body: bytes | None = None

    @property
    def idempotency_key(self) -> str:
        return f"{self.kind.value}:{self.event_id}"


def iso(when: datetime) -> str:
    """UTC ISO 8601 with a ``Z``, microseconds kept."""
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def jsonable(value: Any) -> Any:
    """A decoded Avro value as plain JSON types: UUIDs and times as text, bytes as base64."""
    # Every delivered document goes through here: the plain types fastavro decodes to
    # take the short way (exact types, so enums and other subclasses do not).
    kind = type(value)
    if kind is str or kind is int or kind is float or value is None or kind is bool:
        return value
    if kind is dict:
        return {k if type(k) is str else str(k): jsonable(v) for k, v in value.items()}
    if kind is list:
        return [jsonable(v) for v in value]
    return _jsonable_other(value)


def _jsonable_other(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value.value if isinstance(value, Enum) else value
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    raise TypeError(f"cannot render a {type(value).__name__} as JSON")


def to_json_bytes(document: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON of a document (already :func:`jsonable`).

    orjson writes the same compact form as ``json.dumps(..., ensure_ascii=False,
    separators=(",", ":"))`` at a fraction of its cost (every delivery is written once
    per sink). Text that is not valid Unicode raises ``orjson.JSONEncodeError``, a
    ``TypeError``.
    """
    return orjson.dumps(document)
