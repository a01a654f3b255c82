"""Encrypt once, wrap the data key per recipient: the core shared by alerts and notes.

The plaintext is encrypted a single time with AES-256-GCM under a fresh 32-byte data key;
the data key is then HPKE-sealed (RFC 9180, base mode) to each recipient. The HPKE
``info`` binds the suite, what is being sealed (``label``, e.g. the alert id) and the
recipient's agency and key id, so a wrapped key copied to another alert or relabelled
for another recipient no longer opens.

AES-GCM is not key-committing: a malicious sender could craft one ciphertext that opens
to different plaintexts under different data keys, and hand each recipient its own key.
So the stored ciphertext starts with a 32-byte commitment to the data key (a SHA-256 of
it, domain-separated); an opener checks the commitment before decrypting, and since the
ciphertext is signed, every recipient of one alert reads the same body.

Layout of ``ciphertext``: ``commitment (32) || AES-GCM ciphertext || tag (16)``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from corridor import canonical
from corridor.canonical import Canonical
from corridor.domain import WrappedKey
from corridor.envelope.errors import OpenError, SealError
from corridor.envelope.keys import EncryptionKey, RecipientKey
from corridor.envelope.suites import (
    COMMITMENT_LENGTH,
    DATA_KEY_LENGTH,
    GCM_TAG_LENGTH,
    NONCE_LENGTH,
    CipherSuite,
)

__all__ = ["RandomSource", "SealedBody", "open_body", "seal_body"]

#: Where fresh data keys and nonces come from. Only tests pass anything but os.urandom,
#: to make known-answer vectors; production code must never override it.
RandomSource = Callable[[int], bytes]

WRAP_CONTEXT = "corridor/v1/data-key-wrap"
COMMIT_CONTEXT = "corridor/v1/data-key-commitment"


@dataclass(frozen=True, slots=True)
class SealedBody:
    nonce: bytes
    ciphertext: bytes
    recipients: tuple[WrappedKey, ...]


def wrap_info(suite: CipherSuite, label: Canonical, agency_id: str, key_id: str) -> bytes:
    return canonical.encode((WRAP_CONTEXT, suite.id, label, agency_id, key_id))


def _commitment(suite: CipherSuite, data_key: bytes) -> bytes:
    return hashlib.sha256(canonical.encode((COMMIT_CONTEXT, suite.id, data_key))).digest()


def _random(randomness: RandomSource, length: int, what: str) -> bytes:
    value = randomness(length)
    if not isinstance(value, bytes) or len(value) != length:
        raise SealError(f"the random source returned a bad {what}")
    return value


def seal_body(
    suite: CipherSuite,
    plaintext: bytes,
    *,
    aad: bytes,
    label: Canonical,
    recipients: Sequence[RecipientKey],
    randomness: RandomSource = os.urandom,
) -> SealedBody:
    """Encrypt ``plaintext`` for ``recipients``; ``aad`` is authenticated, not encrypted."""
    if not isinstance(plaintext, bytes):
        raise SealError("the body to seal must be bytes")
    if not recipients:
        raise SealError("an alert needs at least one recipient")
    seen: set[tuple[str, str]] = set()
    for recipient in recipients:
        if not isinstance(recipient, RecipientKey):
            raise SealError("recipients must be RecipientKey values")
        ident = (recipient.agency_id, recipient.key_id)
        if ident in seen:
            raise SealError(
                f"recipient {recipient.agency_id} key {recipient.key_id} is listed twice"
            )
        seen.add(ident)

    data_key = _random(randomness, DATA_KEY_LENGTH, "data key")
    nonce = _random(randomness, NONCE_LENGTH, "nonce")
    body = AESGCM(data_key).encrypt(nonce, plaintext, aad)
    wrapped = tuple(_wrap(suite, data_key, label, recipient) for recipient in recipients)
    return SealedBody(nonce, _commitment(suite, data_key) + body, wrapped)


def _wrap(
    suite: CipherSuite, data_key: bytes, label: Canonical, recipient: RecipientKey
) -> WrappedKey:
    where = f"recipient {recipient.agency_id} key {recipient.key_id}"
    try:
        public_key = suite.load_public_key(recipient.public_key)
    except ValueError as exc:
        raise SealError(f"{where}: not a valid {suite.kem} public key") from exc
    info = wrap_info(suite, label, recipient.agency_id, recipient.key_id)
    try:
        sealed = suite.hpke.encrypt(data_key, public_key, info=info)
    except ValueError as exc:  # a low-order point gives no shared secret
        raise SealError(f"{where}: the public key is unusable") from exc
    return WrappedKey(
        agency_id=recipient.agency_id,
        key_id=recipient.key_id,
        enc=sealed[: suite.enc_length],
        wrapped_key=sealed[suite.enc_length :],
    )


def open_body(
    suite: CipherSuite,
    *,
    nonce: bytes,
    ciphertext: bytes,
    recipients: Sequence[WrappedKey],
    aad: bytes,
    label: Canonical,
    recipient_id: str,
    key: EncryptionKey,
) -> bytes:
    """Unwrap the data key addressed to ``(recipient_id, key.key_id)`` and decrypt.

    Raises :class:`OpenError` for every failure, whatever its cause.
    """
    try:
        if not isinstance(key, EncryptionKey) or key.kem != suite.kem:
            raise OpenError
        entry = next(
            (w for w in recipients if w.agency_id == recipient_id and w.key_id == key.key_id),
            None,
        )
        if entry is None or len(entry.enc) != suite.enc_length:
            raise OpenError
        if len(nonce) != NONCE_LENGTH or len(ciphertext) < COMMITMENT_LENGTH + GCM_TAG_LENGTH:
            raise OpenError
        info = wrap_info(suite, label, entry.agency_id, entry.key_id)
        data_key = suite.hpke.decrypt(entry.enc + entry.wrapped_key, key.private_key(), info=info)
        commitment, body = ciphertext[:COMMITMENT_LENGTH], ciphertext[COMMITMENT_LENGTH:]
        if len(data_key) != DATA_KEY_LENGTH or not hmac.compare_digest(
            commitment, _commitment(suite, data_key)
        ):
            raise OpenError
        return AESGCM(data_key).decrypt(nonce, body, aad)
    except OpenError:
        raise
    except (InvalidTag, ValueError, TypeError, canonical.CanonicalError) as exc:
        raise OpenError from exc
