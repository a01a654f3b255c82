"""Sealing, verifying and opening alerts: each outcome and each reason code."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

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
    DEFAULT_SUITE,
    SUITES,
    EncryptionKey,
    InvalidAlert,
    KeyFormatError,
    OpenError,
    RecipientKey,
    RejectReason,
    Sealer,
    SealError,
    SigningKey,
    VerificationError,
    alert_body_aad,
    alert_signed_bytes,
    open_alert,
    open_payload,
    payload_value,
    verify_alert,
    verify_and_open,
    verify_signature,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
BODY = b"\x02avro-encoded body"


def _seed(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


SIGNER = SigningKey.from_private_bytes("RO-ANITP-sig-1", _seed("sig"))
AT = EncryptionKey.from_private_bytes("AT-BKA-enc-1", _seed("at"))
DE = EncryptionKey.from_private_bytes("DE-BKA-enc-1", _seed("de"))


def _agency(*keys: PublicKey, agency_id: str = "RO-ANITP") -> Agency:
    return Agency(
        id=agency_id,
        name="issuer",
        country=agency_id[:2],
        kind=AgencyKind.NRM_COORDINATOR,
        cleared_for_children=True,
        signing_keys=keys,
        encryption_keys=(),
    )


ISSUER = _agency(PublicKey(SIGNER.key_id, SIGNER.public_bytes(), T0 - timedelta(days=30)))


def _metadata(**changes: object) -> AlertMetadata:
    base = AlertMetadata(
        alert_id="4f1c2a9e-0b7d-4e59-9a53-2f0c1d6b7e88",
        case_ref="RO-2025-0042",
        issuer="RO-ANITP",
        corridor=Corridor("RO", "AT", ("HU",)),
        alert_type=AlertType.REFERRAL_REQUEST,
        phase=TrmPhase.FIRST_ASSISTANCE_AND_PROTECTION,
        priority=Priority.URGENT,
        handling=HandlingCode.H1,
        tlp=Tlp.AMBER,
        data_categories=frozenset({DataCategory.IDENTITY, DataCategory.ASSISTANCE_NEEDS}),
        involves_minor=False,
        best_interests_assessed=False,
        consent=ConsentScope.ASSISTANCE,
        created_at=T0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _seal(metadata: AlertMetadata | None = None) -> SealedAlert:
    return Sealer().seal(
        metadata or _metadata(), BODY, [AT.recipient("AT-BKA"), DE.recipient("DE-BKA")], SIGNER
    )


def _reason(alert: SealedAlert, issuer: Agency = ISSUER, **kwargs: datetime) -> RejectReason:
    with pytest.raises(InvalidAlert) as info:
        verify_alert(alert, issuer, at_time=kwargs.get("at_time", T0))
    assert str(info.value) == "alert failed verification"
    return info.value.reason


def test_round_trip_for_each_recipient() -> None:
    alert = _seal()
    assert alert.suite == DEFAULT_SUITE
    assert alert.signer_key_id == SIGNER.key_id
    verify_alert(alert, ISSUER, at_time=T0)
    assert verify_and_open(alert, ISSUER, "AT-BKA", AT, at_time=T0) == BODY
    assert open_alert(alert, "DE-BKA", DE) == BODY


def test_body_is_not_in_the_clear() -> None:
    alert = _seal()
    assert BODY not in alert.body_ciphertext
    assert len(alert.body_ciphertext) == 32 + len(BODY) + 16


def test_unsupported_suite() -> None:
    alert = replace(_seal(), suite="CORRIDOR-0:ROT13")
    assert _reason(alert) is RejectReason.UNSUPPORTED_SUITE
    with pytest.raises(OpenError):
        open_alert(alert, "AT-BKA", AT)


@pytest.mark.parametrize(
    "change",
    [
        {"body_nonce": b"\x00" * 11},
        {"body_ciphertext": b"\x00" * 47},
        {"signature": b"\x00" * 63},
        {"recipients": ()},
    ],
)
def test_malformed(change: dict[str, object]) -> None:
    assert _reason(replace(_seal(), **change)) is RejectReason.MALFORMED  # type: ignore[arg-type]


def test_duplicate_recipient_entries_are_malformed() -> None:
    alert = _seal()
    doubled = replace(alert, recipients=(alert.recipients[0], alert.recipients[0]))
    assert _reason(doubled) is RejectReason.MALFORMED


def test_naive_created_at_is_malformed() -> None:
    alert = replace(_seal(), metadata=_metadata(created_at=T0.replace(tzinfo=None)))
    assert _reason(alert) is RejectReason.MALFORMED


def test_issuer_mismatch() -> None:
    other = _agency(*ISSUER.signing_keys, agency_id="RO-IGPR")
    assert _reason(_seal(), other) is RejectReason.ISSUER_MISMATCH


def test_unknown_key() -> None:
    assert _reason(replace(_seal(), signer_key_id="RO-ANITP-sig-2")) is RejectReason.UNKNOWN_KEY


def test_bad_signature_from_another_key_with_the_same_id() -> None:
    impostor = SigningKey.from_private_bytes(SIGNER.key_id, _seed("impostor"))
    alert = Sealer().seal(_metadata(), BODY, [AT.recipient("AT-BKA")], impostor)
    assert _reason(alert) is RejectReason.BAD_SIGNATURE


def test_key_not_valid_at_created_at() -> None:
    expired = _agency(PublicKey(SIGNER.key_id, SIGNER.public_bytes(), T0 - timedelta(days=30), T0))
    assert _reason(_seal(), expired) is RejectReason.KEY_NOT_VALID
    not_yet = _agency(PublicKey(SIGNER.key_id, SIGNER.public_bytes(), T0 + timedelta(seconds=1)))
    assert _reason(_seal(), not_yet) is RejectReason.KEY_NOT_VALID


def test_unusable_directory_key_is_a_bad_signature() -> None:
    broken = _agency(PublicKey(SIGNER.key_id, b"\x01" * 31, T0 - timedelta(days=1)))
    assert _reason(_seal(), broken) is RejectReason.BAD_SIGNATURE


def test_created_in_future_beyond_skew() -> None:
    alert = _seal()
    verify_alert(alert, ISSUER, at_time=T0 - timedelta(minutes=4))
    assert _reason(alert, at_time=T0 - timedelta(minutes=6)) is RejectReason.CREATED_IN_FUTURE


def test_naive_clock_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_alert(_seal(), ISSUER, at_time=T0.replace(tzinfo=None))


def test_naive_directory_time_is_key_not_valid() -> None:
    naive = _agency(PublicKey(SIGNER.key_id, SIGNER.public_bytes(), datetime(2025, 1, 1)))
    assert _reason(_seal(), naive) is RejectReason.KEY_NOT_VALID


def test_signature_covers_the_documented_bytes() -> None:
    alert = _seal()
    message = alert_signed_bytes(alert)
    public = Ed25519PublicKey.from_public_bytes(SIGNER.public_bytes())
    public.verify(alert.signature, message)  # raises if the bytes were not what was signed
    assert alert.body_ciphertext in message
    assert alert.recipients[1].enc in message
    assert alert_signed_bytes(replace(alert, signer_key_id="x")) != message


def test_wrapped_key_relabelled_for_another_key_id_does_not_open() -> None:
    # The same private key under another key id: only the HPKE info tells them apart.
    twin = EncryptionKey.from_private_bytes("AT-BKA-enc-2", AT.private_bytes())
    alert = _seal()
    moved = replace(alert.recipients[0], key_id=twin.key_id)
    relabelled = replace(alert, recipients=(moved, alert.recipients[1]))
    with pytest.raises(OpenError) as info:
        open_alert(relabelled, "AT-BKA", twin)
    assert str(info.value) == "sealed body could not be opened"


def test_wrapped_key_moved_to_another_alert_id_does_not_open() -> None:
    alert = _seal()
    renamed = replace(alert, metadata=_metadata(alert_id="00000000-0000-4000-8000-000000000000"))
    with pytest.raises(OpenError):
        open_alert(renamed, "AT-BKA", AT)


def test_open_with_wrong_agency_or_key() -> None:
    alert = _seal()
    with pytest.raises(OpenError):
        open_alert(alert, "DE-BKA", AT)
    with pytest.raises(OpenError):
        open_alert(alert, "AT-BKA", DE)
    with pytest.raises(OpenError):
        open_alert(alert, "AT-BKA", "not a key")  # type: ignore[arg-type]


def test_verify_and_open_refuses_a_forgery_before_decrypting() -> None:
    forged = replace(_seal(), signature=bytes(64))
    with pytest.raises(InvalidAlert):
        verify_and_open(forged, ISSUER, "AT-BKA", AT, at_time=T0)


# --- sealing refuses bad input with a message naming what is wrong


def test_seal_needs_recipients() -> None:
    with pytest.raises(SealError, match="at least one recipient"):
        Sealer().seal(_metadata(), BODY, [], SIGNER)


def test_seal_refuses_duplicate_recipient() -> None:
    with pytest.raises(SealError, match="AT-BKA key AT-BKA-enc-1 is listed twice"):
        Sealer().seal(_metadata(), BODY, [AT.recipient("AT-BKA")] * 2, SIGNER)


def test_seal_names_a_bad_public_key() -> None:
    short = RecipientKey("AT-BKA", "AT-BKA-enc-9", b"\x01" * 31)
    with pytest.raises(SealError, match="recipient AT-BKA key AT-BKA-enc-9: not a valid X25519"):
        Sealer().seal(_metadata(), BODY, [short], SIGNER)
    low_order = RecipientKey("AT-BKA", "AT-BKA-enc-9", bytes(32))
    with pytest.raises(SealError, match="AT-BKA-enc-9: the public key is unusable"):
        Sealer().seal(_metadata(), BODY, [low_order], SIGNER)


def test_seal_refuses_naive_time_and_bad_inputs() -> None:
    with pytest.raises(SealError, match="timezone"):
        Sealer().seal(
            _metadata(created_at=T0.replace(tzinfo=None)), BODY, [AT.recipient("AT-BKA")], SIGNER
        )
    with pytest.raises(SealError, match="bytes"):
        Sealer().seal(_metadata(), "text", [AT.recipient("AT-BKA")], SIGNER)  # type: ignore[arg-type]
    with pytest.raises(SealError, match="SigningKey"):
        Sealer().seal(_metadata(), BODY, [AT.recipient("AT-BKA")], AT)  # type: ignore[arg-type]
    with pytest.raises(SealError, match="unsupported suite"):
        Sealer(suite="CORRIDOR-0")
    with pytest.raises(SealError, match="random source"):
        Sealer(randomness=lambda n: b"\x00" * (n - 1)).seal(
            _metadata(), BODY, [AT.recipient("AT-BKA")], SIGNER
        )


def test_recipient_key_validates_ids() -> None:
    with pytest.raises(SealError, match="agency id"):
        RecipientKey("atbka", "k", bytes(32))
    with pytest.raises(SealError, match="AT-BKA: key_id"):
        RecipientKey("AT-BKA", "has space", bytes(32))


def test_recipient_for_agency_picks_the_newest_valid_key() -> None:
    old = PublicKey("AT-BKA-enc-1", AT.public_bytes(), T0 - timedelta(days=60))
    new = PublicKey("AT-BKA-enc-2", DE.public_bytes(), T0 - timedelta(days=1))
    agency = replace(_agency(agency_id="AT-BKA"), encryption_keys=(old, new))
    chosen = RecipientKey.for_agency(agency, T0)
    assert (chosen.key_id, chosen.public_key) == ("AT-BKA-enc-2", DE.public_bytes())
    with pytest.raises(SealError, match="AT-BKA has no encryption key"):
        RecipientKey.for_agency(agency, T0 - timedelta(days=90))


# --- payloads (acknowledgement notes)


def test_payload_round_trip_and_binding() -> None:
    bound = {"ack_id": "ack-1", "alert_id": "a-1"}
    note = Sealer().seal_payload(
        b"need the travel document", [AT.recipient("AT-BKA")], purpose="ack-note", associated=bound
    )
    assert open_payload(
        note, purpose="ack-note", associated=bound, recipient_id="AT-BKA", key=AT
    ) == (b"need the travel document")
    for purpose, associated in [
        ("ack-note", {"ack_id": "ack-2", "alert_id": "a-1"}),
        ("other-note", bound),
    ]:
        with pytest.raises(OpenError):
            open_payload(
                note, purpose=purpose, associated=associated, recipient_id="AT-BKA", key=AT
            )
    with pytest.raises(OpenError):
        open_payload(note, purpose="ack-note", associated=bound, recipient_id="DE-BKA", key=DE)
    assert isinstance(payload_value(note), tuple)


def test_payload_purpose_must_be_an_identifier() -> None:
    with pytest.raises(SealError, match="purpose"):
        Sealer().seal_payload(b"x", [AT.recipient("AT-BKA")], purpose="Ack Note", associated=None)


# --- generic signatures (acknowledgements, directory entries)


def test_signature_contexts_do_not_mix() -> None:
    key = PublicKey(SIGNER.key_id, SIGNER.public_bytes(), T0 - timedelta(days=1))
    value = {"ack_id": "ack-1", "status": "ACCEPTED"}
    signature = SIGNER.sign("ack", value)
    verify_signature(key, "ack", value, signature, signed_at=T0)
    with pytest.raises(VerificationError) as info:
        verify_signature(key, "directory-entry", value, signature, signed_at=T0)
    assert info.value.reason is RejectReason.BAD_SIGNATURE
    with pytest.raises(VerificationError) as info:
        verify_signature(key, "ack", value, signature, signed_at=T0 - timedelta(days=2))
    assert info.value.reason is RejectReason.KEY_NOT_VALID
    with pytest.raises(VerificationError) as info:
        verify_signature(key, "Not A Context", value, signature, signed_at=T0)
    assert info.value.reason is RejectReason.MALFORMED


# --- key wrappers


def test_keys_never_show_material() -> None:
    assert repr(SIGNER) == "SigningKey(key_id='RO-ANITP-sig-1')"
    assert SIGNER.private_bytes().hex() not in repr(SIGNER)
    assert repr(AT) == "EncryptionKey(key_id='AT-BKA-enc-1')"


@pytest.mark.parametrize("passphrase", [None, b"correct horse"])
def test_pem_round_trip(passphrase: bytes | None) -> None:
    signing = SigningKey.from_pem("k-1", SIGNER.to_pem(passphrase), passphrase)
    assert signing.public_bytes() == SIGNER.public_bytes()
    encryption = EncryptionKey.from_pem("k-2", AT.to_pem(passphrase), passphrase)
    assert encryption.public_bytes() == AT.public_bytes()


def test_pem_errors() -> None:
    locked = SIGNER.to_pem(b"secret")
    with pytest.raises(KeyFormatError, match="passphrase is needed"):
        SigningKey.from_pem("k", locked)
    with pytest.raises(KeyFormatError, match="passphrase is wrong"):
        SigningKey.from_pem("k", locked, b"guess")
    with pytest.raises(KeyFormatError, match="not encrypted"):
        SigningKey.from_pem("k", SIGNER.to_pem(), b"secret")
    with pytest.raises(KeyFormatError, match="Ed25519"):
        SigningKey.from_pem("k", AT.to_pem())
    with pytest.raises(KeyFormatError, match="X25519"):
        EncryptionKey.from_pem("k", SIGNER.to_pem())
    with pytest.raises(KeyFormatError, match="empty"):
        SIGNER.to_pem(b"")
    with pytest.raises(KeyFormatError, match="32 bytes"):
        SigningKey.from_private_bytes("k", b"short")
    with pytest.raises(KeyFormatError, match="key_id"):
        SigningKey.generate("")


def test_generated_keys_differ() -> None:
    assert SigningKey.generate("a").public_bytes() != SigningKey.generate("a").public_bytes()
    assert EncryptionKey.generate("a").public_bytes() != EncryptionKey.generate("a").public_bytes()


def test_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        SUITES["x"] = SUITES[DEFAULT_SUITE]  # type: ignore[index]


def test_the_body_aad_follows_the_metadata_it_is_given() -> None:
    first = _metadata()
    other = replace(first, case_ref="RO-OTHER-9")
    aad = alert_body_aad(DEFAULT_SUITE, first)
    assert alert_body_aad(DEFAULT_SUITE, other) != aad  # never the last one's, stale
    assert alert_body_aad(DEFAULT_SUITE, replace(first)) == aad  # an equal copy: equal bytes
    assert alert_body_aad(DEFAULT_SUITE, first) == aad
    sealed = _seal(other)
    assert open_alert(sealed, "AT-BKA", AT) == BODY
    alert_body_aad(DEFAULT_SUITE, first)  # what the cache holds now
    with pytest.raises(OpenError):
        open_alert(replace(sealed, metadata=first), "AT-BKA", AT)
