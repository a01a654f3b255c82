"""End-to-end protection of case alerts: sealed bodies, wrapped keys, signatures.

The body of an alert is encrypted once (AES-256-GCM) and its key wrapped for each
recipient (HPKE, RFC 9180); the issuer signs the whole envelope (Ed25519). Processors
verify and route without being able to read; recipients verify and open. See
:mod:`corridor.envelope.alert` for exactly what is bound to what.
"""

from __future__ import annotations

from corridor.envelope.alert import (
    ALERT_SIGNATURE_CONTEXT,
    DEFAULT_CLOCK_SKEW,
    Sealer,
    alert_body_aad,
    alert_signed_bytes,
    open_alert,
    verify_alert,
    verify_and_open,
)
from corridor.envelope.body import RandomSource
from corridor.envelope.errors import (
    InvalidAlert,
    KeyFormatError,
    OpenError,
    RejectReason,
    SealError,
    VerificationError,
)
from corridor.envelope.keys import EncryptionKey, RecipientKey, SigningKey
from corridor.envelope.payload import SealedPayload, open_payload, payload_value
from corridor.envelope.reuse import KeyReuse
from corridor.envelope.signing import signed_bytes, verify_signature
from corridor.envelope.suites import DEFAULT_SUITE, REUSED_WRAP_SUITE, SUITES, CipherSuite
from corridor.envelope.unwrapped import UnwrappedKeys

__all__ = [
    "ALERT_SIGNATURE_CONTEXT",
    "DEFAULT_CLOCK_SKEW",
    "DEFAULT_SUITE",
    "REUSED_WRAP_SUITE",
    "SUITES",
    "CipherSuite",
    "EncryptionKey",
    "InvalidAlert",
    "KeyFormatError",
    "KeyReuse",
    "OpenError",
    "RandomSource",
    "RecipientKey",
    "RejectReason",
    "SealError",
    "SealedPayload",
    "Sealer",
    "SigningKey",
    "UnwrappedKeys",
    "VerificationError",
    "alert_body_aad",
    "alert_signed_bytes",
    "open_alert",
    "open_payload",
    "payload_value",
    "signed_bytes",
    "verify_alert",
    "verify_and_open",
    "verify_signature",
]
