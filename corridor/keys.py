"""An agency's own key pairs: generation, files on disk, and the public directory entry.

Each agency holds one Ed25519 signing key and one X25519 encryption key. They are kept
as PKCS#8 PEM files, created with mode 0600 from the first byte (never widened and then
narrowed), optionally encrypted with a passphrase, next to a small public manifest that
records their key ids and validity so the keys can be loaded without guessing:

    <dir>/<AGENCY>.signing.pem      private, 0600
    <dir>/<AGENCY>.encryption.pem   private, 0600
    <dir>/<AGENCY>.keys.json        public: the agency's entry for the directory
    <dir>/<AGENCY>.retired/<KEY_ID>.pem   private, 0600: encryption keys rotated away from

Rotation (:func:`rotate_agency_keys`) replaces both keys but keeps the encryption key it
replaces, listed in the manifest under ``retired_encryption_keys``: alerts already sealed
to it (in flight, or waiting on a topic for a consumer that was down) can still be
opened. The old signing key is not kept: nothing needs it once the directory lists the
new one, and a key that no longer exists cannot sign anything. :func:`forget_retired_key`
drops a retired key once nothing sealed to it can still arrive.

Key ids read ``<AGENCY>-sig-<YYYYMMDD>-<8 hex>`` and ``<AGENCY>-enc-<YYYYMMDD>-<8 hex>``:
unique, sortable by age, and telling an operator at a glance whose key it is.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from corridor.domain import AGENCY_ID, Directory
from corridor.envelope.errors import KeyFormatError
from corridor.envelope.keys import EncryptionKey, SigningKey
from corridor.exceptions import CorridorError

__all__ = [
    "AgencyIdError",
    "AgencyKeys",
    "KeyFiles",
    "KeyStoreError",
    "RetiredKey",
    "finish_replacement",
    "forget_retired_key",
    "generate_agency_keys",
    "interrupted_replacement",
    "key_files",
    "load_private_keys",
    "public_entry",
    "rotate_agency_keys",
    "signing_key_published",
    "write_private_keys",
]

MANIFEST_VERSION = 1
#: What a retired key's id must look like to name its file (no separators, no dot first).
_FILE_SAFE_KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


class AgencyIdError(CorridorError):
    """The agency id does not follow the ``CC-NAME`` pattern of corridor.domain.AGENCY_ID."""


class KeyStoreError(CorridorError):
    """A key file is missing, already there, unreadable, too open, or inconsistent."""


@dataclass(frozen=True, slots=True)
class RetiredKey:
    """An encryption key rotated away from, kept to open what was sealed to it."""

    key: EncryptionKey
    retired_at: datetime


@dataclass(frozen=True, slots=True)
class AgencyKeys:
    """An agency's private keys, and the time from which their public halves are valid."""

    agency_id: str
    signing: SigningKey
    encryption: EncryptionKey
    valid_from: datetime
    retired: tuple[RetiredKey, ...] = ()

    def encryption_key(self, key_id: str) -> EncryptionKey | None:
        """The current or a retired encryption key with this id, if this agency holds it."""
        if key_id == self.encryption.key_id:
            return self.encryption
        return next((r.key for r in self.retired if r.key.key_id == key_id), None)


@dataclass(frozen=True, slots=True)
class KeyFiles:
    signing: Path
    encryption: Path
    manifest: Path
    retired: Path

    def retired_key(self, key_id: str) -> Path:
        return self.retired / f"{key_id}.pem"


def signing_key_published(
    directory: Directory, agency_id: str, key: SigningKey, when: datetime | None = None
) -> bool:
    """Whether what ``key`` signs for ``agency_id`` verifies against ``directory`` at
    ``when`` (now by default): the processors refuse anything else."""
    agency = directory.agencies.get(agency_id)
    at = when if when is not None else datetime.now(UTC)
    return agency is not None and agency.publishes_signing_key(key.key_id, key.public_bytes(), at)


