"""Private keys as the envelope uses them: each one knows its key id.

The raw ``cryptography`` key objects would let a caller sign arbitrary bytes or pair a
key with the wrong id. These wrappers come only from :meth:`generate`, raw bytes or PEM,
keep the key id beside the key, sign only through a domain-separated canonical
encoding, and never show key material in ``repr``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

from corridor.canonical import Canonical
from corridor.domain import AGENCY_ID, Agency
from corridor.envelope.errors import KeyFormatError, SealError
from corridor.envelope.signing import signed_bytes

__all__ = ["EncryptionKey", "RecipientKey", "SigningKey"]

KEY_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
_RAW = serialization.Encoding.Raw
_RAW_PUBLIC = serialization.PublicFormat.Raw
_RAW_PRIVATE = serialization.PrivateFormat.Raw


def _check_key_id(key_id: str) -> str:
    if not isinstance(key_id, str) or not KEY_ID.fullmatch(key_id):
        raise KeyFormatError("key_id must be 1 to 128 printable ASCII characters without spaces")
    return key_id


def _pem(
    key: ed25519.Ed25519PrivateKey | x25519.X25519PrivateKey, passphrase: bytes | None
) -> bytes:
    if passphrase is not None and not passphrase:
        raise KeyFormatError("passphrase must not be empty; pass None for no encryption")
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase is not None
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def _load_pem(pem: bytes, passphrase: bytes | None) -> object:
    try:
        return serialization.load_pem_private_key(pem, password=passphrase)
    except TypeError as exc:
        if passphrase is None:
            raise KeyFormatError("the key is encrypted; a passphrase is needed") from exc
        raise KeyFormatError("the key is not encrypted but a passphrase was given") from exc
    except ValueError as exc:
        raise KeyFormatError("not a PEM private key, or the passphrase is wrong") from exc
    except Exception as exc:  # unsupported algorithms surface as several library types
        raise KeyFormatError("not a supported PEM private key") from exc


class SigningKey:
    """An agency's Ed25519 signing key and its key id."""

    __slots__ = ("_key", "_key_id", "_public")

    def __init__(self, key_id: str, key: ed25519.Ed25519PrivateKey) -> None:
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise KeyFormatError("a signing key must be an Ed25519 private key")
        self._key_id = _check_key_id(key_id)
        self._key = key
        # Compared with the directory before every acknowledgement a consumer signs.
        self._public = key.public_key().public_bytes(_RAW, _RAW_PUBLIC)

    @classmethod
    def generate(cls, key_id: str) -> SigningKey:
        return cls(key_id, ed25519.Ed25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, key_id: str, raw: bytes) -> SigningKey:
        try:
            key = ed25519.Ed25519PrivateKey.from_private_bytes(raw)
        except ValueError as exc:
            raise KeyFormatError("an Ed25519 private key is 32 bytes") from exc
        return cls(key_id, key)

    @classmethod
    def from_pem(cls, key_id: str, pem: bytes, passphrase: bytes | None = None) -> SigningKey:
        key = _load_pem(pem, passphrase)
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise KeyFormatError("the PEM file does not hold an Ed25519 signing key")
        return cls(key_id, key)

    @property
    def key_id(self) -> str:
        return self._key_id

    def public_bytes(self) -> bytes:
        """The 32-byte public key, as published in the directory."""
        return self._public

    def private_bytes(self) -> bytes:
        """The 32-byte private seed; for key stores and test vectors only."""
        return self._key.private_bytes(_RAW, _RAW_PRIVATE, serialization.NoEncryption())

    def to_pem(self, passphrase: bytes | None = None) -> bytes:
        """PKCS#8 PEM, encrypted with the best available scheme when a passphrase is given."""
        return _pem(self._key, passphrase)

    def sign(self, context: str, value: Canonical) -> bytes:
        """Sign the canonical encoding of ``value`` under ``context`` (e.g. ``"ack"``).

        There is deliberately no way to sign raw bytes: every signature names what it is
        for, so a signature on one kind of object can never pass as another.
        """
        return self._key.sign(signed_bytes(context, value))

    def __repr__(self) -> str:
        return f"SigningKey(key_id={self._key_id!r})"


class EncryptionKey:
    """An agency's X25519 key for unwrapping data keys, and its key id."""

    __slots__ = ("_key", "_key_id", "_public")

    kem = "X25519"

    def __init__(self, key_id: str, key: x25519.X25519PrivateKey) -> None:
        if not isinstance(key, x25519.X25519PrivateKey):
            raise KeyFormatError("an encryption key must be an X25519 private key")
        self._key_id = _check_key_id(key_id)
        self._key = key
        self._public = key.public_key().public_bytes(_RAW, _RAW_PUBLIC)

    @classmethod
    def generate(cls, key_id: str) -> EncryptionKey:
        return cls(key_id, x25519.X25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, key_id: str, raw: bytes) -> EncryptionKey:
        try:
            key = x25519.X25519PrivateKey.from_private_bytes(raw)
        except ValueError as exc:
            raise KeyFormatError("an X25519 private key is 32 bytes") from exc
        return cls(key_id, key)

    @classmethod
    def from_pem(cls, key_id: str, pem: bytes, passphrase: bytes | None = None) -> EncryptionKey:
        key = _load_pem(pem, passphrase)
        if not isinstance(key, x25519.X25519PrivateKey):
            raise KeyFormatError("the PEM file does not hold an X25519 encryption key")
        return cls(key_id, key)

    @property
    def key_id(self) -> str:
        return self._key_id

    def public_bytes(self) -> bytes:
        """The 32-byte public key, as published in the directory."""
        return self._public

    def private_bytes(self) -> bytes:
        """The 32-byte private scalar; for key stores and test vectors only."""
        return self._key.private_bytes(_RAW, _RAW_PRIVATE, serialization.NoEncryption())

    def to_pem(self, passphrase: bytes | None = None) -> bytes:
        """PKCS#8 PEM, encrypted with the best available scheme when a passphrase is given."""
        return _pem(self._key, passphrase)

    def recipient(self, agency_id: str) -> RecipientKey:
        """This key's public half addressed to ``agency_id``, as a sender would see it."""
        return RecipientKey(agency_id, self._key_id, self.public_bytes())

    def private_key(self) -> x25519.X25519PrivateKey:
        """The library key object, for the unwrapping code of this package."""
        return self._key

    def __repr__(self) -> str:
        return f"EncryptionKey(key_id={self._key_id!r})"


@dataclass(frozen=True, slots=True)
class RecipientKey:
    """Whom to seal for: an agency, which of its encryption keys, and the public key."""

    agency_id: str
    key_id: str
    public_key: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.agency_id, str) or not AGENCY_ID.fullmatch(self.agency_id):
            raise SealError("recipient agency_id is not a valid agency id")
        if not isinstance(self.key_id, str) or not KEY_ID.fullmatch(self.key_id):
            raise SealError(f"recipient {self.agency_id}: key_id is not a valid key id")
        if not isinstance(self.public_key, bytes):
            raise SealError(f"recipient {self.agency_id}: public_key must be bytes")

    @classmethod
    def for_agency(cls, agency: Agency, when: datetime) -> RecipientKey:
        """The agency's newest encryption key valid at ``when``, the one to seal for."""
        key = agency.encryption_key_at(when)
        if key is None:
            raise SealError(f"agency {agency.id} has no encryption key valid at that time")
        return cls(agency.id, key.key_id, key.public_key)
