"""The directory authority's key: the one root every directory reader trusts.

Stored as PKCS#8 PEM (optionally password-protected) in a file created with mode 0600;
loading refuses a file that group or others can access, as ssh does for its keys.
Readers are configured with the raw 32-byte public key (or its PEM form).
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from corridor.directory_fields import DirectoryError


def authority_key_id(public_key: bytes) -> str:
    """A short, stable name for an authority public key (its SHA-256, truncated)."""
    return "da-" + hashlib.sha256(public_key).hexdigest()[:16]


class DirectoryAuthorityKey:
    """The directory authority's Ed25519 signing key. Make one with :meth:`generate`."""

    __slots__ = ("_private",)

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key

    @classmethod
    def generate(cls) -> DirectoryAuthorityKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, data: bytes, *, password: bytes | None = None) -> DirectoryAuthorityKey:
        try:
            key = serialization.load_pem_private_key(data, password=password)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise DirectoryError("the authority key is not a readable PEM private key") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise DirectoryError("the authority key is not an Ed25519 key")
        return cls(key)

    @classmethod
    def load(cls, path: str | Path, *, password: bytes | None = None) -> DirectoryAuthorityKey:
        """Read a PEM key file, refusing one that others than its owner can read."""
        path = Path(path)
        try:
            mode = path.stat().st_mode
            if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise DirectoryError(f"{path}: authority key is accessible to others; chmod 600")
            data = path.read_bytes()
        except OSError as exc:
            raise DirectoryError(f"{path}: authority key cannot be read ({exc.strerror})") from exc
        return cls.from_pem(data, password=password)

    def to_pem(self, *, password: bytes | None = None) -> bytes:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        return self._private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    def save(self, path: str | Path, *, password: bytes | None = None) -> None:
        """Write the key to a new file with mode 0600; never overwrite an existing key."""
        path = Path(path)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise DirectoryError(f"{path}: already exists; not overwriting a key") from exc
        except OSError as exc:
            raise DirectoryError(f"{path}: cannot create key file ({exc.strerror})") from exc
        with os.fdopen(fd, "wb") as handle:
            handle.write(self.to_pem(password=password))
            handle.flush()
            os.fsync(handle.fileno())

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte public key that readers are configured to trust."""
        return self._private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    def public_pem(self) -> bytes:
        return self._private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def key_id(self) -> str:
        return authority_key_id(self.public_key)

    def _sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    def __repr__(self) -> str:
        return f"DirectoryAuthorityKey(key_id={self.key_id!r})"


def load_authority_public_key(data: bytes) -> bytes:
    """The raw public key from a PEM ``PUBLIC KEY`` block (as ``public_pem`` writes it)."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise DirectoryError("the authority public key is not a readable PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise DirectoryError("the authority public key is not an Ed25519 key")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
