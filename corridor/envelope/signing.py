"""Ed25519 signatures over canonical values, separated by a context string.

Alerts, acknowledgements and directory entries are all signed by the same kind of key.
Each signature covers ``(SIGNATURE_DOMAIN, context, value)`` in canonical encoding, so a
signature made for one purpose (``"alert"``) can never be replayed as another
(``"ack"``), and no signature made here can collide with bytes signed elsewhere.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from corridor import canonical
from corridor.canonical import Canonical
from corridor.domain import PublicKey
from corridor.envelope.errors import RejectReason, VerificationError
from corridor.envelope.suites import SIGNATURE_LENGTH, SIGNING_KEY_LENGTH

__all__ = ["SIGNATURE_DOMAIN", "signature_valid", "signed_bytes", "verify_signature"]

#: The first element of every signed tuple; bump it only with a new signature scheme.
SIGNATURE_DOMAIN = "corridor/v1/signature"
CONTEXT = re.compile(r"^[a-z][a-z0-9._/-]{0,63}$")


def signed_bytes(context: str, value: Canonical) -> bytes:
    """The exact bytes a signature under ``context`` covers."""
    if not isinstance(context, str) or not CONTEXT.fullmatch(context):
        raise ValueError("signature context must be a short lower-case identifier")
    return canonical.encode((SIGNATURE_DOMAIN, context, value))


@lru_cache(maxsize=1024)
def _public_key(raw: bytes) -> ed25519.Ed25519PublicKey | None:
    """Parsed public keys, cached: the same few issuer keys verify every alert."""
    if len(raw) != SIGNING_KEY_LENGTH:
        return None
    try:
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        return None


def signature_valid(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 signature of ``message`` (strict lengths)."""
    key = _public_key(bytes(public_key))
    if key is None or len(signature) != SIGNATURE_LENGTH:
        return False
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def verify_signature(
    key: PublicKey, context: str, value: Canonical, signature: bytes, *, signed_at: datetime
) -> None:
    """Check a signature made by :meth:`SigningKey.sign` against a directory public key.

    ``signed_at`` is the time the signed object claims for itself; the key must have been
    valid then. Raises :class:`VerificationError` with a reason, and a generic message.
    """
    try:
        message = signed_bytes(context, value)
    except (ValueError, canonical.CanonicalError):
        raise VerificationError(RejectReason.MALFORMED) from None
    if not signature_valid(key.public_key, signature, message):
        raise VerificationError(RejectReason.BAD_SIGNATURE)
    try:
        valid = key.valid_at(signed_at)
    except TypeError:  # naive and aware datetimes mixed
        valid = False
    if not valid:
        raise VerificationError(RejectReason.KEY_NOT_VALID)
