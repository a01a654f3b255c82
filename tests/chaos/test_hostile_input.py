"""Hostile bytes against the decoder and the envelope: only our own errors, bounded memory.

Random, truncated, bit-flipped, oversized and crafted inputs (huge declared lengths and
counts, deep unions, wrong schema ids and fingerprints) must end in a ``DecodeError``
(or a record that is then rejected by verification), never in another exception, a
hang or an allocation proportional to a declared length.
"""

from __future__ import annotations

import dataclasses
import struct
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corridor.codec import Codec
from corridor.codec_errors import DecodeError, RecordError, UnknownSchemaError
from corridor.domain import (
    Agency,
    AgencyKind,
    AlertMetadata,
    AlertType,
    ConsentScope,
    Corridor,
    DataCategory,
    HandlingCode,
    Priority,
    PublicKey,
    SealedAlert,
    Tlp,
    TrmPhase,
)
from corridor.envelope import (
    EncryptionKey,
    InvalidAlert,
    OpenError,
    Sealer,
    SigningKey,
    open_alert,
    verify_alert,
)
from corridor.records import alert_from_record, alert_to_record
from tests.chaos.tally import Tally

pytestmark = pytest.mark.chaos

CODEC = Codec()
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SIGNER = SigningKey.generate("AT-BKA-sig-1")
RECIPIENT = EncryptionKey.generate("RO-IGPR-enc-1")
ISSUER = Agency(
    id="AT-BKA",
    name="Bundeskriminalamt",
    country="AT",
    kind=AgencyKind.LAW_ENFORCEMENT,
    cleared_for_children=True,
    signing_keys=(
        PublicKey("AT-BKA-sig-1", SIGNER.public_bytes(), datetime(2025, 1, 1, tzinfo=UTC)),
    ),
    encryption_keys=(),
)


def _alert() -> tuple[SealedAlert, bytes]:
    meta = AlertMetadata(
        alert_id="5b0d6f1e-8f0a-5a6b-9c1d-2e3f4a5b6c7d",
        case_ref="AT-2026-0001",
        issuer="AT-BKA",
        corridor=Corridor("RO", "AT", ("HU",)),
        alert_type=AlertType.REFERRAL_REQUEST,
        phase=TrmPhase.IDENTIFICATION,
        priority=Priority.URGENT,
        handling=HandlingCode.H1,
        tlp=Tlp.AMBER,
        data_categories=frozenset({DataCategory.IDENTITY, DataCategory.LOCATION}),
        involves_minor=False,
        best_interests_assessed=False,
        consent=ConsentScope.ASSISTANCE,
        created_at=NOW,
    )
    sealed = Sealer().seal(
        meta, b"sealed body bytes" * 20, [RECIPIENT.recipient("RO-IGPR")], SIGNER
    )
    return sealed, CODEC.encode("CaseAlert", alert_to_record(sealed))


ALERT, ALERT_BYTES = _alert()
#: Hostile inputs tried in this module, for the closing table of the chaos run.
TRIED: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_tried(chaos_tally: Tally) -> Iterator[None]:
    yield
    chaos_tally.add("bad inputs tried", "decoder and envelope fuzz inputs", sum(TRIED.values()))


def _decode_or_reject(data: bytes) -> None:
    """What the processor does with inbound bytes: decode, then verify; only our errors."""
    TRIED["decode"] += 1
    try:
        record = CODEC.decode_as("CaseAlert", data)
        alert = alert_from_record(record)
    except (DecodeError, RecordError):
        return
    try:
        verify_alert(alert, ISSUER, at_time=NOW)
    except InvalidAlert:
        return
    # Decoded and verified: it must then be byte-for-byte the genuine alert.
    assert data == ALERT_BYTES


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_random_bytes_only_raise_decode_errors(data: bytes) -> None:
    _decode_or_reject(data)
    _decode_or_reject(b"\xc3\x01" + CODEC.fingerprint("CaseAlert") + data)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=len(ALERT_BYTES) - 1))
def test_truncated_alerts_are_rejected(cut: int) -> None:
    TRIED["truncated"] += 1
    with pytest.raises(DecodeError):
        CODEC.decode(ALERT_BYTES[:cut])


@settings(max_examples=400, deadline=None)
@given(st.integers(min_value=0, max_value=len(ALERT_BYTES) * 8 - 1))
def test_every_single_bit_flip_is_caught(bit: int) -> None:
    mutated = bytearray(ALERT_BYTES)
    mutated[bit // 8] ^= 1 << (bit % 8)
    _decode_or_reject(bytes(mutated))
    assert bytes(mutated) != ALERT_BYTES


def test_oversized_input_is_refused_before_decoding() -> None:
    TRIED["crafted"] += 1
    with pytest.raises(DecodeError, match=r"larger|size|bytes"):
        CODEC.decode(b"\xc3\x01" + CODEC.fingerprint("CaseAlert") + b"\x00" * (2 << 20))


def test_unknown_fingerprint_and_schema_id_are_named() -> None:
    TRIED["crafted"] += 2
    with pytest.raises(UnknownSchemaError, match="0102030405060708"):
        CODEC.decode(b"\xc3\x01" + bytes(range(1, 9)) + b"\x00")
    with pytest.raises(UnknownSchemaError, match="4242"):
        CODEC.decode(b"\x00" + struct.pack(">I", 4242) + b"\x00")


def _zigzag(n: int) -> bytes:
    value = (n << 1) ^ (n >> 63)
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


@pytest.mark.parametrize("declared", [2**31, 2**40, 2**62, -(2**63)])
def test_huge_declared_lengths_allocate_nothing(declared: int) -> None:
    header = b"\xc3\x01" + CODEC.fingerprint("CaseAlert")
    tracemalloc.start()
    try:
        for crafted in (
            header + _zigzag(declared) + b"x" * 16,  # first string field: a huge length
            header + b"\x02ab" + _zigzag(declared) + b"\x00" * 16,
        ):
            TRIED["crafted"] += 1
            with pytest.raises(DecodeError):
                CODEC.decode(crafted)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, f"decoding crafted input peaked at {peak} bytes"


def test_a_huge_array_of_tiny_items_is_bounded() -> None:
    header = b"\xc3\x01" + CODEC.fingerprint("CaseAlert")
    # A valid prefix cannot be guessed cheaply; what matters is a clean, fast refusal.
    crafted = header + b"\x02a" * 4 + _zigzag(10**9) + b"\x00" * 64
    TRIED["crafted"] += 1
    with pytest.raises(DecodeError):
        CODEC.decode(crafted)


def test_a_recipient_key_cannot_open_a_tampered_alert() -> None:
    TRIED["crafted"] += 1
    assert open_alert(ALERT, "RO-IGPR", RECIPIENT) == b"sealed body bytes" * 20
    tampered = dataclasses.replace(ALERT, body_ciphertext=ALERT.body_ciphertext[:-1] + b"\x00")
    with pytest.raises(OpenError):
        open_alert(tampered, "RO-IGPR", RECIPIENT)
    with pytest.raises(InvalidAlert):
        verify_alert(tampered, ISSUER, at_time=NOW)
