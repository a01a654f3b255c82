"""Known-answer vectors: the envelope's bytes are frozen, not merely self-consistent."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from corridor import canonical
from corridor.domain import (
    Agency,
    AgencyKind,
    AlertMetadata,
    AlertType,
    ConsentScope,
    Corridor,
    DataCategory,
    HandlingCode,
    LinkageToken,
    Priority,
    PublicKey,
    SealedAlert,
    Tlp,
    TrmPhase,
    WrappedKey,
)
from corridor.envelope import (
    SUITES,
    EncryptionKey,
    OpenError,
    SealedPayload,
    Sealer,
    SigningKey,
    alert_body_aad,
    alert_signed_bytes,
    open_alert,
    open_payload,
    verify_alert,
)

VECTORS = Path(__file__).parent / "vectors"


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    return data


ALERT = _load("envelope_alert_v1.json")
PAYLOAD = _load("envelope_payload_v1.json")


def _metadata(j: dict[str, Any]) -> AlertMetadata:
    c = j["corridor"]
    return AlertMetadata(
        alert_id=j["alert_id"],
        case_ref=j["case_ref"],
        issuer=j["issuer"],
        corridor=Corridor(c["origin"], c["destination"], tuple(c["transit"])),
        alert_type=AlertType(j["alert_type"]),
        phase=TrmPhase(j["phase"]),
        priority=Priority(j["priority"]),
        handling=HandlingCode(j["handling"]),
        tlp=Tlp(j["tlp"]),
        data_categories=frozenset(DataCategory(x) for x in j["data_categories"]),
        involves_minor=j["involves_minor"],
        best_interests_assessed=j["best_interests_assessed"],
        consent=ConsentScope(j["consent"]),
        created_at=datetime.fromisoformat(j["created_at"]),
        addressees=tuple(j["addressees"]),
        linkage_tokens=tuple(
            LinkageToken(t["epoch"], bytes.fromhex(t["value"])) for t in j["linkage_tokens"]
        ),
    )


def _wrapped(entries: list[dict[str, str]]) -> tuple[WrappedKey, ...]:
    return tuple(
        WrappedKey(
            e["agency_id"], e["key_id"], bytes.fromhex(e["enc"]), bytes.fromhex(e["wrapped_key"])
        )
        for e in entries
    )


def _alert() -> SealedAlert:
    sealed = ALERT["sealed"]
    return SealedAlert(
        suite=ALERT["suite"],
        metadata=_metadata(ALERT["metadata"]),
        body_nonce=bytes.fromhex(sealed["body_nonce"]),
        body_ciphertext=bytes.fromhex(sealed["body_ciphertext"]),
        recipients=_wrapped(sealed["recipients"]),
        signer_key_id=sealed["signer_key_id"],
        signature=bytes.fromhex(sealed["signature"]),
    )


def _signer() -> SigningKey:
    s = ALERT["signer"]
    return SigningKey.from_private_bytes(s["key_id"], bytes.fromhex(s["private_key"]))


def _issuer() -> Agency:
    s = ALERT["signer"]
    return Agency(
        id=ALERT["metadata"]["issuer"],
        name="vector issuer",
        country="RO",
        kind=AgencyKind.NRM_COORDINATOR,
        cleared_for_children=True,
        signing_keys=(
            PublicKey(
                s["key_id"],
                bytes.fromhex(s["public_key"]),
                datetime.fromisoformat("2025-01-01T00:00:00+00:00"),
            ),
        ),
        encryption_keys=(),
    )


def _fixed(*values: str) -> Any:
    stream = [bytes.fromhex(v) for v in values]

    def randomness(n: int) -> bytes:
        value = stream.pop(0)
        assert len(value) == n
        return value

    return randomness


def test_keys_derive_the_published_public_keys() -> None:
    assert _signer().public_bytes().hex() == ALERT["signer"]["public_key"]
    for r in ALERT["recipients"]:
        key = EncryptionKey.from_private_bytes(r["key_id"], bytes.fromhex(r["private_key"]))
        assert key.public_bytes().hex() == r["public_key"]


def test_body_aad_and_signed_bytes_are_frozen() -> None:
    alert = _alert()
    assert alert_body_aad(alert.suite, alert.metadata).hex() == ALERT["body_aad"]
    assert alert_signed_bytes(alert).hex() == ALERT["signed_bytes"]


def test_signature_is_the_deterministic_ed25519_of_the_signed_bytes() -> None:
    seed = bytes.fromhex(ALERT["signer"]["private_key"])
    expected = Ed25519PrivateKey.from_private_bytes(seed).sign(bytes.fromhex(ALERT["signed_bytes"]))
    assert expected.hex() == ALERT["sealed"]["signature"]
    verify_alert(_alert(), _issuer(), at_time=_alert().metadata.created_at)


def test_fixed_randomness_reproduces_the_body_ciphertext() -> None:
    randomness = ALERT["randomness"]
    recipients = [
        EncryptionKey.from_private_bytes(r["key_id"], bytes.fromhex(r["private_key"])).recipient(
            r["agency_id"]
        )
        for r in ALERT["recipients"]
    ]
    sealer = Sealer(randomness=_fixed(randomness["data_key"], randomness["nonce"]))
    again = sealer.seal(_alert().metadata, bytes.fromhex(ALERT["body"]), recipients, _signer())
    assert again.body_nonce.hex() == ALERT["sealed"]["body_nonce"]
    assert again.body_ciphertext.hex() == ALERT["sealed"]["body_ciphertext"]
    assert again.body_ciphertext[:32].hex() == ALERT["key_commitment"]


def test_commitment_and_wrap_info_follow_the_documented_encoding() -> None:
    suite = SUITES[ALERT["suite"]]
    data_key = bytes.fromhex(ALERT["randomness"]["data_key"])
    commitment = hashlib.sha256(
        canonical.encode(("corridor/v1/data-key-commitment", suite.id, data_key))
    ).hexdigest()
    assert commitment == ALERT["key_commitment"]
    for r, w in zip(ALERT["recipients"], _alert().recipients, strict=True):
        info = canonical.encode(
            (
                "corridor/v1/data-key-wrap",
                suite.id,
                ("alert", ALERT["metadata"]["alert_id"]),
                r["agency_id"],
                r["key_id"],
            )
        )
        assert info.hex() == r["wrap_info"]
        key = EncryptionKey.from_private_bytes(r["key_id"], bytes.fromhex(r["private_key"]))
        unwrapped = suite.hpke.decrypt(w.enc + w.wrapped_key, key.private_key(), info=info)
        assert unwrapped == data_key


@pytest.mark.parametrize("index", [0, 1])
def test_each_recipient_opens_the_checked_in_alert(index: int) -> None:
    r = ALERT["recipients"][index]
    key = EncryptionKey.from_private_bytes(r["key_id"], bytes.fromhex(r["private_key"]))
    assert open_alert(_alert(), r["agency_id"], key).hex() == ALERT["body"]


def _payload() -> SealedPayload:
    sealed = PAYLOAD["sealed"]
    return SealedPayload(
        PAYLOAD["suite"],
        bytes.fromhex(sealed["nonce"]),
        bytes.fromhex(sealed["ciphertext"]),
        _wrapped(sealed["recipients"]),
    )


def test_checked_in_payload_opens_and_reseals_identically() -> None:
    r = PAYLOAD["recipient"]
    key = EncryptionKey.from_private_bytes(r["key_id"], bytes.fromhex(r["private_key"]))
    opened = open_payload(
        _payload(),
        purpose=PAYLOAD["purpose"],
        associated=PAYLOAD["associated"],
        recipient_id=r["agency_id"],
        key=key,
    )
    assert opened.hex() == PAYLOAD["payload"]
    with pytest.raises(OpenError):
        open_payload(
            _payload(),
            purpose=PAYLOAD["purpose"],
            associated={**PAYLOAD["associated"], "status": "ACCEPTED"},
            recipient_id=r["agency_id"],
            key=key,
        )
    randomness = PAYLOAD["randomness"]
    again = Sealer(randomness=_fixed(randomness["data_key"], randomness["nonce"])).seal_payload(
        bytes.fromhex(PAYLOAD["payload"]),
        [key.recipient(r["agency_id"])],
        purpose=PAYLOAD["purpose"],
        associated=PAYLOAD["associated"],
    )
    assert again.ciphertext.hex() == PAYLOAD["sealed"]["ciphertext"]
