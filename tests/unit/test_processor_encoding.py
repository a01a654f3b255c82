"""The processors' trusted encoder writes exactly what the codec writes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from corridor.codec import Codec
from corridor.codec_errors import EncodeError
from corridor.policy import POLICY_VERSION
from processors.encoding import TrustedEncoder


def audit(**changes: object) -> dict[str, object]:
    record: dict[str, object] = {
        "alert_id": str(uuid.uuid4()),
        "corridor_key": "UA>DE",
        "issuer": "UA-NPU",
        "recipient": "DE-BKA",
        "outcome": "ALLOW",
        "reason": "ALLOWED",
        "agreement_id": "TRM-SEE-2024",
        "policy_version": POLICY_VERSION,
        "decided_at": datetime.now(UTC),
        "processor_id": "w1",
        "priority": "IMMEDIATE",
    }
    record.update(changes)
    return record


@pytest.mark.parametrize(
    "changes",
    [{}, {"agreement_id": None, "outcome": "DENY", "reason": "NO_AGREEMENT"}, {"priority": None}],
)
def test_same_bytes_as_the_codec(changes: dict[str, object]) -> None:
    codec = Codec()
    encoder = TrustedEncoder(codec, "AuditRecord", audit())
    record = audit(**changes)
    data = encoder.encode(record)
    assert data == codec.encode("AuditRecord", record)
    decoded = codec.decode(data)
    assert decoded.name == "AuditRecord"
    assert str(decoded.record["alert_id"]) == record["alert_id"]


def test_an_encoder_is_only_built_from_a_sample_the_codec_accepts() -> None:
    with pytest.raises(EncodeError, match="AuditRecord"):
        TrustedEncoder(Codec(), "AuditRecord", audit(outcome="MAYBE"))
