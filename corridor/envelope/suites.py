"""The registry of cipher suites an envelope may name.

Every sealed alert carries its suite id, so the algorithms can change (for instance to
the ML-KEM-768 + X25519 hybrid KEM that ``cryptography.hazmat.primitives.hpke`` already
offers) while alerts sealed under the old suite stay readable. A reader accepts only the
suites registered here; anything else is rejected before any key is touched.

Today every suite shares the body cipher (AES-256-GCM, 32-byte key, 12-byte nonce) and
the signature (Ed25519); a suite that changes those adds fields here and a branch in the
sealing code, it does not repurpose an existing id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import x25519

__all__ = [
    "DEFAULT_SUITE",
    "SUITES",
    "SUITE_X25519_AES256GCM_ED25519",
    "CipherSuite",
    "HpkePublicKey",
]

#: The public-key types a registered KEM accepts; grows with the registry.
HpkePublicKey = x25519.X25519PublicKey

DATA_KEY_LENGTH = 32
NONCE_LENGTH = 12
GCM_TAG_LENGTH = 16
COMMITMENT_LENGTH = 32
SIGNATURE_LENGTH = 64
SIGNING_KEY_LENGTH = 32


@dataclass(frozen=True, slots=True)
class CipherSuite:
    """One named combination of key wrap, body cipher and signature.

    ``kem`` names the kind of recipient key the suite wraps to, so an opener can tell a
    key of the wrong kind from a wrong key of the right kind without trying it.
    """

    id: str
    kem: str
    hpke: hpke.Suite
    enc_length: int
    load_public_key: Callable[[bytes], HpkePublicKey]

    @property
    def wrapped_key_length(self) -> int:
        """Length of the HPKE ciphertext of one data key (the data key plus the AEAD tag)."""
        return DATA_KEY_LENGTH + GCM_TAG_LENGTH


SUITE_X25519_AES256GCM_ED25519 = CipherSuite(
    id="CORRIDOR-1:X25519-HKDF-SHA256-AES256GCM:AES256GCM:ED25519",
    kem="X25519",
    hpke=hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM),
    enc_length=hpke.KEM.X25519.enc_length(),
    load_public_key=x25519.X25519PublicKey.from_public_bytes,
)

#: Supported suites by id; read-only so nothing can register a suite at run time.
SUITES: Mapping[str, CipherSuite] = MappingProxyType(
    {suite.id: suite for suite in (SUITE_X25519_AES256GCM_ED25519,)}
)

#: The suite new alerts are sealed under.
DEFAULT_SUITE = SUITE_X25519_AES256GCM_ED25519.id
