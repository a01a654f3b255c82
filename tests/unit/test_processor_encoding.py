"""The processors' audit encoder writes exactly what the codec writes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from corridor.codec import Codec
from corridor.domain import AlertMetadata
from corridor.policy import POLICY_VERSION, Decision, Reason
from processors.encoding import AuditEncoder
from tests.strategies import agency_ids, alert_metadata, aware_datetimes

CODEC = Codec()

decisions = st.builds(
    Decision,
    allowed=st.booleans(),
    reason=st.sampled_from(Reason),
    agreement_id=st.none() | st.text(min_size=1, max_size=30),
    policy_version=st.just(POLICY_VERSION) | st.text(max_size=10),
)


def codec_record(
    metadata: AlertMetadata, recipient: str, decision: Decision, at: dt.datetime, processor: str
) -> dict[str, Any]:
    return {
        "alert_id": metadata.alert_id,
        "corridor_key": metadata.corridor.key,
        "issuer": metadata.issuer,
        "recipient": recipient,
        "outcome": "ALLOW" if decision.allowed else "DENY",
        "reason": decision.reason.value,
        "agreement_id": decision.agreement_id,
        "policy_version": decision.policy_version,
        "decided_at": at,
        "processor_id": processor,
        "priority": metadata.priority.value,
    }


@given(
    metadata=alert_metadata(),
    decided=st.lists(st.tuples(agency_ids(), decisions), max_size=8),
    at=aware_datetimes() | st.datetimes(timezones=st.just(dt.UTC)),
    processor=st.text(max_size=20),
)
def test_same_bytes_as_the_codec(
    metadata: AlertMetadata,
    decided: list[tuple[str, Decision]],
    at: dt.datetime,
    processor: str,
) -> None:
    encoder = AuditEncoder(CODEC, processor)
    encoded = encoder.encode_all(metadata, decided, at)
    expected = [
        CODEC.encode("AuditRecord", codec_record(metadata, r, d, at, processor)) for r, d in decided
    ]
    assert encoded == expected
    # A second alert reuses the cached decision parts and must still be exact.
    assert encoder.encode_all(metadata, decided, at) == expected


@given(metadata=alert_metadata())
def test_one_recipient_with_different_decisions_is_not_confused(metadata: AlertMetadata) -> None:
    at = dt.datetime.now(dt.UTC)
    encoder = AuditEncoder(CODEC, "w1")
    allow = Decision(True, Reason.ALLOWED, "TRM-1")
    deny = Decision(False, Reason.NO_AGREEMENT)
    first, second = encoder.encode_all(metadata, [("DE-BKA", allow), ("DE-BKA", deny)], at)
    assert CODEC.decode(first).record["outcome"] == "ALLOW"
    decoded = CODEC.decode(second).record
    assert (decoded["outcome"], decoded["reason"], decoded["agreement_id"]) == (
        "DENY",
        "NO_AGREEMENT",
        None,
    )


@given(metadata=alert_metadata())
def test_the_encoder_writes_the_codecs_framing(metadata: AlertMetadata) -> None:
    confluent = Codec(registry_ids={"AuditRecord": 77})
    at = dt.datetime.now(dt.UTC)
    allow = Decision(True, Reason.ALLOWED, "TRM-1")
    (data,) = AuditEncoder(confluent, "w1").encode_all(metadata, [("AT-BKA", allow)], at)
    assert data == confluent.encode(
        "AuditRecord", codec_record(metadata, "AT-BKA", allow, at, "w1")
    )
    assert data[:1] == b"\x00"  # Confluent's magic byte, then the schema id