def _check_agency_id(agency_id: str) -> None:
    if not isinstance(agency_id, str) or not AGENCY_ID.fullmatch(agency_id):
        raise AgencyIdError(
            f"{agency_id!r} is not a valid agency id (two-letter country code, a dash "
            "and an upper-case name, e.g. AT-BKA)"
        )


def key_files(directory: Path | str, agency_id: str) -> KeyFiles:
    """Where an agency's key files live inside ``directory``."""
    _check_agency_id(agency_id)
    base = Path(directory)
    return KeyFiles(
        signing=base / f"{agency_id}.signing.pem",
        encryption=base / f"{agency_id}.encryption.pem",
        manifest=base / f"{agency_id}.keys.json",
        retired=base / f"{agency_id}.retired",
    )


def _key_id(agency_id: str, purpose: Literal["sig", "enc"], when: datetime) -> str:
    return f"{agency_id}-{purpose}-{when:%Y%m%d}-{secrets.token_hex(4)}"


def generate_agency_keys(agency_id: str, *, now: datetime | None = None) -> AgencyKeys:
    """Fresh signing and encryption keys for ``agency_id``, valid from ``now`` (UTC)."""
    _check_agency_id(agency_id)
    when = (now if now is not None else datetime.now(UTC)).astimezone(UTC)
    when = when.replace(microsecond=0)
    return AgencyKeys(
        agency_id=agency_id,
        signing=SigningKey.generate(_key_id(agency_id, "sig", when)),
        encryption=EncryptionKey.generate(_key_id(agency_id, "enc", when)),
        valid_from=when,
    )


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def public_entry(keys: AgencyKeys) -> dict[str, list[dict[str, str]]]:
    """The public keys as the directory file lists them for this agency."""

    def entry(key_id: str, public: bytes) -> dict[str, str]:
        return {
            "key_id": key_id,
            "public_key": base64.b64encode(public).decode("ascii"),
            "valid_from": _iso(keys.valid_from),
        }

    return {
        "signing_keys": [entry(keys.signing.key_id, keys.signing.public_bytes())],
        "encryption_keys": [entry(keys.encryption.key_id, keys.encryption.public_bytes())],
    }


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` exclusively with ``mode``; fails if anything is already there."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    except FileExistsError as exc:
        raise KeyStoreError(f"{path} already exists; use force to replace it") from exc
    except OSError as exc:
        raise KeyStoreError(f"{path} cannot be created: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise KeyStoreError(f"{path} cannot be written: {exc.strerror}") from exc


def _write(path: Path, data: bytes, mode: int, *, force: bool) -> None:
    if not force:
        _write_new(path, data, mode)
        return
    # Replacing: write a new file beside it, then rename over, so the old file's mode
    # never applies to the new key and a crash leaves one whole file or the other.
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    _write_new(temporary, data, mode)
    try:
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise KeyStoreError(f"{path} cannot be replaced: {exc.strerror}") from exc


def write_private_keys(
    directory: Path | str,
    keys: AgencyKeys,
    passphrase: bytes | None = None,
    *,
    force: bool = False,
) -> KeyFiles:
    """Write the agency's keys (0600 PEM) and public manifest into ``directory``.

    Refuses to overwrite any existing key file unless ``force`` is true.
    """
    files = key_files(directory, keys.agency_id)
    if not force:
        for path in (files.signing, files.encryption, files.manifest):
            if path.exists() or path.is_symlink():
                raise KeyStoreError(f"{path} already exists; use force to replace it")
    try:
        signing_pem = keys.signing.to_pem(passphrase)
        encryption_pem = keys.encryption.to_pem(passphrase)
    except KeyFormatError as exc:
        raise KeyStoreError(f"keys of {keys.agency_id}: {exc}") from exc
    try:
        Path(directory).mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise KeyStoreError(f"{directory} cannot be created: {exc.strerror}") from exc
    written = (
        (files.signing, signing_pem, 0o600),
        (files.encryption, encryption_pem, 0o600),
        (files.manifest, _manifest_bytes(keys), 0o644),
    )
    if not force:
        for path, data, mode in written:
            _write_new(path, data, mode)
        return files
    finish_replacement(files)
    _replace_together(written)
    return files


#: A key file written by a replacement, whole, and not yet renamed over its file.
_NEXT = ".next"


def _next(path: Path) -> Path:
    return path.with_name(path.name + _NEXT)


def _sync_directory(directory: Path) -> None:
    """Make the renames inside ``directory`` durable (as the files' own fsync did)."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return  # a platform that cannot open a directory: the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _replace_together(written: tuple[tuple[Path, bytes, int], ...]) -> None:
    """Replace the key files so that a crash leaves the old set or one that
    :func:`finish_replacement` completes: every new file is written whole beside its
    file (``.next``) before the first rename, the manifest last, and the renames follow
    in the same order, the manifest last again. A manifest's ``.next`` therefore exists
    exactly while a replacement is written whole and not yet finished."""
    for path, data, mode in written:
        _write_new(_next(path), data, mode)
    _sync_directory(written[0][0].parent)
    for path, _, _ in written:
        try:
            os.replace(_next(path), path)
        except OSError as exc:
            raise KeyStoreError(f"{path} cannot be replaced: {exc.strerror}") from exc
    _sync_directory(written[0][0].parent)


def interrupted_replacement(files: KeyFiles) -> bool:
    """Whether a replacement of these key files was written and not finished."""
    return _next(files.manifest).exists()


def finish_replacement(files: KeyFiles) -> bool:
    """Complete a replacement that a crash stopped between its renames, or drop one
    that it stopped while the new files were being written (the old set is whole
    then); True if one was completed."""
    order = (files.signing, files.encryption, files.manifest)
    try:
        if interrupted_replacement(files):
            for path in order:
                if _next(path).exists():
                    os.replace(_next(path), path)
            _sync_directory(files.manifest.parent)
            return True
        for path in order:
            _next(path).unlink(missing_ok=True)
    except OSError as exc:
        raise KeyStoreError(
            f"an interrupted replacement of the keys in {files.manifest.parent} cannot be "
            f"finished: {exc.strerror}"
        ) from exc
    return False


def _manifest_bytes(keys: AgencyKeys) -> bytes:
    manifest: dict[str, Any] = {
        "version": MANIFEST_VERSION,
        "agency_id": keys.agency_id,
        **public_entry(keys),
    }
    if keys.retired:
        manifest["retired_encryption_keys"] = [
            {
                "key_id": r.key.key_id,
                "public_key": base64.b64encode(r.key.public_bytes()).decode("ascii"),
                "retired_at": _iso(r.retired_at),
            }
            for r in keys.retired
        ]
    return json.dumps(manifest, indent=2).encode() + b"\n"


def _read_private(path: Path) -> bytes:
    try:
        info = path.stat()
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyStoreError(
                f"{path} is accessible by other users (mode {stat.S_IMODE(info.st_mode):o}); "
                "make it 0600"
            )
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise KeyStoreError(f"{path} does not exist") from exc
    except OSError as exc:
        raise KeyStoreError(f"{path} cannot be read: {exc.strerror}") from exc


def _manifest_key(manifest: dict[str, Any], field: str, path: Path) -> tuple[str, bytes, datetime]:
    try:
        (entry,) = manifest[field]
        valid_from = datetime.fromisoformat(entry["valid_from"])
        if valid_from.utcoffset() is None:
            raise ValueError("valid_from has no timezone")
        return (
            str(entry["key_id"]),
            base64.b64decode(entry["public_key"], validate=True),
            valid_from,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise KeyStoreError(f"{path}: {field} must hold exactly one well-formed key") from exc


def _read_manifest(files: KeyFiles, agency_id: str) -> dict[str, Any]:
    try:
        manifest = json.loads(files.manifest.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise KeyStoreError(f"{files.manifest} does not exist") from exc
    except (OSError, ValueError) as exc:
        raise KeyStoreError(f"{files.manifest} is not a readable key manifest") from exc
    if not isinstance(manifest, dict) or manifest.get("agency_id") != agency_id:
        raise KeyStoreError(f"{files.manifest} is not the key manifest of {agency_id}")
    return manifest


def load_private_keys(
    directory: Path | str, agency_id: str, passphrase: bytes | None = None
) -> AgencyKeys:
    """Load what :func:`write_private_keys` wrote, checking the files belong together.

    Loading never finishes an interrupted replacement itself: a rotation may be running
    in another process. It says how to finish one when the files do not belong
    together because of it."""
    files = key_files(directory, agency_id)
    try:
        return _load_private_keys(files, agency_id, passphrase)
    except KeyStoreError as exc:
        if not interrupted_replacement(files):
            raise
        raise KeyStoreError(
            f"{exc}; a replacement of these keys was interrupted: run 'corridor keys rotate "
            f"--agency {agency_id}' to complete it"
        ) from exc


def _load_private_keys(files: KeyFiles, agency_id: str, passphrase: bytes | None) -> AgencyKeys:
    manifest = _read_manifest(files, agency_id)
    sig_id, sig_public, sig_from = _manifest_key(manifest, "signing_keys", files.manifest)
    enc_id, enc_public, enc_from = _manifest_key(manifest, "encryption_keys", files.manifest)

    try:
        signing = SigningKey.from_pem(sig_id, _read_private(files.signing), passphrase)
    except KeyFormatError as exc:
        raise KeyStoreError(f"{files.signing}: {exc}") from exc
    try:
        encryption = EncryptionKey.from_pem(enc_id, _read_private(files.encryption), passphrase)
    except KeyFormatError as exc:
        raise KeyStoreError(f"{files.encryption}: {exc}") from exc
    if signing.public_bytes() != sig_public:
        raise KeyStoreError(f"{files.signing} does not match the public key in {files.manifest}")
    if encryption.public_bytes() != enc_public:
        raise KeyStoreError(f"{files.encryption} does not match the public key in {files.manifest}")
    retired = tuple(
        _load_retired(files, key_id, public, retired_at, passphrase)
        for key_id, public, retired_at in _manifest_retired(manifest, files.manifest)
    )
    return AgencyKeys(
        agency_id, signing, encryption, valid_from=min(sig_from, enc_from), retired=retired
    )


def _manifest_retired(manifest: dict[str, Any], path: Path) -> list[tuple[str, bytes, datetime]]:
    entries = manifest.get("retired_encryption_keys", [])
    if not isinstance(entries, list):
        raise KeyStoreError(f"{path}: retired_encryption_keys must be a list")
    out: list[tuple[str, bytes, datetime]] = []
    for i, entry in enumerate(entries):
        try:
            key_id = str(entry["key_id"])
            retired_at = datetime.fromisoformat(entry["retired_at"])
            if retired_at.utcoffset() is None:
                raise ValueError("retired_at has no timezone")
            if not _FILE_SAFE_KEY_ID.fullmatch(key_id):
                raise ValueError("key_id cannot name a file")
            out.append((key_id, base64.b64decode(entry["public_key"], validate=True), retired_at))
        except (KeyError, TypeError, ValueError) as exc:
            raise KeyStoreError(f"{path}: retired_encryption_keys[{i}] is not well-formed") from exc
    return out


def _load_retired(
    files: KeyFiles, key_id: str, public: bytes, retired_at: datetime, passphrase: bytes | None
) -> RetiredKey:
    path = files.retired_key(key_id)
    try:
        key = EncryptionKey.from_pem(key_id, _read_private(path), passphrase)
    except KeyFormatError as exc:
        raise KeyStoreError(f"{path}: {exc}") from exc
    if key.public_bytes() != public:
        raise KeyStoreError(f"{path} does not match the retired key {key_id} in {files.manifest}")
    return RetiredKey(key, retired_at)


def rotate_agency_keys(
    directory: Path | str,
    agency_id: str,
    passphrase: bytes | None = None,
    *,
    now: datetime | None = None,
) -> AgencyKeys:
    """Replace the agency's keys with fresh ones, keeping the encryption key replaced.

    The replaced encryption key is written to the retired folder (0600, same passphrase)
    before anything is replaced, so a rotation that stops half-way never loses a key
    that alerts are sealed to; running it again after such a stop finds the saved key
    and goes on. The three key files are replaced together (:func:`_replace_together`):
    run again after a crash between their renames, it completes that rotation instead
    of starting another. Returns the new keys, retired ones included.
    """
    files = key_files(directory, agency_id)
    if finish_replacement(files):
        # A crash stopped this rotation between its renames: it is done now.
        return load_private_keys(directory, agency_id, passphrase)
    current = load_private_keys(directory, agency_id, passphrase)
    fresh = generate_agency_keys(agency_id, now=now)
    if fresh.valid_from <= current.valid_from:
        raise KeyStoreError(
            f"the keys of {agency_id} are valid from {_iso(current.valid_from)}: a rotation "
            "must come after that"
        )
    try:
        pem = current.encryption.to_pem(passphrase)
    except KeyFormatError as exc:
        raise KeyStoreError(f"keys of {agency_id}: {exc}") from exc
    _keep_retired(files, current.encryption, pem, passphrase)
    retired = (
        RetiredKey(current.encryption, fresh.valid_from),
        *(r for r in current.retired if r.key.key_id != current.encryption.key_id),
    )
    rotated = AgencyKeys(
        agency_id, fresh.signing, fresh.encryption, fresh.valid_from, retired=retired
    )
    write_private_keys(directory, rotated, passphrase, force=True)
    return rotated


def _keep_retired(
    files: KeyFiles, key: EncryptionKey, pem: bytes, passphrase: bytes | None
) -> None:
    path = files.retired_key(key.key_id)
    try:
        files.retired.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise KeyStoreError(f"{files.retired} cannot be created: {exc.strerror}") from exc
    if not (path.exists() or path.is_symlink()):
        _write_new(path, pem, 0o600)
        return
    # Kept by a rotation that stopped before replacing the keys: it must be this key.
    try:
        kept = EncryptionKey.from_pem(key.key_id, _read_private(path), passphrase)
    except KeyFormatError as exc:
        raise KeyStoreError(f"{path} is there but unreadable: {exc}") from exc
    if kept.public_bytes() != key.public_bytes():
        raise KeyStoreError(f"{path} already holds another key")


def forget_retired_key(directory: Path | str, agency_id: str, key_id: str) -> None:
    """Drop a retired encryption key: from the manifest first, then its file.

    Anything still sealed to it can no longer be opened by this agency: do this once the
    delivery topic's retention has passed since the rotation.
    """
    files = key_files(directory, agency_id)
    manifest = _read_manifest(files, agency_id)
    known = [k for k, _, _ in _manifest_retired(manifest, files.manifest)]
    if key_id not in known:
        listed = ", ".join(known) or "none"
        raise KeyStoreError(f"{key_id} is not a retired key of {agency_id} (retired: {listed})")
    manifest["retired_encryption_keys"] = [
        e for e in manifest["retired_encryption_keys"] if e["key_id"] != key_id
    ]
    if not manifest["retired_encryption_keys"]:
        del manifest["retired_encryption_keys"]
    _write(files.manifest, json.dumps(manifest, indent=2).encode() + b"\n", 0o644, force=True)
    try:
        files.retired_key(key_id).unlink(missing_ok=True)
    except OSError as exc:
        raise KeyStoreError(
            f"{files.retired_key(key_id)} cannot be removed: {exc.strerror}"
        ) from exc
