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

A suite that derives body keys (``CORRIDOR-2``) wraps a reusable *wrapping key* instead
and derives each body key from it (:func:`derive_body_key`); the commitment is then to
the derived body key, so every recipient still reads the same body.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

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
from corridor.envelope.unwrapped import UnwrappedKeys

__all__ = [
    "RandomSource",
    "SealedBody",
    "check_recipients",
    "derive_body_key",
    "open_body",
    "seal_body",
    "seal_body_derived",
    "wrap_key",
]

#: Where fresh data keys and nonces come from. Only tests pass anything but os.urandom,
#: to make known-answer vectors; production code must never override it.
RandomSource = Callable[[int], bytes]

WRAP_CONTEXT = "corridor/v1/data-key-wrap"
COMMIT_CONTEXT = "corridor/v1/data-key-commitment"
BODY_KEY_CONTEXT = "corridor/v2/alert-body-key"


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


def check_recipients(recipients: Sequence[RecipientKey]) -> None:
    """At least one recipient, each a :class:`RecipientKey`, none listed twice."""
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


def wrap_key(
    suite: CipherSuite, key: bytes, label: Canonical, recipients: Sequence[RecipientKey]
) -> tuple[WrappedKey, ...]:
    """HPKE-wrap ``key`` for each recipient, bound to ``label`` and the recipient's ids."""
    check_recipients(recipients)
    return tuple(_wrap(suite, key, label, recipient) for recipient in recipients)


def derive_body_key(suite: CipherSuite, wrapping_key: bytes, context: Canonical) -> bytes:
    """One alert's body key under a reused wrapping key (suites that derive it).

    HKDF-Expand (RFC 5869) with the wrapping key as the pseudorandom key: it is 32
    uniformly random bytes, so the extract step would add nothing. ``context`` holds the
    alert id and the alert's fresh nonce, so every sealing gets its own key even when an
    alert is sealed twice.
    """
    info = canonical.encode((BODY_KEY_CONTEXT, suite.id, context))
    return HKDFExpand(hashes.SHA256(), DATA_KEY_LENGTH, info).derive(wrapping_key)


def seal_body(
    suite: CipherSuite,
    plaintext: bytes,
    *,
    aad: bytes,
    label: Canonical,
    recipients: Sequence[RecipientKey],
    randomness: RandomSource = os.urandom,
) -> SealedBody:
    """Encrypt ``plaintext`` for ``recipients`` under a fresh data key wrapped for this
    one sealing; ``aad`` is authenticated, not encrypted."""
    if suite.derives_body_key:
        raise SealError(f"suite {suite.id} seals alerts only, with a reused wrapping key")
    if not isinstance(plaintext, bytes):
        raise SealError("the body to seal must be bytes")
    check_recipients(recipients)
    data_key = _random(randomness, DATA_KEY_LENGTH, "data key")
    nonce = _random(randomness, NONCE_LENGTH, "nonce")
    wrapped = wrap_key(suite, data_key, label, recipients)
    return SealedBody(nonce, _encrypt(suite, data_key, nonce, plaintext, aad), wrapped)


def seal_body_derived(
    suite: CipherSuite,
    plaintext: bytes,
    *,
    aad: bytes,
    wrapping_key: bytes,
    wrapped: tuple[WrappedKey, ...],
    context: Canonical,
    randomness: RandomSource = os.urandom,
) -> SealedBody:
    """Encrypt ``plaintext`` under a body key derived from ``wrapping_key`` (already
    wrapped for the recipients as ``wrapped``) and ``context`` with a fresh nonce."""
    if not suite.derives_body_key:
        raise SealError(f"suite {suite.id} does not derive body keys")
    if not isinstance(plaintext, bytes):
        raise SealError("the body to seal must be bytes")
    nonce = _random(randomness, NONCE_LENGTH, "nonce")
    body_key = derive_body_key(suite, wrapping_key, (context, nonce))
    return SealedBody(nonce, _encrypt(suite, body_key, nonce, plaintext, aad), wrapped)


def _encrypt(suite: CipherSuite, key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    return _commitment(suite, key) + AESGCM(key).encrypt(nonce, plaintext, aad)


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
    context: Canonical = None,
    unwrapped: UnwrappedKeys | None = None,
) -> bytes:
    """Unwrap the key addressed to ``(recipient_id, key.key_id)`` and decrypt.

    For a suite that derives body keys, ``context`` is the one the sealer used (the
    alert id) and ``unwrapped`` may remember wrapping keys already unwrapped. Raises
    :class:`OpenError` for every failure, whatever its cause.
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
        sealed_key = entry.enc + entry.wrapped_key
        # Only a reusable wrapping key is worth remembering: a CORRIDOR-1 wrap is one
        # alert's own.
        cache = unwrapped if suite.derives_body_key else None
        data_key = cache.get(key, info, sealed_key) if cache is not None else None
        if data_key is None:
            data_key = suite.hpke.decrypt(sealed_key, key.private_key(), info=info)
            if cache is not None:
                cache.put(key, info, sealed_key, data_key)
        if suite.derives_body_key:
            if context is None or len(data_key) != DATA_KEY_LENGTH:
                raise OpenError
            data_key = derive_body_key(suite, data_key, (context, nonce))
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
