"""The registry of cipher suites an envelope may name.

Every sealed alert carries its suite id, so the algorithms can change (for instance to
the ML-KEM-768 + X25519 hybrid KEM that ``cryptography.hazmat.primitives.hpke`` already
offers) while alerts sealed under the old suite stay readable. A reader accepts only the
suites registered here; anything else is rejected before any key is touched.

Today every suite shares the body cipher (AES-256-GCM, 32-byte key, 12-byte nonce) and
the signature (Ed25519); a suite that changes those adds fields here and a branch in the
sealing code, it does not repurpose an existing id.

The two suites differ in what the wrapped key is (decision 18):

* ``CORRIDOR-1``: the wrapped key is the alert's own data key, wrapped for that alert
  alone (the wrap's label is the alert id);
* ``CORRIDOR-2``: the wrapped key is a *wrapping key* that an issuer reuses, for a bounded
  number of alerts and time, for one exact set of recipient keys (the wrap's label is
  the issuer). Each alert's body key is derived from it with HKDF-Expand over the alert
  id and the alert's nonce, so no two alerts share a body key and the costly HPKE wrap
  is paid once per set of recipients instead of once per alert.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import x25519

__all__ = [
    "DEFAULT_SUITE",
    "REUSED_WRAP_SUITE",
    "SUITES",
    "SUITE_X25519_AES256GCM_ED25519",
    "SUITE_X25519_REUSED_WRAP_AES256GCM_ED25519",
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
    #: True when the wrapped key is a reusable wrapping key and each alert's body key is
    #: derived from it (``CORRIDOR-2``); False when it is the body key itself.
    derives_body_key: bool = False

    @property
    def wrapped_key_length(self) -> int:
        """Length of the HPKE ciphertext of one data key (the data key plus the AEAD tag)."""
        return DATA_KEY_LENGTH + GCM_TAG_LENGTH


def _x25519_suite(suite_id: str, *, derives_body_key: bool) -> CipherSuite:
    """A suite wrapping with HPKE base mode, X25519, HKDF-SHA256 and AES-256-GCM."""
    return CipherSuite(
        id=suite_id,
        kem="X25519",
        hpke=hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM),
        enc_length=hpke.KEM.X25519.enc_length(),
        load_public_key=x25519.X25519PublicKey.from_public_bytes,
        derives_body_key=derives_body_key,
    )


SUITE_X25519_AES256GCM_ED25519 = _x25519_suite(
    "CORRIDOR-1:X25519-HKDF-SHA256-AES256GCM:AES256GCM:ED25519", derives_body_key=False
)
SUITE_X25519_REUSED_WRAP_AES256GCM_ED25519 = _x25519_suite(
    "CORRIDOR-2:X25519-HKDF-SHA256-AES256GCM:HKDF-SHA256-AES256GCM:ED25519",
    derives_body_key=True,
)

#: Supported suites by id; read-only so nothing can register a suite at run time.
SUITES: Mapping[str, CipherSuite] = MappingProxyType(
    {
        suite.id: suite
        for suite in (SUITE_X25519_AES256GCM_ED25519, SUITE_X25519_REUSED_WRAP_AES256GCM_ED25519)
    }
)

#: The suite a :class:`~corridor.envelope.Sealer` uses unless told otherwise: every
#: payload (an acknowledgement's note), and alerts when wrapping keys are not reused.
DEFAULT_SUITE = SUITE_X25519_AES256GCM_ED25519.id
#: The suite alerts are sealed under when the publisher reuses wrapping keys.
REUSED_WRAP_SUITE = SUITE_X25519_REUSED_WRAP_AES256GCM_ED25519.id
