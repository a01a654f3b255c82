"""Acknowledgements: signing, verifying, the sealed note, and the Avro round trip."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from corridor.acks import (
    ACK_SIGNATURE_CONTEXT,
    NOTE_SUITE,
    AckError,
    Acknowledgement,
    InvalidAck,
    ack_from_record,
    ack_signed_value,
    ack_to_record,
    decode_ack,
    encode_ack,
    make_ack,
    open_note,
    received_ack_id,
    verify_ack,
)
from corridor.codec import Codec
from corridor.codec_errors import DecodeError, RecordError
from corridor.domain import AckStatus, Agency, AgencyKind, Corridor, PublicKey
from corridor.envelope import (
    EncryptionKey,
    OpenError,
    RejectReason,
    SealedPayload,
    SigningKey,
    verify_signature,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ALERT_ID = "4f1c2a9e-0b7d-4e59-9a53-2f0c1d6b7e88"
CORRIDOR = Corridor("RO", "AT", ("HU",))


def _seed(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


AT_SIGNING = SigningKey.from_private_bytes("AT-BKA-sig-1", _seed("at-sig"))
AT_ENC = EncryptionKey.from_private_bytes("AT-BKA-enc-1", _seed("at-enc"))
RO_ENC = EncryptionKey.from_private_bytes("RO-ANITP-enc-1", _seed("ro-enc"))
DE_ENC = EncryptionKey.from_private_bytes("DE-BKA-enc-1", _seed("de-enc"))


def _agency(agency_id: str, signing: SigningKey | None, enc: EncryptionKey) -> Agency:
    since = T0 - timedelta(days=30)
    return Agency(
        id=agency_id,
        name=agency_id,
        country=agency_id[:2],
        kind=AgencyKind.LAW_ENFORCEMENT,
        cleared_for_children=True,
        signing_keys=()
        if signing is None
        else (PublicKey(signing.key_id, signing.public_bytes(), since),),
        encryption_keys=(PublicKey(enc.key_id, enc.public_bytes(), since),),
    )


AT = _agency("AT-BKA", AT_SIGNING, AT_ENC)
ISSUER = _agency("RO-ANITP", None, RO_ENC)


def _ack(
    status: AckStatus = AckStatus.NEED_INFO, note: str | None = "need the passport"
) -> Acknowledgement:
    return make_ack(
        alert_id=ALERT_ID,
        corridor=CORRIDOR,
        signer=AT_SIGNING,
        from_agency="AT-BKA",
        issuer=ISSUER,
        status=status,
        note=note,
        created_at=T0,
    )


def test_a_signed_ack_verifies_and_its_note_opens_for_the_issuer() -> None:
    ack = _ack()
    verify_ack(ack, AT, at_time=T0)
    assert ack.to_issuer == "RO-ANITP"
    assert ack.key == b"RO>AT"
    assert open_note(ack, "RO-ANITP", RO_ENC) == "need the passport"


def test_the_signature_is_the_generic_ack_signature_over_the_signed_value() -> None:
    ack = _ack()
    key = AT.signing_keys[0]
    verify_signature(key, ACK_SIGNATURE_CONTEXT, ack_signed_value(ack), ack.signature, signed_at=T0)


def test_only_the_issuer_can_open_the_note() -> None:
    ack = _ack()
    with pytest.raises(OpenError):
        open_note(ack, "AT-BKA", AT_ENC)
    with pytest.raises(OpenError):
        open_note(ack, "RO-ANITP", DE_ENC)


def test_received_acks_have_a_stable_id_and_others_a_fresh_one() -> None:
    first = _ack(AckStatus.RECEIVED, None)
    again = _ack(AckStatus.RECEIVED, None)
    assert first.ack_id == again.ack_id == received_ack_id("AT-BKA", ALERT_ID)
    assert received_ack_id("DE-BKA", ALERT_ID) != first.ack_id
    assert _ack().ack_id != _ack().ack_id
    assert first.note is None
    assert open_note(first, "RO-ANITP", RO_ENC) is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"status": AckStatus.DECLINED}, RejectReason.BAD_SIGNATURE),
        ({"alert_id": str(uuid.UUID(int=1))}, RejectReason.BAD_SIGNATURE),
        ({"to_issuer": "DE-BKA"}, RejectReason.MALFORMED),  # note no longer sealed for it
        ({"corridor": Corridor("RO", "AT")}, RejectReason.BAD_SIGNATURE),
        ({"created_at": T0 + timedelta(seconds=1)}, RejectReason.BAD_SIGNATURE),
        ({"signer_key_id": "AT-BKA-sig-unknown"}, RejectReason.UNKNOWN_KEY),
        ({"from_agency": "DE-BKA"}, RejectReason.ISSUER_MISMATCH),
        ({"signature": bytes(64)}, RejectReason.BAD_SIGNATURE),
        ({"signature": b"short"}, RejectReason.BAD_SIGNATURE),
    ],
)
def test_any_change_is_refused_with_its_reason(
    change: dict[str, object], reason: RejectReason
) -> None:
    forged = replace(_ack(), **change)  # type: ignore[arg-type]
    with pytest.raises(InvalidAck) as caught:
        verify_ack(forged, AT, at_time=T0)
    assert caught.value.reason is reason
    assert str(caught.value) == "acknowledgement failed verification"


def test_a_note_swapped_from_another_ack_is_refused() -> None:
    one, other = _ack(note="first"), _ack(note="second")
    with pytest.raises(InvalidAck) as caught:
        verify_ack(replace(one, note=other.note), AT, at_time=T0)
    assert caught.value.reason is RejectReason.BAD_SIGNATURE


def test_a_removed_note_is_refused() -> None:
    with pytest.raises(InvalidAck):
        verify_ack(replace(_ack(), note=None), AT, at_time=T0)


def test_a_note_sealed_for_someone_else_as_well_is_refused() -> None:
    ack = _ack()
    assert ack.note is not None
    extra = replace(ack.note, recipients=(*ack.note.recipients, ack.note.recipients[0]))
    with pytest.raises(InvalidAck) as caught:
        verify_ack(replace(ack, note=extra), AT, at_time=T0)
    assert caught.value.reason is RejectReason.MALFORMED


def test_time_checks_key_validity_and_clock_skew() -> None:
    ack = _ack()
    with pytest.raises(InvalidAck) as caught:
        verify_ack(ack, AT, at_time=T0 - timedelta(hours=1))
    assert caught.value.reason is RejectReason.CREATED_IN_FUTURE
    early = make_ack(
        alert_id=ALERT_ID,
        corridor=CORRIDOR,
        signer=AT_SIGNING,
        from_agency="AT-BKA",
        issuer=ISSUER,
        status=AckStatus.ACCEPTED,
        created_at=T0 - timedelta(days=60),
    )
    with pytest.raises(InvalidAck) as caught:
        verify_ack(early, AT, at_time=T0)
    assert caught.value.reason is RejectReason.KEY_NOT_VALID
    with pytest.raises(ValueError, match="timezone"):
        verify_ack(ack, AT, at_time=datetime(2025, 3, 1))


def test_round_trip_through_the_codec_keeps_the_signature_valid() -> None:
    codec = Codec()
    for ack in (_ack(), _ack(AckStatus.RECEIVED, None)):
        data = encode_ack(ack, codec)
        back = decode_ack(data, codec)
        assert back == ack
        verify_ack(back, AT, at_time=T0)
        assert ack_to_record(back) == ack_to_record(ack)
    assert open_note(decode_ack(encode_ack(_ack(), codec), codec), "RO-ANITP", RO_ENC) == (
        "need the passport"
    )


def test_decoding_refuses_other_events_and_bad_records() -> None:
    codec = Codec()
    with pytest.raises(DecodeError):
        decode_ack(b"\xc3\x01garbage", codec)
    record = ack_to_record(_ack())
    with pytest.raises(RecordError):
        ack_from_record({**record, "status": "MAYBE"})
    with pytest.raises(RecordError):
        ack_from_record({**record, "created_at": datetime(2025, 1, 1)})
    with pytest.raises(RecordError):
        ack_from_record({**record, "signature": None})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alert_id": "not-a-uuid"}, "alert_id"),
        ({"alert_id": ALERT_ID.upper()}, "alert_id"),
        ({"ack_id": "x"}, "ack_id"),
        ({"note": "  "}, "empty"),
        ({"note": "x" * 20000}, "limit"),
        ({"created_at": datetime(2025, 3, 1)}, "timezone"),
    ],
)
def test_building_refuses_bad_input(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "alert_id": ALERT_ID,
        "corridor": CORRIDOR,
        "signer": AT_SIGNING,
        "from_agency": "AT-BKA",
        "issuer": ISSUER,
        "status": AckStatus.NEED_INFO,
        "created_at": T0,
    }
    with pytest.raises(AckError, match=message):
        make_ack(**{**base, **kwargs})  # type: ignore[arg-type]


def test_notes_use_the_fixed_suite() -> None:
    ack = _ack()
    assert isinstance(ack.note, SealedPayload)
    assert ack.note.suite == NOTE_SUITE
