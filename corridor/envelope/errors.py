"""Errors of the envelope: opaque to the caller, precise for the dead-letter topic.

A failed verification or decryption must not tell an attacker which check failed, so
``str(exc)`` is the same sentence whatever went wrong. The processor still needs to file
the alert under a reason, so verification errors carry a machine-readable
:class:`RejectReason`. Opening gives no reason at all: only the recipient sees it, and
"wrong key" and "tampered" must look the same.
"""

from __future__ import annotations

from enum import StrEnum

from corridor.exceptions import CorridorError

__all__ = [
    "InvalidAlert",
    "KeyFormatError",
    "OpenError",
    "RejectReason",
    "SealError",
    "VerificationError",
]


class RejectReason(StrEnum):
    """Why a signed object was rejected; written to the dead-letter topic, never shown to it."""

    BAD_SIGNATURE = "BAD_SIGNATURE"
    UNKNOWN_KEY = "UNKNOWN_KEY"
    KEY_NOT_VALID = "KEY_NOT_VALID"
    UNSUPPORTED_SUITE = "UNSUPPORTED_SUITE"
    MALFORMED = "MALFORMED"
    ISSUER_MISMATCH = "ISSUER_MISMATCH"
    CREATED_IN_FUTURE = "CREATED_IN_FUTURE"


class VerificationError(CorridorError):
    """A signature did not verify; ``reason`` says why, the message does not."""

    message = "signature verification failed"

    def __init__(self, reason: RejectReason) -> None:
        super().__init__(self.message, retriable=False)
        self.reason = reason


class InvalidAlert(VerificationError):  # noqa: N818 - named like pyca's InvalidSignature
    """A case alert failed verification (forged, altered, unknown key, unsupported suite)."""

    message = "alert failed verification"


class OpenError(CorridorError):
    """A sealed body could not be opened: not a recipient, wrong key, or tampered with."""

    def __init__(self) -> None:
        super().__init__("sealed body could not be opened", retriable=False)


class SealError(CorridorError):
    """The inputs to sealing are unusable (no recipients, a bad public key, naive time)."""


class KeyFormatError(CorridorError):
    """Key material is not what it claims to be (wrong length, type, or passphrase)."""
