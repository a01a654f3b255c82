"""Small sealed payloads (an acknowledgement's note) built from the alert primitives.

A payload has no metadata of its own; the caller says what it belongs to with
``purpose`` (a short name such as ``"ack-note"``) and ``associated`` (a canonical value
such as ``{"ack_id": ..., "alert_id": ...}``). Both are authenticated as AES-GCM
associated data and bound into every key wrap, so a note cannot be moved to another
acknowledgement or repurposed. Signing is the caller's: include
:func:`payload_value` in whatever it signs.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass

from corridor import canonical
from corridor.canonical import Canonical
from corridor.domain import WrappedKey
from corridor.envelope.body import RandomSource, open_body, seal_body
from corridor.envelope.errors import OpenError, SealError
from corridor.envelope.keys import EncryptionKey, RecipientKey
from corridor.envelope.signing import CONTEXT
from corridor.envelope.suites import SUITES, CipherSuite

__all__ = ["SealedPayload", "open_payload", "payload_value", "seal_payload"]

PAYLOAD_AAD_CONTEXT = "corridor/v1/payload"


@dataclass(frozen=True, slots=True)
class SealedPayload:
    suite: str
    nonce: bytes
    ciphertext: bytes
    recipients: tuple[WrappedKey, ...]


def _aad(suite_id: str, purpose: str, associated: Canonical) -> bytes:
    return canonical.encode((PAYLOAD_AAD_CONTEXT, suite_id, purpose, associated))


def _label(purpose: str, aad: bytes) -> Canonical:
    return ("payload", purpose, hashlib.sha256(aad).digest())


def seal_payload(
    suite: CipherSuite,
    payload: bytes,
    recipients: Sequence[RecipientKey],
    *,
    purpose: str,
    associated: Canonical,
    randomness: RandomSource = os.urandom,
) -> SealedPayload:
    """Encrypt ``payload`` once for every recipient, bound to ``purpose``/``associated``."""
    if not isinstance(purpose, str) or not CONTEXT.fullmatch(purpose):
        raise SealError("purpose must be a short lower-case identifier")
    try:
        aad = _aad(suite.id, purpose, associated)
    except canonical.CanonicalError as exc:
        raise SealError(f"{purpose}: associated data cannot be encoded: {exc}") from exc
    sealed = seal_body(
        suite,
        payload,
        aad=aad,
        label=_label(purpose, aad),
        recipients=recipients,
        randomness=randomness,
    )
    return SealedPayload(suite.id, sealed.nonce, sealed.ciphertext, sealed.recipients)


def open_payload(
    sealed: SealedPayload,
    *,
    purpose: str,
    associated: Canonical,
    recipient_id: str,
    key: EncryptionKey,
) -> bytes:
    """Decrypt a payload; ``purpose`` and ``associated`` must equal those used to seal it.

    Raises :class:`OpenError` for every failure.
    """
    suite = SUITES.get(sealed.suite)
    if suite is None:
        raise OpenError
    try:
        aad = _aad(suite.id, purpose, associated)
    except canonical.CanonicalError:
        raise OpenError from None
    return open_body(
        suite,
        nonce=sealed.nonce,
        ciphertext=sealed.ciphertext,
        recipients=sealed.recipients,
        aad=aad,
        label=_label(purpose, aad),
        recipient_id=recipient_id,
        key=key,
    )


def payload_value(sealed: SealedPayload) -> Canonical:
    """The sealed payload as a canonical value, to include in a signature."""
    return (
        sealed.suite,
        sealed.nonce,
        sealed.ciphertext,
        tuple((w.agency_id, w.key_id, w.enc, w.wrapped_key) for w in sealed.recipients),
    )
