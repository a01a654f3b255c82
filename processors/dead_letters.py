"""Why the processors refuse a record: the reason codes written to ``corridor.dlq``.

One catalogue for alerts and acknowledgements, so operators filter the dead-letter
topic by one set of codes. Verification failures keep the envelope's own codes
(:class:`corridor.envelope.RejectReason`). Each code has one fixed sentence for the
``detail`` field: details never echo input, which may hold anything.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType

from corridor.envelope import RejectReason

__all__ = ["DETAILS", "DeadLetterReason", "from_reject"]


class DeadLetterReason(StrEnum):
    UNDECODABLE = "UNDECODABLE"
    UNEXPECTED_EVENT = "UNEXPECTED_EVENT"
    INVALID_RECORD = "INVALID_RECORD"
    KEY_MISMATCH = "KEY_MISMATCH"
    EXPIRED = "EXPIRED"
    UNKNOWN_ISSUER = "UNKNOWN_ISSUER"
    ISSUER_NOT_ACTIVE = "ISSUER_NOT_ACTIVE"
    BAD_SIGNATURE = RejectReason.BAD_SIGNATURE.value
    UNKNOWN_KEY = RejectReason.UNKNOWN_KEY.value
    KEY_NOT_VALID = RejectReason.KEY_NOT_VALID.value
    UNSUPPORTED_SUITE = RejectReason.UNSUPPORTED_SUITE.value
    MALFORMED = RejectReason.MALFORMED.value
    ISSUER_MISMATCH = RejectReason.ISSUER_MISMATCH.value
    CREATED_IN_FUTURE = RejectReason.CREATED_IN_FUTURE.value
    DUPLICATE = "DUPLICATE"
    ALERT_ID_REUSED = "ALERT_ID_REUSED"
    UNKNOWN_ALERT = "UNKNOWN_ALERT"
    NOT_A_RECIPIENT = "NOT_A_RECIPIENT"
    PROCESSING_FAILED = "PROCESSING_FAILED"


_R = DeadLetterReason

DETAILS = MappingProxyType(
    {
        _R.UNDECODABLE: "not a well-formed Corridor event (framing, schema or encoding)",
        _R.UNEXPECTED_EVENT: "a well-formed event of another type than this topic carries",
        _R.INVALID_RECORD: "the event decodes but a field breaks the record rules",
        _R.KEY_MISMATCH: "the message key is not the corridor key of the event",
        _R.EXPIRED: "created longer ago than the processors accept",
        _R.UNKNOWN_ISSUER: "the signing agency is not in the directory",
        _R.ISSUER_NOT_ACTIVE: "the signing agency is suspended or revoked in the directory",
        _R.BAD_SIGNATURE: "the signature does not match the content",
        _R.UNKNOWN_KEY: "the signing key id is not in the agency's directory entry",
        _R.KEY_NOT_VALID: "the signing key was not valid at the event's creation time",
        _R.UNSUPPORTED_SUITE: "the cipher suite is not supported",
        _R.MALFORMED: "the envelope's parts have impossible sizes or shapes",
        _R.ISSUER_MISMATCH: "the event names another agency than the one that signed it",
        _R.CREATED_IN_FUTURE: "created further in the future than the allowed clock skew",
        _R.DUPLICATE: "an alert with this id from this issuer was already processed",
        _R.ALERT_ID_REUSED: "another issuer already used this alert id",
        _R.UNKNOWN_ALERT: "no routed alert with this id is known to this partition",
        _R.NOT_A_RECIPIENT: "the sender did not receive the alert it answers",
        _R.PROCESSING_FAILED: "the processor failed on this record; see its log for the error",
    }
)


def from_reject(reason: RejectReason) -> DeadLetterReason:
    """The dead-letter code of an envelope verification failure."""
    return DeadLetterReason(reason.value)
