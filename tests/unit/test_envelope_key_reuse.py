"""Suite CORRIDOR-2: a wrapping key reused for one exact set of recipient keys, bounded,
with a body key derived per alert. Known-answer vector first, then the properties that
make the reuse safe."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from corridor import canonical
from corridor.config import Settings
from corridor.domain import AlertMetadata, PublicKey, SealedAlert
from corridor.envelope import (
    DEFAULT_SUITE,
    REUSED_WRAP_SUITE,
    SUITES,
    EncryptionKey,
    InvalidAlert,
    KeyReuse,
    OpenError,
    RecipientKey,
    RejectReason,
    Sealer,
    SealError,
    SigningKey,
    UnwrappedKeys,
    alert_body_aad,
    alert_signed_bytes,
    open_alert,
    verify_alert,
)
from corridor.envelope.reuse import WrappingKeys
from corridor.exceptions import ConfigError
from producers import alert_sealer
from tests.unit import test_envelope_vectors as v1

VECTOR: dict[str, Any] = json.loads(
    (Path(__file__).parent / "vectors" / "envelope_alert_v2.json").read_text(encoding="utf-8")
)
SUITE = SUITES[REUSED_WRAP_SUITE]


def _vector_alert() -> SealedAlert:
    sealed = VECTOR["sealed"]
    return SealedAlert(
        suite=VECTOR["suite"],
        metadata=v1._metadata(VECTOR["metadata"]),
        body_nonce=bytes.fromhex(sealed["body_nonce"]),
        body_ciphertext=bytes.fromhex(sealed["body_ciphertext"]),
        recipients=v1._wrapped(sealed["recipients"]),
        signer_key_id=sealed["signer_key_id"],
        signature=bytes.fromhex(sealed["signature"]),
    )


def _vector_key(index: int) -> EncryptionKey:
    r = VECTOR["recipients"][index]
    return EncryptionKey.from_private_bytes(r["key_id"], bytes.fromhex(r["private_key"]))


# -- the known-answer vector ---------------------------------------------------------------


def test_vector_body_key_is_hkdf_expand_of_the_documented_info() -> None:
    wrapping_key = bytes.fromhex(VECTOR["randomness"]["wrapping_key"])
    nonce = bytes.fromhex(VECTOR["randomness"]["nonce"])
    info = canonical.encode(
        ("corridor/v2/alert-body-key", SUITE.id, (VECTOR["metadata"]["alert_id"], nonce))
    )
    assert info.hex() == VECTOR["body_key_info"]
    # HKDF-Expand with L = 32 is one HMAC block: T(1) = HMAC(PRK, info || 0x01).
    body_key = hmac.new(wrapping_key, info + b"\x01", hashlib.sha256).digest()
    assert body_key.hex() == VECTOR["body_key"]
    commitment = hashlib.sha256(
        canonical.encode(("corridor/v1/data-key-commitment", SUITE.id, body_key))
    ).hexdigest()
    assert commitment == VECTOR["key_commitment"] == VECTOR["sealed"]["body_ciphertext"][:64]


def test_vector_aad_signed_bytes_and_signature_are_frozen() -> None:
    alert = _vector_alert()
    assert alert_body_aad(alert.suite, alert.metadata).hex() == VECTOR["body_aad"]
    assert alert_signed_bytes(alert).hex() == VECTOR["signed_bytes"]
    verify_alert(alert, v1._issuer(), at_time=alert.metadata.created_at)


@pytest.mark.parametrize("index", [0, 1])
def test_vector_wraps_hold_the_wrapping_key_under_the_issuer_label(index: int) -> None:
    r = VECTOR["recipients"][index]
    info = canonical.encode(
        (
            "corridor/v1/data-key-wrap",
            SUITE.id,
            ("issuer", VECTOR["metadata"]["issuer"]),
            r["agency_id"],
            r["key_id"],
        )
    )
    assert info.hex() == r["wrap_info"]
    wrap = _vector_alert().recipients[index]
    unwrapped = SUITE.hpke.decrypt(
        wrap.enc + wrap.wrapped_key, _vector_key(index).private_key(), info=info
    )
    assert unwrapped.hex() == VECTOR["randomness"]["wrapping_key"]
    assert open_alert(_vector_alert(), r["agency_id"], _vector_key(index)).hex() == VECTOR["body"]


def test_vector_fixed_randomness_reproduces_the_body_ciphertext() -> None:
    randomness = VECTOR["randomness"]
    recipients = [
        _vector_key(i).recipient(r["agency_id"]) for i, r in enumerate(VECTOR["recipients"])
    ]
    sealer = Sealer(
        suite=SUITE.id,
        key_reuse=KeyReuse(),
        randomness=v1._fixed(randomness["wrapping_key"], randomness["nonce"]),
    )
    again = sealer.seal(
        _vector_alert().metadata, bytes.fromhex(VECTOR["body"]), recipients, v1._signer()
    )
    assert again.body_nonce.hex() == VECTOR["sealed"]["body_nonce"]
    assert again.body_ciphertext.hex() == VECTOR["sealed"]["body_ciphertext"]


# -- reuse and its limits --------------------------------------------------------------------

_SIGNER = SigningKey.generate("RO-ANITP-sig-reuse")
_KEYS = {
    name: EncryptionKey.generate(f"{name}-enc-reuse") for name in ("AT-BKA", "DE-BKA", "IT-DNAA")
}


def _to(*names: str) -> list[RecipientKey]:
    return [_KEYS[name].recipient(name) for name in names]


def _metadata(n: int, issuer: str = "RO-ANITP") -> AlertMetadata:
    base = v1._metadata(VECTOR["metadata"])
    return dataclasses.replace(base, alert_id=f"6f9619ff-8b86-4d01-b42d-{n:012d}", issuer=issuer)


def _sealer(**reuse: Any) -> Sealer:
    return Sealer(suite=REUSED_WRAP_SUITE, key_reuse=KeyReuse(**reuse))


def test_alerts_to_the_same_recipients_share_the_wrap_but_not_the_body_key() -> None:
    sealer = _sealer()
    alerts = [
        sealer.seal(_metadata(n), f"body {n}".encode(), _to("AT-BKA", "DE-BKA"), _SIGNER)
        for n in range(5)
    ]
    assert len({a.recipients for a in alerts}) == 1
    assert len({a.body_ciphertext[:32] for a in alerts}) == 5  # five commitments, five keys
    unwrapped = UnwrappedKeys()
    for n, alert in enumerate(alerts):
        for name in ("AT-BKA", "DE-BKA"):
            assert open_alert(alert, name, _KEYS[name], unwrapped=unwrapped) == f"body {n}".encode()
    assert len(unwrapped) == 2  # one unwrap per recipient for all five alerts


def test_sealing_the_same_alert_twice_gives_different_body_keys() -> None:
    sealer = _sealer()
    first, second = (sealer.seal(_metadata(1), b"same", _to("AT-BKA"), _SIGNER) for _ in range(2))
    assert first.recipients == second.recipients
    assert first.body_ciphertext[:32] != second.body_ciphertext[:32]


def test_another_recipient_set_gets_another_wrapping_key() -> None:
    sealer = _sealer()
    pair = sealer.seal(_metadata(1), b"for AT and DE", _to("AT-BKA", "DE-BKA"), _SIGNER)
    other = sealer.seal(_metadata(2), b"for AT and IT", _to("AT-BKA", "IT-DNAA"), _SIGNER)
    assert pair.recipients[0].enc != other.recipients[0].enc
    # DE-BKA's wrapping key of the first alert does not open the second, even with the
    # second's wrap for AT-BKA relabelled as DE-BKA's.
    forged = dataclasses.replace(
        other,
        recipients=(
            dataclasses.replace(
                other.recipients[0], agency_id="DE-BKA", key_id=_KEYS["DE-BKA"].key_id
            ),
        ),
    )
    with pytest.raises(OpenError):
        open_alert(forged, "DE-BKA", _KEYS["DE-BKA"])
    with pytest.raises(OpenError):
        open_alert(other, "DE-BKA", _KEYS["DE-BKA"])


def test_a_new_key_of_a_recipient_gets_a_new_wrapping_key() -> None:
    sealer = _sealer()
    before = sealer.seal(_metadata(1), b"x", _to("AT-BKA"), _SIGNER)
    rotated = EncryptionKey.generate("AT-BKA-enc-rotated")
    after = sealer.seal(_metadata(2), b"x", [rotated.recipient("AT-BKA")], _SIGNER)
    assert before.recipients[0].enc != after.recipients[0].enc
    assert open_alert(after, "AT-BKA", rotated) == b"x"


def test_reuse_ends_after_max_alerts() -> None:
    made: list[None] = []
    sealer = Sealer(
        suite=REUSED_WRAP_SUITE,
        key_reuse=KeyReuse(max_alerts=3),
        on_new_wrap=lambda: made.append(None),
    )
    alerts = [sealer.seal(_metadata(n), b"x", _to("AT-BKA"), _SIGNER) for n in range(7)]
    wraps = [a.recipients[0].enc for a in alerts]
    assert wraps[0] == wraps[1] == wraps[2] != wraps[3]
    assert wraps[3] == wraps[4] == wraps[5] != wraps[6]
    assert len(made) == 3


def test_reuse_ends_after_max_age() -> None:
    now = [100.0]
    keys = WrappingKeys(SUITE, KeyReuse(max_age=60.0), clock=lambda: now[0])
    label, recipients = ("issuer", "RO-ANITP"), _to("AT-BKA")
    first = keys.get(label, recipients)
    now[0] += 59.9
    assert keys.get(label, recipients) is first
    now[0] += 0.2
    assert keys.get(label, recipients).key != first.key


def test_recipient_sets_beyond_max_sets_are_forgotten_oldest_first() -> None:
    keys = WrappingKeys(SUITE, KeyReuse(max_sets=2))
    label = ("issuer", "RO-ANITP")
    a, b = keys.get(label, _to("AT-BKA")), keys.get(label, _to("DE-BKA"))
    assert keys.get(label, _to("AT-BKA")) is a  # AT-BKA is now the most recent
    keys.get(label, _to("IT-DNAA"))  # drops DE-BKA's
    assert keys.get(label, _to("AT-BKA")) is a
    assert keys.get(label, _to("DE-BKA")).key != b.key


def test_a_wrap_moved_to_another_issuers_alert_does_not_open() -> None:
    other_signer = SigningKey.generate("DE-BKA-sig-reuse")
    theirs = _sealer().seal(_metadata(1, "RO-ANITP"), b"x", _to("AT-BKA"), _SIGNER)
    ours = _sealer().seal(_metadata(2, "DE-BKA"), b"y", _to("AT-BKA"), other_signer)
    moved = dataclasses.replace(ours, recipients=theirs.recipients)
    with pytest.raises(OpenError):
        open_alert(moved, "AT-BKA", _KEYS["AT-BKA"])


def test_a_body_moved_between_alerts_under_one_wrapping_key_does_not_open() -> None:
    sealer = _sealer()
    first = sealer.seal(_metadata(1), b"first", _to("AT-BKA"), _SIGNER)
    second = sealer.seal(_metadata(2), b"second", _to("AT-BKA"), _SIGNER)
    moved = dataclasses.replace(
        second, body_nonce=first.body_nonce, body_ciphertext=first.body_ciphertext
    )
    unwrapped = UnwrappedKeys()
    assert open_alert(first, "AT-BKA", _KEYS["AT-BKA"], unwrapped=unwrapped) == b"first"
    with pytest.raises(OpenError):
        open_alert(moved, "AT-BKA", _KEYS["AT-BKA"], unwrapped=unwrapped)


def test_the_unwrap_cache_serves_only_the_key_object_that_unwrapped() -> None:
    alert = _sealer().seal(_metadata(1), b"x", _to("AT-BKA"), _SIGNER)
    unwrapped = UnwrappedKeys()
    assert open_alert(alert, "AT-BKA", _KEYS["AT-BKA"], unwrapped=unwrapped) == b"x"
    impostor = EncryptionKey.generate(_KEYS["AT-BKA"].key_id)  # same id, other key
    with pytest.raises(OpenError):
        open_alert(alert, "AT-BKA", impostor, unwrapped=unwrapped)


def test_a_tampered_reused_alert_fails_verification() -> None:
    alert = _sealer().seal(_metadata(1), b"x", _to("AT-BKA"), _SIGNER)
    issuer = dataclasses.replace(
        v1._issuer(),
        signing_keys=(
            PublicKey(_SIGNER.key_id, _SIGNER.public_bytes(), datetime(2024, 1, 1, tzinfo=UTC)),
        ),
    )
    verify_alert(alert, issuer, at_time=alert.metadata.created_at)
    flipped = bytearray(alert.body_ciphertext)
    flipped[-1] ^= 1
    with pytest.raises(InvalidAlert) as refused:
        verify_alert(
            dataclasses.replace(alert, body_ciphertext=bytes(flipped)),
            issuer,
            at_time=alert.metadata.created_at,
        )
    assert refused.value.reason is RejectReason.BAD_SIGNATURE


def test_suites_and_reuse_must_agree() -> None:
    with pytest.raises(SealError, match="needs key_reuse"):
        Sealer(suite=REUSED_WRAP_SUITE)
    with pytest.raises(SealError, match="does not reuse"):
        Sealer(suite=DEFAULT_SUITE, key_reuse=KeyReuse())
    with pytest.raises(SealError):
        _sealer().seal_payload(b"note", _to("AT-BKA"), purpose="ack-note", associated="x")
    for bad in ({"max_alerts": 0}, {"max_age": 0.0}, {"max_sets": 0}):
        with pytest.raises(SealError):
            KeyReuse(**bad)


def test_the_publisher_setting_chooses_the_suite() -> None:
    assert alert_sealer(Settings()).suite == REUSED_WRAP_SUITE
    one = Settings(producer=dataclasses.replace(Settings().producer, key_reuse_alerts=1))
    assert alert_sealer(one).suite == DEFAULT_SUITE
    zero = Settings(producer=dataclasses.replace(Settings().producer, key_reuse_alerts=0))
    with pytest.raises(ConfigError, match="key_reuse_alerts"):
        alert_sealer(zero)


def test_threads_sharing_a_sealer_never_exceed_the_limit_per_wrap() -> None:
    sealer = _sealer(max_alerts=50)
    sealed: list[SealedAlert] = []
    lock = threading.Lock()

    def seal_many(start: int) -> None:
        mine = [sealer.seal(_metadata(start + n), b"x", _to("AT-BKA"), _SIGNER) for n in range(100)]
        with lock:
            sealed.extend(mine)

    threads = [threading.Thread(target=seal_many, args=(t * 1000,)) for t in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    uses = Counter(alert.recipients for alert in sealed)
    assert sum(uses.values()) == 600
    assert max(uses.values()) <= 50
    unwrapped = UnwrappedKeys()
    assert all(
        open_alert(a, "AT-BKA", _KEYS["AT-BKA"], unwrapped=unwrapped) == b"x" for a in sealed
    )
